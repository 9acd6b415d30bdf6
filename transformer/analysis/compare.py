"""Measurements that compare recurrent models with the transformer, fairly.

* `matched_configs`: give each recurrent family the hidden size that makes its parameter count
  within ~10% of the transformer's, so a race compares architectures, not model sizes.
* `gradient_by_distance`: how strongly the loss at one output position reaches back to each
  earlier input (the norm of dLoss/d(embedding) per position) — the vanishing-gradient picture.
* `step_time_by_length`: seconds per training step, and activation memory kept for backward,
  against sequence length — recurrence is sequential in time, attention is not, but attention's
  score matrix grows with length squared.
* `accuracy_by_length`: token and sequence accuracy of a trained model at other lengths of the
  same task (e.g. trained on N, tested on 2N).
* `COMPLEXITY`: the per-layer cost table of Vaswani et al. 2017 (Table 1).

Core module: torch, numpy and the standard library only.
"""
from __future__ import annotations

import math
import statistics
import time
from dataclasses import replace
from typing import Callable, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..budget import GATES as _CELL_GATES
from ..config import RECURRENT_ARCHS, ModelConfig
from ..decoding import evaluating
from ..metrics import IGNORE_INDEX, accuracy_ratios, answer_accuracy

# Gate blocks per recurrent cell (the budget's table): each has its own input and recurrent weights.
GATES = {arch: _CELL_GATES[arch] for arch in ("rnn", "gru", "lstm")}

# Vaswani et al. 2017, Table 1: n = sequence length, d = model width.
COMPLEXITY = [
    {"layer": "Self-attention", "cost per layer": "O(n²·d)", "sequential steps": "O(1)",
     "longest path between two tokens": "O(1)"},
    {"layer": "Recurrent (RNN / GRU / LSTM)", "cost per layer": "O(n·d²)", "sequential steps": "O(n)",
     "longest path between two tokens": "O(n)"},
]


# --------------------------------------------------------------------------------------------
# Parameter matching
# --------------------------------------------------------------------------------------------

def recurrent_parameter_count(arch: str, vocab_size: int, d_model: int, n_layers: int) -> int:
    """Parameters of a RecurrentLM, in closed form.

    embedding V·d + per layer gates·(d·d input + d·d recurrent + 2·d biases) + head d·V + V.
    """
    if arch not in GATES:
        raise ValueError(f"Parameter matching knows {', '.join(GATES)}; got arch '{arch}'.")
    g, V, d = GATES[arch], vocab_size, d_model
    return V * d + n_layers * g * (2 * d * d + 2 * d) + d * V + V


def match_d_model(arch: str, target_params: int, vocab_size: int, n_layers: int) -> int:
    """The hidden size whose RecurrentLM parameter count is closest to `target_params`.

    The count is quadratic in d: 2gL·d² + (2gL + 2V)·d + V, so solve for d and round.
    """
    g = GATES.get(arch)
    if g is None:
        raise ValueError(f"Parameter matching knows {', '.join(GATES)}; got arch '{arch}'.")
    a = 2 * g * n_layers
    b = 2 * g * n_layers + 2 * vocab_size
    c = vocab_size - target_params
    root = (-b + math.sqrt(max(b * b - 4 * a * c, 0.0))) / (2 * a)
    candidates = {max(1, math.floor(root)), max(1, math.ceil(root))}
    return min(candidates, key=lambda d: abs(recurrent_parameter_count(arch, vocab_size, d, n_layers) - target_params))


def match_recurrent_config(
    base: ModelConfig, arch: str, target_params: int, n_layers: Optional[int] = None, tolerance: float = 0.10
) -> ModelConfig:
    """A copy of `base` as recurrent `arch`, sized to about `target_params` parameters.

    Raises ValueError when no hidden size lands within `tolerance` (tiny targets).
    """
    layers = n_layers if n_layers is not None else base.n_layers
    d = match_d_model(arch, target_params, base.vocab_size, layers)
    got = recurrent_parameter_count(arch, base.vocab_size, d, layers)
    if abs(got - target_params) > tolerance * target_params:
        raise ValueError(
            f"A {arch.upper()} with {layers} layer(s) cannot get within {tolerance:.0%} of "
            f"{target_params:,} parameters (closest: {got:,}): make the transformer larger or use fewer layers."
        )
    return replace(base, arch=arch, d_model=d, n_layers=layers).validate()


