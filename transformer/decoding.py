"""Turning a trained model's scores into tokens: greedy, sampled, traced, and the output layer.

`generate` extends a language model's sequence one token at a time; `generate_seq2seq`
encodes a source once and writes the target the same way. `predict` answers task inputs
whatever the model family, so pages and the CLI need not know how each one is fed.

For looking inside (the Generate page, a notebook, `generate --json`):
* `generation_trace` writes an answer step by step and keeps each step's distribution: the
  model's raw probabilities, the ones after temperature / top-k / top-p, the entropy, the draw;
  a caller can force a token at any step and see the continuation change;
* `output_layer` returns the real numbers of the last layer for one position: the final
  hidden vector h, the unembedding W, logits = h·Wᵀ + b (checked against the model's own),
  the softmax, and the loss the true token would give beside ln V;
* `beam_search` (in `transformer.beam`, importable from here too) keeps the best few
  continuations instead of one.
The distribution itself is computed by `transformer.sampling`.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from numbers import Integral

import torch

from .sampling import check_sampling, draw, entropy, next_token_distribution, uniforms

MAX_TRACE_TOKENS = 10_000  # tokens a trace writes at most (the CLI's limit too)
DEFAULT_TEXT_TOKENS = 100  # characters the character model writes when not told


def sample_next(logits: torch.Tensor, temperature: float = 0.0, top_k: int | None = None,
                generator: torch.Generator | None = None, top_p: float | None = None) -> torch.Tensor:
    """logits [B, V] -> token ids [B]. temperature 0 is greedy (argmax).

    Dividing by the temperature sharpens (< 1) or flattens (> 1) the distribution; top-k keeps
    only the k most likely tokens and top-p the smallest set reaching mass p before sampling
    (`transformer.sampling.next_token_distribution`).
    """
    if temperature <= 0:
        return logits.argmax(dim=-1)
    probs = next_token_distribution(logits, temperature, top_k, top_p)  # (B, V)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


@torch.no_grad()
def generate(model, idx: torch.Tensor, max_new_tokens: int, temperature: float = 0.0,
             top_k: int | None = None, eos_id: int | None = None, generator=None,
             top_p: float | None = None) -> torch.Tensor:
    """Language model: idx [B, T] -> [B, T + n] (stops early when every row has written eos_id)."""
    max_len = getattr(model.cfg, "max_len", None)
    done = torch.zeros(idx.size(0), dtype=torch.bool, device=idx.device)
    for _ in range(max_new_tokens):
        context = idx if max_len is None else idx[:, -max_len:]
        logits, _ = model(context)
        nxt = sample_next(logits[:, -1], temperature, top_k, generator, top_p)  # (B,)
        idx = torch.cat([idx, nxt[:, None]], dim=1)
        if eos_id is not None:
            done |= nxt == eos_id
            if done.all():
                break
    return idx


@torch.no_grad()
def generate_seq2seq(model, src: torch.Tensor, bos_id: int, max_new_tokens: int,
                     eos_id: int | None = None, temperature: float = 0.0, top_k: int | None = None,
                     generator=None, top_p: float | None = None) -> torch.Tensor:
    """Encoder-decoder: src [B, S] -> target ids [B, n] (without the leading BOS)."""
    memory = model.encode(src)
    tgt = torch.full((src.size(0), 1), bos_id, dtype=torch.long, device=src.device)
    done = torch.zeros(src.size(0), dtype=torch.bool, device=src.device)
    for _ in range(max_new_tokens):
        logits = model.decode(tgt, memory, src)
        nxt = sample_next(logits[:, -1], temperature, top_k, generator, top_p)
        tgt = torch.cat([tgt, nxt[:, None]], dim=1)
        if eos_id is not None:
            done |= nxt == eos_id
            if done.all():
                break
    return tgt[:, 1:]


def until_eos(ids: list[int], vocab) -> list[str]:
    """Token strings up to (not including) the first EOS."""
    out = []
    for i in ids:
        if i == vocab.eos_id:
            break
        out.append(vocab.tokens[i])
    return out


@torch.no_grad()
def predict(model, task, srcs: list[list[str]], max_new_tokens: int | None = None) -> list[list[str]]:
    """Greedy answers of `model` to task inputs (lists of tokens), as lists of tokens."""
    from .tasks import make_batch
    from .tasks.base import Example

    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    vocab = task.vocab
    layout = model.cfg.layout
    n_new = max_new_tokens or task.max_len(layout)
    try:
        if layout == "tag":
            batch = make_batch(task, [Example(s, _placeholder(task, s)) for s in srcs], "tag", device)
            logits = batch.forward(model)
            ids = logits.argmax(-1).tolist()
            if task.kind == "classify":
                return [[vocab.tokens[row[0]]] for row in ids]
            return [[vocab.tokens[i] for i in row[: len(s)]] for row, s in zip(ids, srcs)]
        # Prompts of equal length go through generation together (one forward per new token
        # for the whole group); the probes of a task mostly share one length.
        answers: list[list[str]] = [[] for _ in srcs]
        groups: dict[int, list[int]] = {}
        for i, s in enumerate(srcs):
            groups.setdefault(len(s), []).append(i)
        for rows in groups.values():
            if layout == "seq2seq":
                src = torch.tensor([vocab.encode(srcs[i]) for i in rows], device=device)
                out = generate_seq2seq(model, src, vocab.bos_id, n_new, vocab.eos_id).tolist()
            else:
                sep = [vocab.sep_id] if task.kind != "text" else []
                prompt = torch.tensor([[vocab.bos_id] + vocab.encode(srcs[i]) + sep for i in rows], device=device)
                out = generate(model, prompt, n_new, eos_id=vocab.eos_id)[:, prompt.size(1):].tolist()
            for i, ids in zip(rows, out):
                answers[i] = until_eos(ids, vocab)
        return answers
    finally:
        model.train(was_training)


def _placeholder(task, src):
    """A dummy target with the right shape for batching an input we only want to read."""
    if task.kind == "classify":
        return [task.classes[0]]
    return list(src)


# --------------------------------------------------------------------------- one step at a time


@contextmanager
def evaluating(model):
    """Eval mode (no dropout) and no gradients for the body; the model's mode is restored after."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)


