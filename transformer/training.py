"""A plain training loop: AdamW, warmup + decay, gradient clipping, evaluation, callbacks.

    trainer = Trainer(get_task("reverse", length=8), ModelConfig(arch="decoder"), TrainConfig(steps=500))
    trainer.run()                      # returns trainer.history (one row per optimizer step)
    trainer.evals[-1]                  # {"step", "loss", "val_loss", "token_acc", "seq_acc",
                                       #  "train_loss", "train_token_acc", "train_seq_acc", "lr", ...}

The loop is written out so it can be read top to bottom (as in minGPT's trainer): sample a batch
from the training part of the task (a fresh stream, or `train_size` fixed examples reused epoch
after epoch), forward, check the loss is finite, backward, clip, check the
gradient norm is finite, step. Every evaluation measures the held-out validation examples and a fixed sample of training
examples alike (`transformer.evaluation`), so the gap between them shows overfitting; with
`early_stop` the run stops when the validation loss stops improving and keeps its best weights.
`init_from` and `freeze_body` start from another run's weights (`transformer.transfer`).
Callbacks are any objects with optional `on_step(trainer, row)`
and `on_eval(trainer, row)` methods; `transformer.runs` and the CLI are both callbacks on top.
`on_step` comes once the step is complete, after its evaluation when one is due.
"""
from __future__ import annotations

import contextlib
import math
import random
import threading
import time
from dataclasses import replace

import torch
import torch.nn as nn

from .build import build_model
from .config import ModelConfig
from .devices import resolve_device
from .evaluation import EarlyStopping, make_batches, measure
from .train_config import (  # noqa: F401  (re-exported: these names have always been importable from here)
    AMP_CHOICES, COSINE_FLOOR, MAX_PATIENCE, MAX_SEED, MAX_TRAIN_SIZE, SCHEDULES, UNTIL_METRICS, TrainConfig, lr_at,
    lr_curve, max_threads,
)


# Seeding the global generator and building the model must not interleave with another thread
# doing the same, or two runs with the same seed would start from different weights.
_BUILD_LOCK = threading.Lock()


def initial_model(model_cfg: ModelConfig, seed: int) -> nn.Module:
    """The model a Trainer with this `seed` and this (its own, sized) `model_cfg` starts from,
    built without moving torch's global generator, which running trainers may be drawing from."""
    with _BUILD_LOCK, torch.random.fork_rng():
        torch.manual_seed(seed)
        return build_model(model_cfg)


class TrainingDiverged(RuntimeError):
    """The loss or the gradient norm became NaN or infinite; the weights are the last good ones."""

    def __init__(self, message: str, step: int):
        super().__init__(message)
        self.step = step


# --------------------------------------------------------------------------- model plumbing


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """AdamW groups: decay weight matrices only.

    Weight decay pulls parameters toward zero. That is the regularizer we want on the weight
    matrices of projections and feed-forward layers, but on LayerNorm gains and biases it only
    fights the scale and offset they exist to set, and on embedding tables it shrinks the rows of
    rare tokens toward zero between their rare updates (minGPT makes the same split).
    """
    no_decay = set()
    for module in model.modules():
        if isinstance(module, (nn.Embedding, nn.LayerNorm)):
            no_decay.update(id(p) for p in module.parameters(recurse=False))
    decay, keep = [], []
    for p in model.parameters():
        if not p.requires_grad:
            continue
        (decay if p.dim() >= 2 and id(p) not in no_decay else keep).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": keep, "weight_decay": 0.0}]


# --------------------------------------------------------------------------- the trainer


