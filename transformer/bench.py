"""`python -m transformer bench`: is the from-scratch transformer as fast as PyTorch's own?

Three measurements, each against a reference built from `torch.nn.TransformerEncoder` of the
same size (d_model 64, 4 heads, 2 layers, d_ff 256, pre-norm, GELU, no dropout, causal mask,
the same token embedding, sinusoidal positions, final LayerNorm and output head):

1. Training-step time (forward, backward, AdamW) on a batch of 128 sequences of 60 tokens,
   with capture off, and with capture (attention maps recorded) on every 10th step. The two
   models take turns in short rounds, so a busy machine slows both alike; medians are reported.
2. Time to 99% sequence accuracy on reverse with length 30: the same trainer, data, schedule
   and seed for both, again taking turns (a chunk of steps each), timing each model's own work.
3. Achieved GFLOP/s of a training step against the machine's measured matmul peak.
4. Time to target of the decoder presets (reverse-30, copy, reverse, sort, addition), trained by
   our Trainer exactly as the app trains them, against a plain learner that shares none of the
   Trainer's code (`PlainLearner`: the reference model, batch 128, AdamW at a constant 3e-3, no
   warm-up, evaluated every 10 steps on the same held-out examples), taking turns in chunks of 10
   steps. `scripts/race_presets.py` runs this part alone, and with preset variants.

On a shared machine the numbers are noisy: rerun on an idle one before quoting them.
"""
from __future__ import annotations

import json
import math
import random
import statistics
import time
from dataclasses import replace

import torch
import torch.nn as nn
import torch.nn.functional as F

from .build import build_model
from .capture import capture
from .config import ModelConfig
from .positional import sinusoidal_encoding

SIZE = dict(d_model=64, n_heads=4, n_layers=2, d_ff=256, dropout=0.0, pos_encoding="sinusoidal", norm="pre", activation="gelu")


