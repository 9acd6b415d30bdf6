"""One size budget for every model the library builds, trains or loads.

A class server must not let one setting (a slider at its maximum, a flag, a crafted checkpoint)
reach for more memory than the machine has. So before anything is built, the memory a run
would need is estimated from the configuration alone, with arithmetic (no allocation, no
import of torch), and refused above a limit with one sentence that names the knob to turn down:

    weights   4 bytes per parameter, five times over: the weights, their gradients, AdamW's
              two moment estimates, and the copy of the initial weights a live run keeps
    tables    positional tables that are buffers, not parameters (sinusoidal, rotary)
    train     activations autograd keeps for the backward pass: for each of the batch's
              B x T token positions and each layer, about 16 d_model + 2 d_ff floats, plus
              3 n_heads x T for the attention scores, plus 3 vocab_size for the logits
    eval      one evaluation chunk (up to 512 examples) without gradients, and the
              validation set's token ids

The estimate is rough (measured against the peak memory growth of real CPU runs: from 0.8x,
for wide decoders at large batches, to 3x, where the attention it counts is never stored) but
it grows the way the real cost grows, which is what a budget needs. `parameter_estimate` is exact: the
tests compare it with the built models, and checkpoint loading compares it with a file's weights.

The limit is `$TLAB_MAX_MEMORY_GB` when set (gigabytes per run, like `$TLAB_MAX_RUNS` for the
number of runs), else a quarter of this machine's memory, at least 2 GB (the largest preset, the character
model at its longest window, needs about 1.2 GB) and at most 8 GB, so two runs at the limit
leave the server half the machine.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

ENV_VAR = "TLAB_MAX_MEMORY_GB"
DEFAULT_FRACTION = 0.25  # of the machine's memory, per run
DEFAULT_CAP_BYTES = 8 * 2**30
DEFAULT_FLOOR_BYTES = 2 * 2**30  # the largest preset needs about 1.2 GB; also when memory is unknown
MAX_LAYERS = 64  # building the modules alone takes time: 100,000 tiny layers took a minute
EVAL_CHUNK = 512  # Trainer.evaluate's batch
FLOAT_BYTES = 4
WEIGHT_COPIES = 5  # weights, gradients, AdamW's m and v, the initial weights a live run keeps

MB = 2**20
# Gate blocks per recurrent cell: each has its own input and recurrent weight matrices.
GATES = {"rnn": 1, "gru": 3, "lstm": 4, "lstm-seq2seq": 4, "lstm-seq2seq-attn": 4}


def positive_env(name: str) -> float | None:
    """The positive number in environment variable `name`, or None (unset, not a number, <= 0)."""
    raw = os.environ.get(name, "").strip()
    try:
        value = float(raw) if raw else math.nan
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def machine_memory_bytes() -> int | None:
    """Physical memory of this machine in bytes, or None where it cannot be read."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # Windows has no sysconf
        return None


def memory_limit_bytes() -> int:
    """The most memory one run may need: $TLAB_MAX_MEMORY_GB, else sized to the machine.

    A value that is not a positive number is ignored (the default applies), as with $TLAB_MAX_RUNS.
    """
    gb = positive_env(ENV_VAR)
    if gb is not None:
        return int(gb * 2**30)
    total = machine_memory_bytes()
    if total is None:
        return DEFAULT_FLOOR_BYTES
    return min(DEFAULT_CAP_BYTES, max(DEFAULT_FLOOR_BYTES, int(total * DEFAULT_FRACTION)))


