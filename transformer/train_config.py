"""How a model is trained, as settings: `TrainConfig`, its limits, and the learning-rate schedules.

Kept apart from the loop in `training.py` (which re-exports every name here) so that each reads
on its own: this file says what a run may ask for and refuses, in one sentence, what it may not;
`lr_at` is a pure function, so a page can plot the whole schedule before training starts.
"""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, fields

from .budget import check_budget
from .config import ModelConfig, _integer, _real


SCHEDULES = ("cosine", "inverse_sqrt", "constant")
AMP_CHOICES = ("auto", "off", "bf16")
UNTIL_METRICS = ("seq_acc", "token_acc")
COSINE_FLOOR = 0.1  # cosine decays to 10% of the peak rate, not to 0: the last steps still learn
MAX_SEED = 2**62  # torch.manual_seed takes 64 bits; the evaluation sets use seed + 10,000 and + 20,000
# A finite training set is held in memory as Examples and generated before the first step
# (100,000 take about a second and some tens of MB); more than that is a stream in all but name.
MAX_TRAIN_SIZE = 100_000
MAX_PATIENCE = 10_000


def max_threads() -> int:
    """The most CPU threads a run may ask for: more than twice the cores only adds waiting, and
    OpenMP allocates a stack per thread (100,000 threads ran it out of memory)."""
    return max(8, 2 * (os.cpu_count() or 1))


@dataclass
class TrainConfig:
    """Everything about how a model is trained (the model's own sizes live in ModelConfig)."""

    steps: int = 1000
    batch_size: int = 64
    lr: float = 3e-3
    warmup: int = 100
    schedule: str = "cosine"
    weight_decay: float = 0.01
    grad_clip: float | None = 1.0  # None or 0 turns clipping off
    eval_every: int = 50
    eval_size: int = 256
    seed: int = 0
    device: str = "auto"
    amp: str = "auto"  # "auto": bf16 autocast on CUDA only; "off"; "bf16" (CUDA only)
    until_acc: float | None = None  # stop once the validation `until_metric` reaches this
    until_metric: str = "seq_acc"  # "seq_acc" (whole answers right) or "token_acc" (text tasks)
    max_seconds: float | None = None  # stop after this much training time
    threads: int | None = None  # CPU threads for this run; None leaves PyTorch's setting
    train_size: int | None = None  # N fixed training examples reused every epoch; None: a fresh stream
    early_stop: int | None = None  # patience: evaluations without a lower validation loss before stopping
    init_from: str | None = None  # a checkpoint whose compatible weights the model starts from
    freeze_body: bool = False  # train only the output head (with init_from: fine-tune a pre-trained body)

    def validate(self, model_cfg: ModelConfig | None = None) -> "TrainConfig":
        """Raise ValueError with one sentence that names the fix; return self when valid.

        With `model_cfg` (sized for its task, as `run_configs` makes it) also check that
        training it at this batch size fits the machine's memory budget (`transformer.budget`).
        """

        def whole(name, low, high=None):
            value = getattr(self, name)
            if not _integer(value) or value < low or (high and value > high):
                span = f"between {low} and {high}" if high else f"at least {low}"
                raise ValueError(f"{name} must be a whole number {span} (got {value!r}).")

        def number(name):  # a finite real number, not a bool or a string
            value = getattr(self, name)
            return _real(value)

        whole("steps", 1)
        whole("batch_size", 1, 4096)
        whole("warmup", 0)
        whole("eval_every", 1)
        whole("eval_size", 1, 100_000)
        whole("seed", 0, MAX_SEED)
        if not number("lr") or self.lr <= 0:
            raise ValueError(f"The learning rate must be a number above 0, such as 0.003 (got {self.lr!r}).")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"Unknown schedule '{self.schedule}': choose one of {', '.join(SCHEDULES)}.")
        if not (number("weight_decay") and 0 <= self.weight_decay < 1):
            raise ValueError(f"weight_decay must be at least 0 and below 1, such as 0.01 (got {self.weight_decay!r}).")
        if self.grad_clip is not None and not (number("grad_clip") and self.grad_clip >= 0):
            raise ValueError(f"grad_clip must be a positive number, or 0 to turn clipping off (got {self.grad_clip!r}).")
        if self.amp not in AMP_CHOICES:
            raise ValueError(f"amp must be one of {', '.join(AMP_CHOICES)} (got {self.amp!r}).")
        if self.until_acc is not None and not (number("until_acc") and 0 < self.until_acc <= 1):
            raise ValueError(f"until_acc is a fraction: use a number above 0 and at most 1, such as 0.99 (got {self.until_acc!r}).")
        if self.until_metric not in UNTIL_METRICS:
            raise ValueError(f"until_metric must be one of {', '.join(UNTIL_METRICS)} (got {self.until_metric!r}).")
        if self.max_seconds is not None and not (number("max_seconds") and self.max_seconds > 0):
            raise ValueError(f"max_seconds must be above 0 (got {self.max_seconds!r}).")
        if not isinstance(self.device, str):
            raise ValueError(f"device must be one of auto, cpu, cuda, mps (got {self.device!r}).")
        if self.threads is not None:
            whole("threads", 1, max_threads())
        if self.train_size is not None and not (_integer(self.train_size) and 1 <= self.train_size <= MAX_TRAIN_SIZE):
            raise ValueError(f"The training-set size is a number of examples: use a whole number from 1 to "
                             f"{MAX_TRAIN_SIZE:,}, or none for fresh examples at every step (got {self.train_size!r}).")
        if self.early_stop is not None and not (_integer(self.early_stop) and 1 <= self.early_stop <= MAX_PATIENCE):
            raise ValueError(f"Early stopping's patience is a number of evaluations: use a whole number from 1 to "
                             f"{MAX_PATIENCE:,}, such as 5, or none to train every step (got {self.early_stop!r}).")
        if self.init_from is not None and not (isinstance(self.init_from, str) and self.init_from.strip()):
            raise ValueError(f"init_from is the path of a checkpoint file, or none (got {self.init_from!r}).")
        if self.init_from is not None and not os.path.isfile(self.init_from):  # cheap: before anything trains
            raise ValueError(f"There is no checkpoint file at '{self.init_from}': check the path.")
        if not isinstance(self.freeze_body, bool):
            raise ValueError(f"freeze_body is True or False (got {self.freeze_body!r}).")
        if model_cfg is not None:
            check_budget(model_cfg, self.batch_size, self.eval_size)
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        if not isinstance(data, dict):
            raise ValueError(f"A training configuration is a dict of settings such as steps (got a {type(data).__name__}).")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