class ReferenceLM(nn.Module):
    """A decoder-only language model made of torch.nn.TransformerEncoder with a causal mask.

    Same contract as our models: forward(idx [B, T], targets=None) -> (logits [B, T, V], loss).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.register_buffer("pe", sinusoidal_encoding(cfg.max_len, cfg.d_model), persistent=False)
        layer = nn.TransformerEncoderLayer(
            cfg.d_model, cfg.n_heads, cfg.d_ff, cfg.dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, cfg.n_layers, enable_nested_tensor=False)
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size)

    def forward(self, idx, targets=None):
        T = idx.size(1)
        x = self.tok_emb(idx) + self.pe[:T]  # (B, T, d_model)
        mask = nn.Transformer.generate_square_subsequent_mask(T, device=idx.device)  # (T, T), -inf above
        x = self.encoder(x, mask=mask, is_causal=True)
        logits = self.lm_head(self.ln_f(x))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-100)
        return logits, loss


def _models(vocab_size: int, max_len: int, seed: int = 0):
    cfg = ModelConfig(vocab_size=vocab_size, max_len=max_len, arch="decoder", **SIZE)
    torch.manual_seed(seed)
    ours = build_model(cfg)
    torch.manual_seed(seed)
    ref = ReferenceLM(cfg)
    return cfg, ours, ref


def step_flops(cfg: ModelConfig, batch: int, seq: int) -> float:
    """Floating-point operations of one training step (forward + backward = 3x forward).

    Forward: 2 per multiply-add for every weight matrix applied to every token (Q, K, V, out,
    the two feed-forward matrices, the output head), plus Q·Kᵀ and weights·V (2·T·d each per
    token and layer; the masked half is computed anyway by the dense kernels).
    """
    d, L = cfg.d_model, cfg.n_layers
    per_token = L * (4 * d * d + 2 * d * cfg.d_ff) + d * cfg.vocab_size
    forward = 2 * batch * seq * per_token + L * 2 * 2 * batch * seq * seq * d
    return 3.0 * forward


def matmul_peak_gflops(n: int = 1024, repeats: int = 10) -> float:
    """Best observed float32 matmul throughput of this machine (with the current thread count)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(2):
        a @ b
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def time_steps(vocab_size=16, batch=128, seq=60, rounds=8, steps_per_round=10, capture_every=10, warmup=3):
    """Median step time (seconds) of ours without capture, ours with capture every
    `capture_every` steps, and the reference; the three take turns each round."""
    cfg, ours, ref = _models(vocab_size, seq)
    gen = torch.Generator().manual_seed(0)
    idx = torch.randint(5, vocab_size, (batch, seq), generator=gen)
    targets = torch.randint(5, vocab_size, (batch, seq), generator=gen)
    opts = {id(m): torch.optim.AdamW(m.parameters(), lr=1e-3) for m in (ours, ref)}

    def step(model, captured=False):
        opt = opts[id(model)]
        start = time.perf_counter()
        if captured:
            with capture(model):
                _, loss = model(idx, targets)
        else:
            _, loss = model(idx, targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return time.perf_counter() - start

    for _ in range(warmup):
        step(ours), step(ours, True), step(ref)
    times = {"ours": [], "ours_capture": [], "reference": []}
    for _ in range(rounds):
        times["ours"] += [step(ours) for _ in range(steps_per_round)]
        times["ours_capture"] += [step(ours, i % capture_every == 0) for i in range(steps_per_round)]
        times["reference"] += [step(ref) for _ in range(steps_per_round)]
    # Capture every 10th step: its cost is the mean over a window of 10, not the median step.
    per_window = []
    for i in range(0, len(times["ours_capture"]) - capture_every + 1, capture_every):
        per_window.append(statistics.mean(times["ours_capture"][i : i + capture_every]))
    return cfg, {
        "ours": statistics.median(times["ours"]),
        "ours_capture": statistics.median(per_window),
        "reference": statistics.median(times["reference"]),
    }


def time_to_accuracy(length=30, target=0.99, max_seconds=75.0, chunk=25, seed=0, batch_size=64, lr=3e-3,
                     steps=3000, warmup=100):
    """Train ours and the reference on reverse(length) with the same trainer and data, in turns
    of `chunk` steps. -> {name: (seconds or None, step, seq_acc)} (None: not reached in time)."""
    from .tasks import get_task
    from .training import Trainer, TrainConfig

    task = get_task("reverse", length=length)
    cfg = ModelConfig(vocab_size=len(task.vocab), max_len=task.max_len("lm"), arch="decoder",
                      pad_id=task.vocab.pad_id, **SIZE)
    train_cfg = TrainConfig(steps=steps, batch_size=batch_size, lr=lr, warmup=warmup, eval_every=chunk,
                            eval_size=256, seed=seed, device="cpu")
    torch.manual_seed(seed)
    ref_model = ReferenceLM(cfg)
    trainers = {"ours": Trainer(task, cfg, train_cfg), "reference": Trainer(task, cfg, train_cfg, model=ref_model)}
    result = {}
    while len(result) < len(trainers):
        for name, tr in trainers.items():
            if name in result:
                continue
            for _ in range(chunk):
                tr.train_step()
            row = tr.evaluate_and_log()
            if row["seq_acc"] >= target:
                result[name] = (tr.elapsed, tr.step_count, row["seq_acc"])
            elif tr.elapsed >= max_seconds or tr.step_count >= steps:
                result[name] = (None, tr.step_count, row["seq_acc"])
    return result


# ---------------------------------------------------------------------------------------------
# Presets against a plain, independent learner.
# ---------------------------------------------------------------------------------------------

# The plain learner: what anyone would write first with PyTorch's own modules, sharing nothing
# with the project's Trainer (no warm-up, no schedule, no clipping, no weight-decay groups, no
# training-side evaluation). Only the data and the held-out examples are the same.
PLAIN = dict(batch_size=128, lr=3e-3, eval_every=10)
# Decoder presets the plain learner can be held against, as (task, task params): reverse with
# 30 letters is the case issue 19 measured; the others are the tasks' own defaults.
RACE_TASKS = (("reverse", {"length": 30}), ("copy", {}), ("reverse", {}), ("sort", {}), ("addition", {}))


class PlainLearner:
    """ReferenceLM (torch.nn.TransformerEncoder, causal mask) of the preset's size, trained on
    batches of 128 fresh training examples with AdamW at a constant 3e-3, and evaluated every
    10 steps on the same held-out examples the preset's Trainer uses.

    `elapsed` counts its own work only (data, steps, evaluations), so it can take turns with
    another run in one process.
    """

    def __init__(self, task, model_cfg: ModelConfig, seed: int = 0, eval_size: int = 256, metric: str = "seq_acc"):
        from .tasks import make_batch
        from .training import validation_examples

        self.task, self.metric, self.seed = task, metric, seed
        torch.manual_seed(seed)
        self.model = ReferenceLM(model_cfg)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=PLAIN["lr"])
        self.rng = random.Random(seed)
        self._make_batch = lambda examples: make_batch(task, examples, "lm")
        self.val = self._make_batch(validation_examples(task, eval_size, seed))
        self.step_count, self.elapsed, self.cpu_s, self.evals = 0, 0.0, 0.0, []

    @torch.no_grad()
    def evaluate(self) -> float:
        """Teacher-forced accuracy on the held-out batch: whole answers ("seq_acc") or answer
        tokens ("token_acc"), written out here rather than taken from transformer.metrics."""
        self.model.eval()
        logits = self.model(self.val.idx)[0]  # (B, T, V)
        self.model.train()
        graded = self.val.targets != -100  # (B, T): the answer tokens
        hit = (logits.argmax(-1) == self.val.targets) | ~graded  # (B, T)
        if self.metric == "token_acc":
            return float((hit & graded).sum() / graded.sum())
        return float(hit.all(dim=1).float().mean())

    def train(self, steps: int) -> float:
        """`steps` optimizer steps (evaluating every 10th); -> the last evaluation's accuracy."""
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(steps):
            batch = self._make_batch([self.task.sample(self.rng, "train") for _ in range(PLAIN["batch_size"])])
            _, loss = self.model(batch.idx, batch.targets)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self.step_count += 1
            if self.step_count % PLAIN["eval_every"] == 0:
                self.evals.append((self.step_count, self.evaluate()))
        self.elapsed += time.perf_counter() - start
        self.cpu_s += time.process_time() - cpu
        return self.evals[-1][1] if self.evals else 0.0