class Prompt:
    """How a task's input is fed to a model that writes, and what it may write.

    lm:      the sequence [BOS] src [SEP] grows token by token (the character model: [BOS] text,
             no [SEP]); beyond cfg.max_len the model sees the last max_len tokens, as `generate`.
    seq2seq: the encoder reads src once; the decoder's input [BOS] grows token by token.
    The character model never writes a special token (<pad>, <eos>, ...): its text has none,
    so they are masked out of what it may write (`writable`), as the CLI always did. A task's
    answer ends at <eos>, which `eos_id` names (None for the character model).
    """

    def __init__(self, model, task, src_tokens):
        self.model, self.task, self.vocab = model, task, task.vocab
        self.layout = model.cfg.layout
        if self.layout not in ("lm", "seq2seq"):
            raise ValueError("This model is an encoder classifier: it labels its input at once instead of writing "
                             "tokens one by one, so choose a decoder or encoder-decoder model.")
        vocab = self.vocab
        if len(vocab) != model.cfg.vocab_size:
            raise ValueError(f"The model has {model.cfg.vocab_size} tokens but the task has {len(vocab)}: "
                             "give the task the model was trained on.")
        self.src_tokens = list(src_tokens)
        src_ids = vocab.encode(self.src_tokens)  # ValueError naming any unknown token
        self.text = task.kind == "text"
        self.eos_id = None if self.text else vocab.eos_id
        self.banned = sorted(vocab.special_ids) if self.text else []
        self.device = next(model.parameters()).device
        if self.layout == "seq2seq":
            if not src_ids:
                raise ValueError("The input is empty: type something for the encoder to read.")
            self.src = torch.tensor([src_ids], device=self.device)  # (1, S)
            self.context = [vocab.bos_id]
        else:
            self.context = [vocab.bos_id] + src_ids + ([] if self.text else [vocab.sep_id])
        self._memory: dict[int, object] = {}
        self._ban_mask: torch.Tensor | None = None  # (V,) True where writable() puts -inf

    def max_new_tokens(self, requested: int | None, most: int = MAX_TRACE_TOKENS) -> int:
        """`requested` checked (ValueError), or the default: the task's answer length (+ EOS) or
        DEFAULT_TEXT_TOKENS characters. At most `most`; an encoder-decoder at most max_len."""
        limit = min(most, MAX_TRACE_TOKENS if self.layout == "lm" else self.model.cfg.max_len)
        if requested is None:
            return min(limit, DEFAULT_TEXT_TOKENS if self.text else self.task.max_tgt_len + 1)
        if isinstance(requested, bool) or not isinstance(requested, Integral) or not 1 <= requested <= limit:
            raise ValueError(f"The number of new tokens must be a whole number from 1 to {limit:,} "
                             f"for this model (got {requested!r}).")
        return int(requested)

    def token_id(self, token: str) -> int:
        """The id of a token a person chose; ValueError if the model may not write it."""
        if not isinstance(token, str) or token not in self.vocab.stoi:
            raise ValueError(f"The token {token!r} is not in this task's vocabulary: pick one of its tokens.")
        i = self.vocab.stoi[token]
        if i in self.banned:
            raise ValueError(f"The character model never writes the special token {token!r}: pick a character.")
        return i

    def sequence(self, prefix: list[int]) -> list[int]:
        """The ids the model reads to predict the token after `prefix` (the decoder's, for seq2seq)."""
        return self.context + list(prefix)

    def logits(self, prefixes: list[list[int]]) -> torch.Tensor:
        """The model's raw logits [N, V] for the token after each of N generated prefixes (all
        of one length). Call inside `evaluating(model)`."""
        ids = torch.tensor([self.sequence(p) for p in prefixes], device=self.device)  # (N, T)
        if self.layout == "lm":
            ids = ids[:, -self.model.cfg.max_len:]  # (N, <= max_len)
            logits, _ = self.model(ids)
            return logits[:, -1]
        n = ids.size(0)
        if n not in self._memory:  # the source read once per batch size, not once per step
            self._memory[n] = self.model.encode(self.src.expand(n, -1))
        return self.model.decode(ids, self._memory[n], self.src.expand(n, -1))[:, -1]

    def writable(self, logits: torch.Tensor) -> torch.Tensor:
        """logits [..., V] with the tokens this model may not write set to -inf."""
        if not self.banned:
            return logits
        if self._ban_mask is None or self._ban_mask.device != logits.device:
            self._ban_mask = torch.zeros(logits.size(-1), dtype=torch.bool, device=logits.device)
            self._ban_mask[self.banned] = True  # (V,)
        return logits.masked_fill(self._ban_mask, float("-inf"))