# --------------------------------------------------------------------------- schedules


def lr_at(step: int, cfg: TrainConfig) -> float:
    """The learning rate for optimizer step `step` (1-based: the first step is 1).

    All schedules warm up linearly over `cfg.warmup` steps (Adam's second-moment estimates are
    noisy at first; large early steps can knock a transformer into a bad region). Then:
      cosine:        half a cosine from lr down to 10% of lr at the last step;
      inverse_sqrt:  lr * min(step / warmup, sqrt(warmup / step)) — Vaswani et al. 2017, eq. (3),
                     scaled so its peak (at step == warmup) is lr instead of d_model^-0.5;
      constant:      lr.
    A pure function so the UI can plot the whole curve before training starts.
    """
    step = max(1, int(step))
    warmup = cfg.warmup
    if cfg.schedule == "inverse_sqrt":
        w = max(1, warmup)
        return cfg.lr * min(step / w, math.sqrt(w / step))
    if step <= warmup:
        return cfg.lr * step / warmup
    if cfg.schedule == "constant":
        return cfg.lr
    span = max(1, cfg.steps - warmup)
    progress = min(1.0, (step - warmup) / span)
    return cfg.lr * (COSINE_FLOOR + (1 - COSINE_FLOOR) * 0.5 * (1 + math.cos(math.pi * progress)))


def lr_curve(cfg: TrainConfig, points: int = 200) -> tuple[list[int], list[float]]:
    """(steps, learning rates) at about `points` evenly spaced steps, for plotting."""
    stride = max(1, cfg.steps // points)
    steps = sorted(set(list(range(1, cfg.steps + 1, stride)) + [min(cfg.warmup, cfg.steps) or 1, cfg.steps]))
    return steps, [lr_at(s, cfg) for s in steps]