def race_to_target(task, seed: int = 0, max_seconds: float = 60.0, chunk: int = 10, train_overrides=None) -> dict:
    """The task's decoder preset (the project's Trainer, exactly as the app trains it) against
    the plain learner, taking turns in chunks of `chunk` steps so a busy machine slows both
    alike. Each stops at the preset's target, on the preset's metric, or after `max_seconds`
    of its own time. -> {"preset"|"plain": {"step", "seconds" (None: not reached), "acc"}}."""
    from .presets import preset_configs
    from .training import Trainer

    preset = task.preset("decoder")
    model_cfg, train_cfg = preset_configs(task, "decoder", stop_at_target=True)
    train_cfg = replace(train_cfg, seed=seed, device="cpu", max_seconds=max_seconds, **(train_overrides or {}))
    trainer = Trainer(task, model_cfg, train_cfg)
    plain = PlainLearner(task, trainer.model_cfg, seed, train_cfg.eval_size, preset.metric)
    cpu = time.process_time()
    trainer.evaluate_and_log()  # the run's first evaluation, at step 0, as Trainer.run makes it
    trainer_cpu = time.process_time() - cpu
    result = {}
    while len(result) < 2:
        if "preset" not in result:
            cpu = time.process_time()
            for _ in range(chunk):  # Trainer.run's loop, a chunk at a time
                trainer.stop_reason = trainer.done()
                if trainer.stop_reason:
                    break
                trainer.train_step()
                if trainer.eval_due():
                    trainer.evaluate_and_log()
            if trainer.done() and trainer.evals[-1]["step"] != trainer.step_count:
                trainer.evaluate_and_log()  # as Trainer.run ends: the last row is the final weights
            trainer_cpu += time.process_time() - cpu
            if trainer.stop_reason or trainer.done():
                reached = trainer.done() == "until_acc"
                result["preset"] = {"step": trainer.step_count, "seconds": trainer.elapsed if reached else None,
                                    "acc": trainer.evals[-1][preset.metric], "cpu_s": trainer_cpu}
        if "plain" not in result:
            acc = plain.train(chunk)
            if acc >= preset.target_acc or plain.elapsed >= max_seconds or plain.step_count >= train_cfg.steps * 4:
                result["plain"] = {"step": plain.step_count,
                                   "seconds": plain.elapsed if acc >= preset.target_acc else None, "acc": acc,
                                   "cpu_s": plain.cpu_s}
    result["target"], result["metric"] = preset.target_acc, preset.metric
    return result


def race_presets(tasks=RACE_TASKS, seed: int = 0, max_seconds: float = 60.0, train_overrides=None) -> list[dict]:
    """`race_to_target` for each (task name, params); -> one row per task."""
    from .tasks import get_task

    rows = []
    for name, params in tasks:
        task = get_task(name, **params)
        label = name + "".join(f"-{v}" for v in params.values())
        rows.append({"task": label, **race_to_target(task, seed, max_seconds, train_overrides=train_overrides)})
    return rows