def matched_configs(
    transformer_cfg: ModelConfig, archs: Sequence[str], n_layers: Optional[int] = None, tolerance: float = 0.10
) -> dict[str, ModelConfig]:
    """{arch: config} for the transformer and each recurrent arch, parameter counts matched.

    The transformer's own config is returned under its arch; recurrent ones get the same
    vocabulary, max_len, dropout and pad id, and `n_layers` (default: the transformer's).
    """
    from ..build import parameter_count

    target = parameter_count(transformer_cfg)  # arithmetic: no model is built to be counted
    out = {transformer_cfg.arch: transformer_cfg}
    for arch in archs:
        if arch in RECURRENT_ARCHS:
            out[arch] = match_recurrent_config(transformer_cfg, arch, target, n_layers, tolerance)
        elif arch != transformer_cfg.arch:
            raise ValueError(f"Can only match rnn, gru and lstm to a transformer; got '{arch}'.")
    return out


# --------------------------------------------------------------------------------------------
# Gradient against distance
# --------------------------------------------------------------------------------------------

def gradient_by_distance(
    model: torch.nn.Module, idx: torch.Tensor, targets: torch.Tensor, position: Optional[int] = None
) -> np.ndarray:
    """‖∂L/∂e_j‖ for the loss L at one output position, against distance from that position.

    idx, targets: [B, T] (a language-model batch). The loss is the cross-entropy of the
    prediction at `position` (default: the last column that has a target in some row);
    e_j is the token-embedding output at input position j (before any positional encoding).
    Returns g [position + 1] with g[k] = mean over rows of ‖∂L/∂e_{position-k}‖₂, so g[0] is
    the input at the output position itself and g[k] the input k steps further back.
    The model is run in eval mode (no dropout) and its weights' gradients are left untouched.
    """
    if position is None:
        has_target = (targets != IGNORE_INDEX).any(dim=0).nonzero()
        if has_target.numel() == 0:
            raise ValueError("This batch has no target to take a loss on: use a batch with answer tokens.")
        position = int(has_target.max())
    if not 0 <= position < idx.size(1):
        raise ValueError(f"position must be between 0 and {idx.size(1) - 1} (got {position}).")
    rows = targets[:, position] != IGNORE_INDEX
    if not bool(rows.any()):
        raise ValueError(f"No row has a target at position {position}: choose a position with an answer token.")

    captured: list[torch.Tensor] = []

    def as_leaf(module, inputs, output):
        # Replace the embedding output by a leaf so the gradient stops there and is ours to read.
        leaf = output.detach().requires_grad_(True)
        captured.append(leaf)
        return leaf

    was_training = model.training
    model.eval()
    handle = model.tok_emb.register_forward_hook(as_leaf)
    try:
        with torch.enable_grad():
            logits, _ = model(idx[:, : position + 1])      # causal: later inputs cannot matter
            loss = F.cross_entropy(logits[rows, position], targets[rows, position])
            # autograd.grad (not backward) leaves the parameters' .grad untouched.
            (grad,) = torch.autograd.grad(loss, captured[-1])
    finally:
        handle.remove()
        model.train(was_training)
    norms = grad[rows].norm(dim=-1).mean(dim=0)           # (position + 1,)
    return norms.flip(0).double().numpy()                  # index = distance from the output


# --------------------------------------------------------------------------------------------
# Step time and memory against length
# --------------------------------------------------------------------------------------------

def activation_bytes(model: torch.nn.Module, *inputs: torch.Tensor) -> int:
    """Bytes of tensors autograd keeps for the backward pass of one forward, parameters excluded.

    Counted with `torch.autograd.graph.saved_tensors_hooks`, each storage once. This is what a
    training step holds in memory beyond the weights; attention's T×T maps show up here unless
    a fused kernel avoids storing them.
    """
    param_storages = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: set[int] = set()
    total = 0

    def pack(t: torch.Tensor):
        nonlocal total
        ptr = t.untyped_storage().data_ptr()
        if ptr not in seen and ptr not in param_storages:
            seen.add(ptr)
            total += t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(*inputs)
    return total


# --------------------------------------------------------------------------------------------
# What each model keeps: a recurrent state against attention
# --------------------------------------------------------------------------------------------

@torch.no_grad()
def recurrent_states(model: torch.nn.Module, idx: torch.Tensor) -> dict[str, np.ndarray]:
    """The state a recurrent language model carries after each token of one input.

    idx [1, T]. Returns {"hidden": [T, units]} and, for an LSTM, "cell": [T, units] too: the
    last layer's h (what it shows the next layer) and c (its memory).
    """
    from ..capture import capture

    with capture(model) as cache:
        model(idx)
    return {name: cache[f"rnn.{name}"][0].numpy() for name in ("hidden", "cell") if f"rnn.{name}" in cache}