def parameter_estimate(cfg) -> int:
    """Trainable parameters of the model a (valid) ModelConfig describes, counted exactly."""
    d, V, L = cfg.d_model, cfg.vocab_size, cfg.n_layers
    head = d * V + V  # the output Linear
    if cfg.tie_weights:  # its weight is the embedding table, counted with the embedding
        head -= d * V
    if cfg.arch in GATES:
        g = GATES[cfg.arch]

        def layer(d_in):  # torch's RNN/GRU/LSTM layer: g gates, input and hidden weights, two biases
            return g * d * (d_in + d) + 2 * g * d

        if cfg.arch in ("rnn", "gru", "lstm"):
            return V * d + L * layer(d) + head
        dec_in = 2 * d if cfg.arch == "lstm-seq2seq-attn" else d
        attn = 2 * d * d + d + d if cfg.arch == "lstm-seq2seq-attn" else 0  # W_s, W_h (+bias), v
        return V * d + L * layer(d) + layer(dec_in) + (L - 1) * layer(d) + attn + head
    if cfg.arch == "cnn":
        from .cnn import cnn_parameters  # arithmetic only: nothing is built

        return cnn_parameters(d, L, V)
    f = cfg.d_ff
    mha = 4 * (d * d + d)
    ln = 2 * d
    ffn = 2 * d * f + f + d
    block = mha + ffn + 2 * ln
    final = ln if cfg.norm == "pre" else 0
    emb = V * d + (cfg.max_len * d if cfg.pos_encoding == "learned" else 0)
    if cfg.arch == "encoder-decoder":
        cross_block = block + mha + ln
        return emb + L * block + final + L * cross_block + final + head
    if cfg.arch == "vit":  # patch Linear, [CLS], positions for 1 + N, always a final norm in pre-norm
        patch = cfg.patch_size**2 * d + d
        pos = (1 + cfg.n_patches) * d if cfg.pos_encoding == "learned" else 0
        return patch + d + pos + L * block + final + head
    return emb + L * block + final + head