# --------------------------------------------------------------------------- the trace


@dataclass(frozen=True)
class Candidate:
    """One possible next token: its logit, the model's probability and the one it was drawn from."""

    token: str
    id: int
    logit: float
    raw_prob: float  # softmax(logits): the model's own probability
    prob: float      # after temperature / top-k / top-p (0 for a token cut off)


@dataclass
class TraceStep:
    """One written token and the distribution it came from.

    logits, raw_probs, probs: [V] tensors over the whole vocabulary (raw_probs = softmax(logits);
    probs = next_token_distribution of the writable logits with the trace's settings).
    candidates: the top_n tokens by raw probability, most likely first, plus the chosen token
    when it is not among them. u: the uniform number this step drew (used unless greedy or forced).
    """

    index: int
    token: str
    id: int
    forced: bool
    u: float
    raw_prob: float
    prob: float
    entropy_raw: float  # nats, of raw_probs
    entropy: float      # nats, of probs
    candidates: list[Candidate]
    logits: torch.Tensor = field(repr=False)
    raw_probs: torch.Tensor = field(repr=False)
    probs: torch.Tensor = field(repr=False)

    def to_json(self) -> dict:
        """Plain numbers for JSON: the token, its probabilities and the top candidates."""
        return {
            "index": self.index, "token": self.token, "forced": self.forced,
            "prob": round(self.prob, 6), "raw_prob": round(self.raw_prob, 6),
            "entropy": round(self.entropy, 6), "entropy_raw": round(self.entropy_raw, 6),
            "candidates": [{"token": c.token, "prob": round(c.prob, 6), "raw_prob": round(c.raw_prob, 6),
                            "logit": round(c.logit, 6)} for c in self.candidates],
        }


def generation_trace(model, task, src_tokens, max_new_tokens: int | None = None, temperature: float = 0.0,
                     top_k: int | None = None, top_p: float | None = None, seed: int = 0,
                     forced: list[str | None] | None = None, top_n: int = 10) -> list[TraceStep]:
    """Write the answer to `src_tokens` (the text to continue, for the character model) one
    token at a time and keep every step's distribution.

    temperature 0 is greedy; otherwise step i draws token `draw(probs, u_i)` with the i-th of
    `uniforms(seed, n)`. forced[i], when given and not None, replaces the choice at step i (the
    rest continues from it with the same u's). Stops after <eos> for a task, after
    max_new_tokens (default: the task's answer length + 1, or 100 characters) otherwise.
    Each bad value raises ValueError with one sentence.
    """
    check_sampling(temperature, top_k, top_p)
    if isinstance(top_n, bool) or not isinstance(top_n, Integral) or top_n < 1:
        raise ValueError(f"top_n must be a whole number of at least 1 (got {top_n!r}).")
    prompt = Prompt(model, task, src_tokens)
    n = prompt.max_new_tokens(max_new_tokens)
    if forced is not None and not isinstance(forced, (list, tuple)):
        raise ValueError("forced must be a list with a token (or None) for each step to force.")
    forced_ids = [None if t is None else prompt.token_id(t) for t in (forced or [])]
    us = uniforms(seed, n)
    tokens = prompt.vocab.tokens
    steps: list[TraceStep] = []
    written: list[int] = []
    with evaluating(model):
        for i in range(n):
            logits = prompt.logits([written])[0].float().cpu()  # (V,)
            raw = torch.softmax(logits.double(), dim=-1).float()
            probs = next_token_distribution(prompt.writable(logits), temperature, top_k, top_p)
            is_forced = i < len(forced_ids) and forced_ids[i] is not None
            choice = forced_ids[i] if is_forced else draw(probs, us[i])
            top = torch.sort(raw, descending=True, stable=True).indices[:top_n].tolist()
            if choice not in top:
                top.append(choice)
            steps.append(TraceStep(
                index=i, token=tokens[choice], id=choice, forced=is_forced, u=us[i],
                raw_prob=float(raw[choice]), prob=float(probs[choice]),
                entropy_raw=float(entropy(raw)), entropy=float(entropy(probs)),
                candidates=[Candidate(tokens[j], j, float(logits[j]), float(raw[j]), float(probs[j])) for j in top],
                logits=logits, raw_probs=raw, probs=probs,
            ))
            written.append(choice)
            if choice == prompt.eos_id:
                break
    return steps