def run(quick: bool = False, threads: int = 2) -> dict:
    """All measurements as a dict (see `table` for the printed form)."""
    torch.set_num_threads(threads)
    if quick:
        cfg, steps = time_steps(rounds=2, steps_per_round=10, warmup=1)
        converge = time_to_accuracy(length=8, max_seconds=10.0, chunk=25)
    else:
        cfg, steps = time_steps()
        converge = time_to_accuracy()
    # Quick: one short preset, enough to show the race works; full: every task of RACE_TASKS.
    races = race_presets((("reverse", {"length": 6}),), max_seconds=20.0) if quick else race_presets()
    peak = matmul_peak_gflops(512 if quick else 1024, 3 if quick else 10)
    flops = step_flops(cfg, 128, 60)
    return {
        "threads": threads,
        "quick": quick,
        "step_s": steps,
        "gflops": {k: flops / v / 1e9 for k, v in steps.items()},
        "peak_gflops": peak,
        "to_99": {k: {"seconds": v[0], "step": v[1], "seq_acc": v[2]} for k, v in converge.items()},
        "reverse_length": 8 if quick else 30,
        "presets": races,
    }


def table(res: dict) -> str:
    s, g, peak, acc = res["step_s"], res["gflops"], res["peak_gflops"], res["to_99"]
    ref = s["reference"]
    lines = [
        f"Benchmark ({res['threads']} CPU threads{', quick' if res['quick'] else ''}; batch 128 x 60 tokens, "
        "d_model 64, 4 heads, 2 layers, d_ff 256)",
        "",
        "| measurement | ours | ours, capture every 10 steps | torch.nn.TransformerEncoder |",
        "|---|---|---|---|",
        f"| training step (median) | {s['ours'] * 1e3:.1f} ms | {s['ours_capture'] * 1e3:.1f} ms | {ref * 1e3:.1f} ms |",
        f"| ratio to reference | {s['ours'] / ref:.2f} | {s['ours_capture'] / ref:.2f} | 1.00 |",
        f"| achieved GFLOP/s (peak matmul {peak:.1f}) | {g['ours']:.1f} ({g['ours'] / peak:.0%}) "
        f"| {g['ours_capture']:.1f} ({g['ours_capture'] / peak:.0%}) | {g['reference']:.1f} ({g['reference'] / peak:.0%}) |",
    ]

    def reached(name):
        r = acc[name]
        if r["seconds"] is None:
            return f"not reached ({r['seq_acc']:.0%} at step {r['step']})"
        return f"{r['seconds']:.1f} s (step {r['step']})"

    lines.append(f"| time to 99% on reverse-{res['reverse_length']} | {reached('ours')} | - | {reached('reference')} |")
    lines += ["", "Time to each decoder preset's target: the preset (our Trainer, as the app trains it) against a plain "
              "learner (torch.nn.TransformerEncoder, batch 128, AdamW at a constant 3e-3, no warm-up, evaluated every "
              "10 steps on the same held-out examples), taking turns. Seconds are each side's own wall time (CPU seconds "
              "in brackets).", "",
              "| task | target | preset | plain learner | preset / plain (s) |", "|---|---|---|---|---|"]
    for row in res.get("presets", []):
        def cell(r):
            if r["seconds"] is None:
                return f"not reached ({r['acc']:.0%} at step {r['step']})"
            return f"step {r['step']}, {r['seconds']:.1f} s ({r['cpu_s']:.1f} s CPU)"
        p, q = row["preset"], row["plain"]
        ratio = f"{p['seconds'] / q['seconds']:.2f}" if p["seconds"] and q["seconds"] else "-"
        lines.append(f"| {row['task']} | {row['target']:.0%} {row['metric']} | {cell(p)} | {cell(q)} | {ratio} |")
    return "\n".join(lines)


def main(quick: bool = False, threads: int = 2, as_json: bool = False) -> int:
    from .training import max_threads

    if threads < 1:
        raise ValueError(f"--threads must be at least 1 (got {threads}).")
    if threads > max_threads():
        raise ValueError(f"--threads must be at most {max_threads()}, twice this machine's cores (got {threads}).")
    res = run(quick=quick, threads=threads)
    print(table(res))
    if as_json:
        print(json.dumps(res))
    return 0