def _table_floats(cfg) -> int:
    """Floats in positional buffers (not parameters): the sinusoidal table, rotary cos/sin."""
    if cfg.arch in GATES or cfg.arch == "cnn":
        return 0
    if cfg.arch == "vit":
        return (1 + cfg.n_patches) * cfg.d_model if cfg.pos_encoding == "sinusoidal" else 0
    if cfg.pos_encoding == "sinusoidal":
        return cfg.max_len * cfg.d_model
    if cfg.pos_encoding == "rope":
        attn_layers = cfg.n_layers * (2 if cfg.arch == "encoder-decoder" else 1)
        return attn_layers * cfg.max_len * (cfg.d_model // cfg.n_heads)
    return 0


def _token_floats(cfg, keep_all_layers: bool) -> int:
    """Floats of activations per token position: every layer's when training (autograd keeps
    them for the backward pass), about one layer's when evaluating without gradients."""
    d, T = cfg.d_model, cfg.max_len
    if cfg.arch == "cnn":  # a row of T pixels: each layer's conv, activation and pool maps (the first dominates)
        return T * (cfg.n_layers if keep_all_layers else 1) * 3 * d + 3 * cfg.vocab_size
    if cfg.arch == "vit":  # a transformer over 1 + N patch tokens, spread over the max_len rows
        n = 1 + cfg.n_patches
        per_layer = 16 * d + 2 * cfg.d_ff + 3 * cfg.n_heads * n
        layers = cfg.n_layers if keep_all_layers else 1
        return math.ceil((layers * per_layer + 2 * d) * n / T) + 3 * cfg.vocab_size
    if cfg.arch in GATES:
        per_layer = (2 * GATES[cfg.arch] + 4) * d
        stacks = 2 if cfg.arch.startswith("lstm-seq2seq") else 1
        attn = 3 * T if cfg.arch == "lstm-seq2seq-attn" else 0
        layers = cfg.n_layers * stacks if keep_all_layers else 1
        return layers * per_layer + attn + 2 * d + 3 * cfg.vocab_size
    per_layer = 16 * d + 2 * cfg.d_ff + 3 * cfg.n_heads * T
    if cfg.arch == "encoder-decoder":  # the decoder's cross-attention
        per_layer += 6 * d + 3 * cfg.n_heads * T
    layers = cfg.n_layers * (2 if cfg.arch == "encoder-decoder" else 1) if keep_all_layers else 1
    return layers * per_layer + 2 * d + 3 * cfg.vocab_size


class BudgetError(ValueError):
    """A configuration too large for this machine; `knob` names the setting to turn down."""

    def __init__(self, message: str, knob: str | None = None, estimate: "Estimate | None" = None,
                 limit: int | None = None):
        super().__init__(message)
        self.knob, self.estimate, self.limit = knob, estimate, limit


@dataclass(frozen=True)
class Estimate:
    """Bytes a run would need, by part; `total` is what the budget compares."""

    parameters: int
    weights: int
    tables: int
    activations: int

    @property
    def total(self) -> int:
        return self.weights + self.tables + self.activations


def estimate(cfg, batch_size: int = 1, eval_size: int = 0) -> Estimate:
    """The memory a run of `cfg` would need to train at `batch_size` and to evaluate
    `eval_size` examples (both 0/1 for the model alone, as when it is loaded to be looked at)."""
    params = parameter_estimate(cfg)
    T = cfg.max_len
    train = batch_size * T * _token_floats(cfg, keep_all_layers=True)
    chunk = min(eval_size, EVAL_CHUNK)
    evaluation = chunk * T * _token_floats(cfg, keep_all_layers=False) + eval_size * T * 6  # int64 ids
    return Estimate(
        parameters=params,
        weights=FLOAT_BYTES * WEIGHT_COPIES * params,
        tables=FLOAT_BYTES * _table_floats(cfg),
        activations=FLOAT_BYTES * max(train, evaluation),
    )


def format_bytes(n: float) -> str:
    """1536 -> '1.5 KB' (binary units, as the memory of a machine is given)."""
    if n >= 2**50:  # a crafted size can be too large even for a float
        return "more than 1,000 TB"
    n = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover


# The knobs a person can turn down, in the order a tie is broken (the most teachable first).
# max_len and vocab_size come last: a task sets them, a library user may not have chosen them.
_KNOBS = ("d_model", "d_ff", "n_layers", "batch_size", "n_heads", "eval_size", "max_len", "vocab_size")
_RUN_KNOBS = ("batch_size", "eval_size")


def _biggest_knob(cfg, batch_size: int, eval_size: int, limit: int) -> tuple[str, int, int | None]:
    """(name, value now, largest value that fits or None): the knob to turn down.

    The knob that fits the limit on its own with the smallest cut wins; when none does, the one
    whose halving saves the most. Every part of the estimate grows with each knob, so the
    largest value that fits is found by bisection.
    """
    from dataclasses import replace

    def total(name, value):
        if name in _RUN_KNOBS:
            b, e = (value, eval_size) if name == "batch_size" else (batch_size, value)
            return estimate(cfg, b, e).total
        return estimate(replace(cfg, **{name: value}), batch_size, eval_size).total

    now = estimate(cfg, batch_size, eval_size).total
    values = {"batch_size": batch_size, "eval_size": eval_size}
    fitting, saving = [], []
    for name in _KNOBS:
        if name == "n_heads" and cfg.arch in GATES:
            continue  # recurrent models have no heads
        value = values[name] if name in values else getattr(cfg, name)
        if value <= 1:
            continue
        if total(name, 1) <= limit:
            lo, hi = 1, value  # total(lo) fits, total(hi) does not
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if total(name, mid) <= limit else (lo, mid)
            fitting.append((lo / value, name, value, lo))
        saving.append((now - total(name, value // 2), name, value))
    if fitting:
        _, name, value, fits = max(fitting, key=lambda c: c[0])  # max keeps the first of equals
        return name, value, fits
    if not saving:
        return "the model's sizes", 0, None
    _, name, value = max(saving, key=lambda c: c[0])
    return name, value, None


def _number(n: int) -> str:
    """1234567 -> '1,234,567'; a crafted 10**400 -> 'about 10^400' (no float overflow)."""
    return f"{n:,}" if n < 10**15 else f"about 10^{len(str(n)) - 1}"


def describe(est: Estimate) -> str:
    """'about 3.0 TB of memory (129,000,100,096 parameters)' for a sentence."""
    about = "" if est.total >= 2**50 else "about "
    return f"{about}{format_bytes(est.total)} of memory ({_number(est.parameters)} parameters)"


def check_budget(cfg, batch_size: int = 1, eval_size: int = 0, limit: int | None = None) -> Estimate:
    """Raise BudgetError (a ValueError) with one sentence when a run of `cfg` would not fit.

    `cfg` must already be valid otherwise (ModelConfig.validate calls this last). Returns the
    estimate when it fits.
    """
    limit = memory_limit_bytes() if limit is None else limit
    if cfg.n_layers > MAX_LAYERS:
        raise BudgetError(f"n_layers must be at most {MAX_LAYERS} (got {cfg.n_layers}): use fewer layers.", "n_layers")
    est = estimate(cfg, batch_size, eval_size)
    if est.total <= limit:
        return est
    name, value, fits = _biggest_knob(cfg, batch_size, eval_size, limit)
    advice = (f"lower {name} from {_number(value)} to {_number(fits)} or less" if fits is not None
              else f"lower {name} (now {_number(value)}) and the other sizes")
    raise BudgetError(
        f"This run would need {describe(est)}, "
        f"more than the {format_bytes(limit)} one run may use on this machine (${ENV_VAR}): {advice}.",
        name, est, limit,
    )