@torch.no_grad()
def last_layer_attention(model: torch.nn.Module, idx: torch.Tensor) -> np.ndarray:
    """A decoder's last-layer self-attention on one input: [H, T, T] (rows attend to columns)."""
    from ..capture import capture

    with capture(model) as cache:
        model(idx)
    return cache[f"decoder.{model.cfg.n_layers - 1}.self_attn"][0].numpy()  # (H, T, T)


@torch.no_grad()
def cross_attention_map(model: torch.nn.Module, src_ids: Sequence[int], tgt_in: Sequence[int]) -> np.ndarray:
    """Where an attentional encoder-decoder looked in the source while writing each output token.

    src_ids: the source's token ids (S); tgt_in: BOS and the answer so far (T). Returns [T, S],
    the first head's cross-attention (an additive-attention LSTM has one).
    """
    from ..capture import capture

    with capture(model) as cache:
        model(torch.tensor([list(src_ids)]), torch.tensor([list(tgt_in)]))  # (1, S), (1, T)
    return cache["decoder.cross_attn"][0, 0].numpy()  # (T, S)


def attention_map_mb(cfg: ModelConfig, batch_size: int, length: int) -> float:
    """Megabytes of the attention weights of one forward (n_layers · n_heads · B · T² floats).

    The explicit attention path stores them for backward; a fused (flash) kernel computes them
    in tiles and never holds them all, which is why measured memory can grow only linearly.
    """
    return cfg.n_layers * cfg.n_heads * batch_size * length * length * 4 / 2**20


def _random_batch(cfg: ModelConfig, batch_size: int, length: int, generator: torch.Generator):
    idx = torch.randint(1, cfg.vocab_size, (batch_size, length), generator=generator)
    return idx, torch.roll(idx, -1, dims=1)


def step_time_by_length(
    cfgs: dict[str, ModelConfig],
    lengths: Sequence[int],
    batch_size: int = 32,
    repeats: int = 3,
    seed: int = 0,
    build: Optional[Callable[[ModelConfig], torch.nn.Module]] = None,
    should_stop: Optional[Callable[[], bool]] = None,
) -> dict[str, dict[str, list[float]]]:
    """Median seconds per training step (forward, backward, AdamW) and activation memory.

    cfgs: {name: language-model config}; each model is rebuilt with max_len covering the
    longest length. Models alternate inside every repeat so that a busy machine slows all of
    them alike. Returns {name: {"lengths", "seconds", "activation_mb"}}; a stopped measurement
    returns the lengths finished so far.
    """
    if build is None:
        from ..build import build_model as build
    if not lengths or min(lengths) < 1:
        raise ValueError("Give at least one sequence length of 1 or more.")
    longest = max(lengths)
    models = {}
    for name, cfg in cfgs.items():
        torch.manual_seed(seed)
        model = build(replace(cfg, max_len=max(cfg.max_len, longest), dropout=0.0))
        models[name] = (model, torch.optim.AdamW(model.parameters(), lr=1e-3))
    out = {name: {"lengths": [], "seconds": [], "activation_mb": []} for name in cfgs}
    gen = torch.Generator().manual_seed(seed)
    for length in lengths:
        times = {name: [] for name in cfgs}
        for rep in range(repeats + 1):                     # repeat 0 warms up allocators and kernels
            for name, (model, opt) in models.items():
                idx, targets = _random_batch(cfgs[name], batch_size, length, gen)
                start = time.perf_counter()
                _, loss = model(idx, targets)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if rep:
                    times[name].append(time.perf_counter() - start)
                if should_stop is not None and should_stop():
                    return out
        for name, (model, _) in models.items():
            idx, _ = _random_batch(cfgs[name], batch_size, length, gen)
            out[name]["lengths"].append(length)
            out[name]["seconds"].append(statistics.median(times[name]))
            out[name]["activation_mb"].append(activation_bytes(model, idx) / 2**20)
    return out


def complexity_rows(measured: Optional[dict] = None, labels: Optional[dict] = None) -> list[dict]:
    """The complexity table, one row per measured model, with the measured numbers beside it.

    measured: {arch: {"lengths", "seconds", "activation_mb"}} from `step_time_by_length`
    (keys are archs: "decoder", "rnn", "gru", "lstm"); labels: {arch: display name}.
    Without measurements, the two rows of `COMPLEXITY`.
    """
    if not measured:
        return [dict(row) for row in COMPLEXITY]
    rows = []
    for arch, r in measured.items():
        theory = COMPLEXITY[1] if arch in RECURRENT_ARCHS else COMPLEXITY[0]
        row = {"model": (labels or {}).get(arch, arch), **{k: v for k, v in theory.items() if k != "layer"}}
        if r["lengths"]:
            short, long = r["lengths"][0], r["lengths"][-1]
            row[f"ms/step at {short} tokens"] = f"{1000 * r['seconds'][0]:.1f}"
            row[f"ms/step at {long} tokens"] = f"{1000 * r['seconds'][-1]:.1f}"
            row["time growth"] = f"×{r['seconds'][-1] / r['seconds'][0]:.1f} for ×{long / short:.0f} length"
        rows.append(row)
    return rows