def run_configs(task, model_cfg: ModelConfig, train_cfg: TrainConfig | None = None) -> tuple[ModelConfig, TrainConfig]:
    """-> (model_cfg sized for the task, train_cfg), both validated, the run within the memory
    budget; ValueError with one sentence otherwise. Builds nothing, so it is cheap enough for a
    page to call on every rerun and for a click handler to call before starting a run."""
    train_cfg = (train_cfg or TrainConfig()).validate()
    if not isinstance(model_cfg, ModelConfig):
        raise ValueError(f"model_cfg must be a ModelConfig (got a {type(model_cfg).__name__}).")
    if model_cfg.arch not in task.archs:
        raise ValueError(
            f"The task '{task.name}' does not support the architecture '{model_cfg.arch}': "
            f"use one of {', '.join(task.archs)}."
        )
    # The task decides the vocabulary and the longest sequence; the person decides the rest.
    model_cfg = replace(
        model_cfg, vocab_size=len(task.vocab), max_len=task.max_len(model_cfg.layout), pad_id=task.vocab.pad_id
    ).validate()
    size = task.space_size()
    if size is not None and size <= 10_000 and task.held_out_count in (0, size):
        # A few strings (parity of 2 bits, copy of 1 letter) may all hash to one side.
        part = "validation" if task.held_out_count == 0 else "training"
        raise ValueError(f"The task '{task.name}' with these settings has only {size:,} possible inputs and none of "
                         f"them falls in its {part} part: make its inputs longer or more varied.")
    if train_cfg.amp == "bf16" and resolve_device(train_cfg.device).type != "cuda":
        raise ValueError("bf16 autocast is only used on a CUDA GPU (on a CPU it is about 6x slower): set amp to 'auto' or 'off'.")
    return model_cfg, train_cfg.validate(model_cfg)


def training_eval_examples(task, n: int, seed: int, train_set: list | None = None) -> list:
    """The fixed sample of training examples every evaluation also measures (the train_* keys):
    the first min(n, N) of a finite training set (what the model really trains on), else n
    examples of the training part from a seed the training stream does not use."""
    if train_set is not None:
        return list(train_set[:n])
    return task.examples(n, seed + 20_000, split="train")


def validation_examples(task, n: int, seed: int) -> list:
    """The validation set of a run with this seed: n examples of the task's held-out part
    (`split="val"`), which training never draws from, whatever the seed or the sizes."""
    return task.examples(n, seed + 10_000, split="val")