def trace_text(task, steps: list[TraceStep]) -> str:
    """The written tokens as the task shows an answer (a task's up to <eos>)."""
    ids = [s.id for s in steps]
    return task.format_tgt(task.vocab.to_tokens(ids) if task.kind == "text" else until_eos(ids, task.vocab))


# --------------------------------------------------------------------------- the output layer


def output_layer(model, task, src_tokens, prefix_tokens=(), true_token: str | None = None) -> dict:
    """The model's last layer at work for the position after `prefix_tokens`, with its own numbers.

    Returns a dict:
      context     the tokens the (decoder) model reads, [T]
      h           final hidden vector [d_model], after the final LayerNorm (what the head sees)
      W, b        the unembedding weight [V, d_model] and bias [V] (b None if the head has none)
      tied        True when W is the token-embedding table itself (ModelConfig.tie_weights)
      logits      h·Wᵀ + b [V], computed here; model_logits [V] the model's own;
      max_abs_diff, matches   how far the two are apart (matches: within float32 rounding)
      probs       softmax(logits) [V]; entropy in nats; tokens the vocabulary [V]
      true_token, true_id, loss   the token the data says comes next (by default the task's
                  answer, None for the character model), and -ln p(true token) (None without one)
      ln_V        the loss of a model that has learned nothing (uniform over V tokens)
    """
    prompt = Prompt(model, task, src_tokens)
    prefix = [prompt.token_id(t) for t in prefix_tokens]
    head = model.lm_head
    seen = {}

    def record(module, inputs, output):
        seen["h"], seen["logits"] = inputs[0], output

    with evaluating(model):
        handle = head.register_forward_hook(record)
        try:
            model_logits = prompt.logits([prefix])[0]  # (V,)
        finally:
            handle.remove()
    h = seen["h"][0, -1].detach().float().cpu()  # (d_model,) the last position of the first row
    W = head.weight.detach().float().cpu()        # (V, d_model)
    b = None if head.bias is None else head.bias.detach().float().cpu()
    logits = h @ W.T + (0 if b is None else b)    # (V,)
    model_logits = model_logits.detach().float().cpu()
    diff = float((logits - model_logits).abs().max())
    log_probs = torch.log_softmax(logits.double(), dim=-1)  # (V,) float64, so -ln p stays exact
    probs = log_probs.exp().float()
    vocab = task.vocab
    if true_token is None and not prompt.text:
        answer = list(task.solve(prompt.src_tokens)) + [vocab.tokens[vocab.eos_id]]
        if list(prefix_tokens) == answer[:len(prefix)] and len(prefix) < len(answer):
            true_token = answer[len(prefix)]
    true_id = None if true_token is None else prompt.token_id(true_token)
    return {
        "context": vocab.to_tokens(prompt.sequence(prefix)[-model.cfg.max_len:]),
        "h": h, "W": W, "b": b,
        "tied": head.weight is model.tok_emb.weight,
        "logits": logits, "model_logits": model_logits, "max_abs_diff": diff,
        "matches": bool(torch.allclose(logits, model_logits, rtol=1e-4, atol=1e-4)),
        "probs": probs, "entropy": float(entropy(probs)), "tokens": list(vocab.tokens),
        "true_token": true_token, "true_id": true_id,
        "loss": None if true_id is None else -float(log_probs[true_id]),
        "ln_V": math.log(len(vocab)),
    }


def __getattr__(name):
    """`from transformer.decoding import beam_search` works; the search lives in transformer.beam."""
    if name in ("Beam", "beam_search", "beam_tree"):
        from . import beam

        return getattr(beam, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