# --------------------------------------------------------------------------------------------
# Accuracy
# --------------------------------------------------------------------------------------------

def accuracy_from_logits(logits: torch.Tensor, targets: torch.Tensor) -> tuple[float, float]:
    """(token accuracy, sequence accuracy) of one batch: see `transformer.metrics`."""
    return accuracy_ratios(answer_accuracy(logits, targets))


def evaluate_batch(model: torch.nn.Module, batch) -> dict:
    """{"loss", "token_acc", "seq_acc"} of `model` on one `Batch`."""
    with evaluating(model):
        logits, loss = batch.run(model)
    token_acc, seq_acc = accuracy_from_logits(logits, batch.targets)
    return {"loss": float(loss), "token_acc": token_acc, "seq_acc": seq_acc}


LENGTH_PARAMS = ("length", "n_pairs", "n_digits")  # what "length" means for each task family


def length_param(task) -> str:
    """The parameter of `task` that sets how long its inputs are ("length", or "n_pairs" for recall)."""
    for name in LENGTH_PARAMS:
        if name in task.params:
            return name
    raise ValueError(f"The task '{task.name}' has no length to vary: pick a task with a length parameter.")


def task_length(task) -> int:
    return int(task.params[length_param(task)])


def task_at_length(task, length: int):
    """The same task (same vocabulary and other parameters) with every input exactly `length` long.

    `length` is in the task's own unit: symbols, bits, brackets, or key-value pairs for recall.
    ValueError (from the task) when the length is outside what the task allows.
    """
    from ..tasks import get_task

    key = length_param(task)
    params = {**task.params, key: int(length)}
    if "min_length" in params:
        params["min_length"] = int(length)
    other = get_task(task.name, **params)
    if other.vocab.tokens != task.vocab.tokens:
        raise ValueError(f"Length {length} changes the vocabulary of '{task.name}', so the model cannot read it.")
    return other


def extend_max_len(model: torch.nn.Module, max_len: int) -> torch.nn.Module:
    """`model` able to read inputs up to `max_len` tokens, with the same weights.

    Recurrent models read any length already. A transformer with sinusoidal, rotary or no
    positions gets a longer (computed) table — the weights do not change; one with learned
    positions has no vectors for unseen positions, so it is refused with a ValueError.
    """
    cfg = model.cfg
    if cfg.is_recurrent or max_len <= cfg.max_len:
        return model
    if cfg.pos_encoding == "learned":
        raise ValueError(
            f"Learned positions stop at position {cfg.max_len}: a transformer with them cannot read "
            f"{max_len} tokens (use sinusoidal or rotary positions to test longer inputs)."
        )
    from ..build import build_model

    longer = build_model(replace(cfg, max_len=max_len))
    longer.load_state_dict(model.state_dict())              # position tables are not saved: recomputed
    return longer.to(next(model.parameters()).device).train(model.training)


@torch.no_grad()
def evaluate_on_task(model: torch.nn.Module, task, n_examples: int = 256, seed: int = 1234) -> dict:
    """{"loss", "token_acc", "seq_acc"} of `model` on `n_examples` fresh examples of `task`, from
    its held-out part (`split="val"`): at the length a model trained on, a small space such as
    parity's would otherwise hand it questions it has already seen."""
    from ..tasks import make_batch

    device = next(model.parameters()).device
    batch = make_batch(task, task.examples(n_examples, seed, split="val"), model.cfg.layout, device=device)
    return evaluate_batch(extend_max_len(model, batch.width), batch)


def accuracy_by_length(model: torch.nn.Module, tasks: dict, n_examples: int = 256, seed: int = 1234) -> list[dict]:
    """Evaluate one trained model on the same task at several lengths.

    tasks: {length: task at that length} (see `task_at_length`). Returns one row per length,
    {"length", "loss", "token_acc", "seq_acc"}, or {"length", "error"} where the model cannot
    read that length (learned positions beyond their table).
    """
    rows = []
    for length, task in tasks.items():
        try:
            rows.append({"length": length, **evaluate_on_task(model, task, n_examples, seed)})
        except ValueError as err:
            rows.append({"length": length, "error": str(err)})
    return rows