class Trainer:
    """Owns a model, its optimizer, the data generator and the history of one training run."""

    def __init__(self, task, model_cfg: ModelConfig, train_cfg: TrainConfig | None = None, callbacks=(),
                 model: nn.Module | None = None):
        """`model`, when given, is trained instead of `build_model(model_cfg)` (the benchmark
        trains a reference model this way); it must follow the same forward contract."""
        self.task = task
        self.model_cfg, self.cfg = run_configs(task, model_cfg, train_cfg)
        self.layout = self.model_cfg.layout
        self.device = resolve_device(self.cfg.device)
        self.use_amp = self.cfg.amp != "off" and self.device.type == "cuda" and torch.cuda.is_bf16_supported()
        self.callbacks = list(callbacks)
        self._threads_set_in = None  # set in whichever thread trains, at its first step

        with _BUILD_LOCK:
            # Dropout draws from the global generator too, so runs with dropout that train at the
            # same time are not bit-reproducible; the initial weights always are.
            torch.manual_seed(self.cfg.seed)
            self.model = (model if model is not None else build_model(self.model_cfg)).to(self.device)
        self.model.train()
        self.transfer = None  # a TransferReport when the weights came from `init_from`
        if self.cfg.init_from or self.cfg.freeze_body:
            from .transfer import copy_compatible, freeze_body, load_weights

            if self.cfg.init_from:
                self.transfer = copy_compatible(self.model, load_weights(self.cfg.init_from))
            if self.cfg.freeze_body:  # before the optimizer, which then holds the head only
                freeze_body(self.model)
        self.optimizer = torch.optim.AdamW(
            param_groups(self.model, self.cfg.weight_decay), lr=lr_at(1, self.cfg), betas=(0.9, 0.98)
        )
        self.rng = random.Random(self.cfg.seed)  # the training data stream (and each epoch's shuffle)
        self.train_set = None if self.cfg.train_size is None else task.examples(self.cfg.train_size, self.cfg.seed)
        self._order: list[int] = []  # this epoch's shuffled indices into train_set
        self._next = 0  # position in _order of the next example
        self.examples_seen = 0
        self.val_examples = validation_examples(task, self.cfg.eval_size, self.cfg.seed)
        self.train_eval_examples = training_eval_examples(task, self.cfg.eval_size, self.cfg.seed, self.train_set)
        self._eval_batches = None  # (validation batches, training-sample batches), built at the first evaluation
        self.early = EarlyStopping(self.cfg.early_stop) if self.cfg.early_stop else None

        self.step_count = 0
        self.elapsed = 0.0  # seconds spent training and evaluating (pauses do not count)
        self.history: list[dict] = []  # one row per optimizer step
        self.evals: list[dict] = []  # one row per evaluation
        self.stop_reason: str | None = None
        self._since_eval = [0, 0.0]  # tokens and seconds since the last evaluation

    # ----------------------------------------------------------------- helpers

    def _apply_threads(self):
        """torch.set_num_threads is per thread (OpenMP), so set it in whichever thread trains."""
        if self.cfg.threads and self.device.type == "cpu" and self._threads_set_in != threading.get_ident():
            torch.set_num_threads(self.cfg.threads)
            self._threads_set_in = threading.get_ident()

    def autocast(self):
        if self.use_amp:
            return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def make_batch(self, examples):
        from .tasks import make_batch

        return make_batch(self.task, examples, self.layout, device=self.device)

    def next_examples(self) -> list:
        """The examples of the next optimizer step: `batch_size` fresh draws from the task's
        training part, or the next slice of a finite training set, visited in an order the
        run's seeded generator reshuffles at every epoch (min(batch_size, N) per step)."""
        if self.train_set is None:
            return [self.task.sample(self.rng, "train") for _ in range(self.cfg.batch_size)]
        picked = []
        while len(picked) < min(self.cfg.batch_size, len(self.train_set)):
            if self._next == len(self._order):  # a new epoch
                self._order = list(range(len(self.train_set)))
                self.rng.shuffle(self._order)
                self._next = 0
            picked.append(self.train_set[self._order[self._next]])
            self._next += 1
        return picked

    @property
    def epoch(self) -> float | None:
        """Passes made over a finite training set (1.5 = one and a half), None for a stream."""
        return self.examples_seen / len(self.train_set) if self.train_set is not None else None

    @property
    def best_step(self) -> int | None:
        """With early stopping, the step of the lowest validation loss so far (else None)."""
        return self.early.best_step if self.early else None

    @property
    def weights_step(self) -> int:
        """The step the model's weights are from: the best step after an early stop, else the last."""
        return self.early.best_step if self.stop_reason == "early_stop" else self.step_count

    def stop_message(self) -> str:
        """One sentence that says why training stopped ("" while it has not)."""
        step, reason = self.step_count, self.stop_reason
        if reason == "early_stop":
            return self.early.message()
        if reason == "until_acc":
            value = self.evals[-1][self.cfg.until_metric]
            return (f"Stopped at step {step}: validation {self.cfg.until_metric} reached {value:.1%} "
                    f"(the target was {self.cfg.until_acc:.1%}).")
        if reason == "max_seconds":
            return f"Stopped at step {step}: the time limit of {self.cfg.max_seconds:g} s was reached."
        if reason == "stopped":
            return f"Stopped by request at step {step}."
        if reason == "steps":
            return f"Trained all {step} steps."
        return ""

    def _callbacks(self, hook: str, row: dict):
        for cb in self.callbacks:
            fn = getattr(cb, hook, None)
            if fn is not None:
                fn(self, row)

    def _diverged(self, what: str, value: float, step: int) -> TrainingDiverged:
        self.optimizer.zero_grad(set_to_none=True)
        kind = "NaN" if math.isnan(value) else "infinite"
        lr = self.cfg.lr
        suggestion = f"{min(lr / 10, 3e-3):.2g}"
        kept = f"The model from step {step - 1} is kept." if step > 1 else "The model keeps its initial weights."
        return TrainingDiverged(
            f"The {what} became {kind} at step {step} — the learning rate ({lr:g}) is probably too high; "
            f"try {suggestion}. {kept}",
            step,
        )

    # ----------------------------------------------------------------- one step

    def train_step(self) -> dict:
        """One optimizer step on a fresh batch. Raises TrainingDiverged with the weights untouched."""
        self._apply_threads()
        start = time.perf_counter()
        step = self.step_count + 1
        lr = lr_at(step, self.cfg)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        examples = self.next_examples()
        batch = self.make_batch(examples)
        self.model.train()
        with self.autocast():
            _, loss = batch.run(self.model)
        loss_value = loss.item()
        if not math.isfinite(loss_value):
            raise self._diverged("loss", loss_value, step)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        # Returns the norm before clipping (what the gradient really was); an infinite max_norm
        # only measures it.
        max_norm = self.cfg.grad_clip or math.inf
        grad_norm = float(nn.utils.clip_grad_norm_(self.model.parameters(), max_norm))
        if not math.isfinite(grad_norm):
            raise self._diverged("gradient norm", grad_norm, step)
        self.optimizer.step()

        step_s = time.perf_counter() - start
        tokens = batch.n_tokens
        self.step_count = step
        self.examples_seen += len(examples)
        self.elapsed += step_s
        self._since_eval[0] += tokens
        self._since_eval[1] += step_s
        row = {
            "step": step,
            "loss": loss_value,
            "lr": lr,
            "grad_norm": grad_norm,
            "tokens": tokens,
            "step_s": step_s,
            "tokens_per_s": tokens / step_s if step_s > 0 else 0.0,
            "elapsed_s": self.elapsed,
        }
        self.history.append(row)
        return row

    # ----------------------------------------------------------------- evaluation

    def evaluate(self) -> dict:
        """Loss, token accuracy and sequence accuracy on the answer tokens, of both sides: the
        held-out validation examples (`val_loss`, `token_acc`, `seq_acc`) and the fixed sample
        of training examples (`train_loss`, `train_token_acc`, `train_seq_acc`)."""
        self._apply_threads()
        if self._eval_batches is None:
            self._eval_batches = (make_batches(self.make_batch, self.val_examples),
                                  make_batches(self.make_batch, self.train_eval_examples))
        val = measure(self.model, self._eval_batches[0], self.autocast)
        train = measure(self.model, self._eval_batches[1], self.autocast)
        return {
            "val_loss": val["loss"], "token_acc": val["token_acc"], "seq_acc": val["seq_acc"],
            "train_loss": train["loss"], "train_token_acc": train["token_acc"], "train_seq_acc": train["seq_acc"],
        }

    def evaluate_and_log(self) -> dict:
        """Evaluate, append an eval row to `evals`, and call the `on_eval` callbacks."""
        start = time.perf_counter()
        result = self.evaluate()
        self.elapsed += time.perf_counter() - start
        tokens, seconds = self._since_eval
        last = self.history[-1] if self.history else {}
        row = {
            "step": self.step_count,
            "loss": last.get("loss"),
            **result,
            "lr": last.get("lr", lr_at(1, self.cfg)),
            "elapsed_s": self.elapsed,
            "tokens_per_s": tokens / seconds if seconds > 0 else 0.0,
            "epoch": self.epoch,
        }
        self._since_eval = [0, 0.0]
        self.evals.append(row)
        if self.early is not None:  # before the callbacks, so they see this row's best_step
            self.early.update(self.model, row)
        self._callbacks("on_eval", row)
        return row

    # ----------------------------------------------------------------- the loop

    def eval_due(self) -> bool:
        """Whether the step just taken is evaluated: every `eval_every` steps."""
        return self.step_count % self.cfg.eval_every == 0

    def done(self) -> str | None:
        """Why training should stop now, or None to go on."""
        if self.early is not None and self.early.should_stop:
            return "early_stop"
        if self.step_count >= self.cfg.steps:
            return "steps"
        if self.cfg.until_acc is not None and self.evals and self.evals[-1][self.cfg.until_metric] >= self.cfg.until_acc:
            return "until_acc"
        if self.cfg.max_seconds is not None and self.elapsed >= self.cfg.max_seconds:
            return "max_seconds"
        return None

    def run(self, should_stop=None) -> list[dict]:
        """Train until `steps`, `until_acc`, `max_seconds`, `early_stop` or `should_stop()`;
        return `history`.

        `should_stop` is called before every step (the live runner blocks in it while paused).
        Evaluates before the first step, every `eval_every` steps, and once at the end, so the
        last row of `evals` always describes the final weights, except after an early stop:
        then the weights are those of `best_step`, whose row is `early.best_row`.
        """
        self._apply_threads()
        if not self.evals or self.evals[-1]["step"] != self.step_count:
            self.evaluate_and_log()
        while True:
            self.stop_reason = self.done()
            if self.stop_reason == "early_stop" and self.early.stopped_at is None:
                self.early.restore(self.model, self.step_count)
            if self.stop_reason:
                break
            if should_stop is not None and should_stop():
                self.stop_reason = "stopped"
                break
            row = self.train_step()
            # The step's evaluation (when one is due) before `on_step`: a callback that reads
            # `evals` there sees this step's metrics. The live run's snapshot of step 100 used to
            # carry step 50's accuracy ("0% right" above four right answers).
            if self.eval_due():
                self.evaluate_and_log()
            self._callbacks("on_step", row)
        if self.evals[-1]["step"] != self.step_count:
            self.evaluate_and_log()
        return self.history
