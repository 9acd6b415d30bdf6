"""What every teaching task has: a vocabulary, a seeded example generator, and a preset.

A task turns a random generator into `Example(src, tgt)` pairs of token lists ("what the
model reads" and "the answer it must produce"). How the pair becomes tensors depends on the
architecture and lives in `batching.py`; a task only says how long its sequences can get
(`max_len(layout)`), which architectures make sense for it (`archs`, recommended first) and a
preset that is known to reach `target_acc` quickly on a laptop CPU.

Three kinds of task:
    "seq"       tgt is a token sequence (copy, reverse, dates, ...)
    "classify"  tgt is one label token (sentiment, parity, ...)
    "text"      src is a window of text and there is no separate answer (character LM)
"""
from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from typing import Any, ClassVar

from ..config import LAYOUTS, RECURRENT_ARCHS, SEQ2SEQ_RNN_ARCHS, ModelConfig
from ..presets import BASE_MODEL, BASE_TRAIN, TASK_TUNING
from .vocab import Vocab

KINDS = ("seq", "classify", "text")


@dataclass(frozen=True)
class Example:
    """One question and its answer, as token strings (specials are added by make_batch)."""

    src: list[str]
    tgt: list[str]


@dataclass(frozen=True)
class Preset:
    """A configuration known to learn the task on 2 CPU cores.

    model: ModelConfig overrides (d_model, n_heads, n_layers, d_ff, dropout, pos_encoding).
    train: TrainConfig fields (steps, batch_size, lr, warmup, schedule, eval_every).
    target_acc: the accuracy the preset reaches; measured as `metric` ("seq_acc": every answer
        token right, or "token_acc" for the character language model, where whole windows are
        never all right).
    seconds: about how long it takes to get there on 2 CPU cores.
    """

    model: dict
    train: dict
    target_acc: float
    seconds: float
    metric: str = "seq_acc"


# The most characters any input may have, checked before anything parses it. The longest real
# input is a character model's prompt (its window: at most 256 characters); without a bound, a
# pasted megabyte went through parsers and prefix searches that took minutes of the server.
MAX_INPUT_CHARS = 1_000


def check_input_text(text) -> str:
    """`text` if it is a str of at most `MAX_INPUT_CHARS` characters, else ValueError (one
    sentence). Costs one len(), whatever the size, so it can come before every parse."""
    if not isinstance(text, str):
        raise ValueError(f"Type the input as text (got {type(text).__name__}).")
    if len(text) > MAX_INPUT_CHARS:
        raise ValueError(f"The input has {len(text):,} characters and an input may have at most "
                         f"{MAX_INPUT_CHARS:,}: type or paste a shorter one.")
    return text


def arch_family(arch: str) -> str:
    return "recurrent" if arch in RECURRENT_ARCHS + SEQ2SEQ_RNN_ARCHS else "transformer"


class Task:
    """Base class of the task catalogue. Subclasses set the class attributes and implement
    `build_vocab`, `sample`, `solve`, `parse`, `max_src_len` and `max_tgt_len`.

    Class attributes:
        classes: the label tokens of a "classify" task, in a fixed order.
        params: parameter defaults (name -> int); an instance's `params` holds its own values.
        param_ranges: name -> (lowest, highest) allowed value, both included.
        param_help: name -> one line for a UI label.

    The preset each architecture trains with is in `transformer.presets.TASK_TUNING`.
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    teaches: ClassVar[str] = ""
    kind: ClassVar[str] = "seq"
    archs: ClassVar[tuple[str, ...]] = ()
    classes: ClassVar[tuple[str, ...]] = ()
    params: dict[str, Any] = {}
    param_ranges: ClassVar[dict[str, tuple[int, int]]] = {}
    param_help: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs):
        """Every task's `parse` refuses what is not text, or text longer than `MAX_INPUT_CHARS`,
        with the contract's ValueError (`check_input_text`), so each implementation may assume a
        short str (None or 5 used to end in TypeError, a pasted megabyte in a long parse)."""
        super().__init_subclass__(**kwargs)
        parse = cls.__dict__.get("parse")
        if parse is not None and not getattr(parse, "_checks_text", False):

            @functools.wraps(parse)
            def checked(self, text, *args, **kw):
                return parse(self, check_input_text(text), *args, **kw)

            checked._checks_text = True
            cls.parse = checked

    def __init__(self, **params: Any):
        defaults = type(self).params
        unknown = [k for k in params if k not in defaults]
        if unknown:
            known = ", ".join(defaults) or "none"
            raise ValueError(
                f"Task '{self.name}' has no parameter {', '.join(repr(k) for k in unknown)}: "
                f"its parameters are {known}."
            )
        values = dict(defaults)
        values.update(params)
        for key, (lo, hi) in self.param_ranges.items():
            values[key] = _whole_number(key, values[key], lo, hi)
        self.params: dict[str, Any] = values
        self.check_params()
        self.vocab: Vocab = self.build_vocab()

    # ----- what subclasses provide -------------------------------------------------------
    def check_params(self) -> None:
        """Raise ValueError when parameters clash with each other (each is already in range)."""

    def build_vocab(self) -> Vocab:
        raise NotImplementedError

    def sample(self, rng: random.Random) -> Example:
        """One random example. The default draws a question and solves it."""
        src = self.sample_src(rng)
        return Example(src, self.solve(src))

    def sample_src(self, rng: random.Random) -> list[str]:
        raise NotImplementedError

    def solve(self, src: list[str]) -> list[str]:
        """The correct answer to a question (also for questions a user typed)."""
        raise NotImplementedError

    def parse(self, text: str) -> list[str]:
        """User text -> src tokens. ValueError (one sentence) for unknown symbols or bad shape."""
        raise NotImplementedError

    @property
    def max_src_len(self) -> int:
        raise NotImplementedError

    @property
    def max_tgt_len(self) -> int:
        raise NotImplementedError

    # ----- shared behaviour ----------------------------------------------------------------
    def examples(self, n: int, seed: int) -> list[Example]:
        """n examples, the same ones for the same seed (one private random.Random)."""
        rng = random.Random(seed)
        return [self.sample(rng) for _ in range(n)]

    def format_src(self, tokens: list[str]) -> str:
        return self.vocab.joiner.join(tokens)

    def format_tgt(self, tokens: list[str]) -> str:
        return self.vocab.joiner.join(tokens)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def layouts(self) -> list[str]:
        """The batch layouts this task's architectures need, in order of `archs`."""
        return list(dict.fromkeys(LAYOUTS[a] for a in self.archs))

    def max_len(self, layout: str) -> int:
        """Longest row `make_batch` builds for this layout (use it as ModelConfig.max_len).

        lm:      [BOS] src [SEP] tgt  (the input; its last target is EOS)  -> S + T + 2
        seq2seq: encoder src, decoder [BOS] tgt                            -> max(S, T + 1)
        tag:     [CLS] src for classification, src for equal-length seq     -> S + 1 or S
        text:    [BOS] window[:-1]                                          -> window length
        """
        S, T = self.max_src_len, self.max_tgt_len
        if self.kind == "text":
            return S
        if layout == "lm":
            return S + T + 2
        if layout == "seq2seq":
            return max(S, T + 1)
        if layout == "tag":
            return S + 1 if self.kind == "classify" else S
        raise ValueError(f"Unknown layout '{layout}': choose one of lm, seq2seq, tag.")

    def check_arch(self, arch: str) -> None:
        if arch not in self.archs:
            raise ValueError(
                f"Task '{self.name}' cannot be trained with arch '{arch}': choose one of {', '.join(self.archs)}."
            )

    def preset(self, arch: str | None = None) -> Preset:
        """The tuned configuration for `arch` (default: the recommended one): `BASE_MODEL` and
        `BASE_TRAIN` with the task's `TASK_TUNING` overrides (transformer/presets.py)."""
        arch = arch or self.archs[0]
        self.check_arch(arch)
        family = arch_family(arch)
        model, train = dict(BASE_MODEL[family]), dict(BASE_TRAIN)
        target, seconds = 0.99, 60.0
        tuning = TASK_TUNING.get(self.name, {})
        for key in ("*", family, arch):
            over = tuning.get(key, {})
            model.update(over.get("model", {}))
            train.update(over.get("train", {}))
            target = over.get("target_acc", target)
            seconds = over.get("seconds", seconds)
        metric = "token_acc" if self.kind == "text" else "seq_acc"
        return Preset(model=model, train=train, target_acc=target, seconds=seconds, metric=metric)

    def model_config(self, arch: str | None = None, **overrides: Any) -> ModelConfig:
        """A validated ModelConfig for this task: vocabulary, lengths, preset sizes, overrides."""
        arch = arch or self.archs[0]
        values = dict(self.preset(arch).model)
        values.update(overrides)
        values.setdefault("max_len", self.max_len(LAYOUTS[arch]))
        return ModelConfig(vocab_size=len(self.vocab), arch=arch, pad_id=self.vocab.pad_id, **values).validate()

    def to_dict(self) -> dict:
        """Plain description for checkpoints; `tasks.task_from_dict` rebuilds the task."""
        return {"name": self.name, "params": dict(self.params)}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"

    # ----- helpers for parse ---------------------------------------------------------------
    def check_length(self, tokens: list[str], lo: int, hi: int, what: str = "symbols") -> list[str]:
        if not tokens:
            raise ValueError(f"The input is empty: type {lo if lo == hi else f'{lo} to {hi}'} {what}.")
        if not lo <= len(tokens) <= hi:
            wanted = f"exactly {lo}" if lo == hi else f"{lo} to {hi}"
            raise ValueError(
                f"This task was set up for {wanted} {what} and got {len(tokens)}: "
                "type a different input or change the task's length."
            )
        return tokens


def _whole_number(name: str, value: Any, lo: int, hi: int) -> int:
    """Accept 8, 8.0 or "8"; reject anything else with a sentence that gives the range."""
    number = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    if number is None or not lo <= number <= hi:
        raise ValueError(f"{name} must be a whole number from {lo} to {hi} (got {value!r}).")
    return number


def char_tokens(text: str, vocab: Vocab, keep_spaces: bool = False) -> list[str]:
    """Split text into single characters, dropping whitespace unless the task uses it,
    and check them against the vocabulary (unknown ones are named in the error)."""
    tokens = [c for c in text if keep_spaces or not c.isspace()]
    vocab.check(tokens)
    return tokens


__all__ = ["Task", "Example", "Preset", "KINDS", "MAX_INPUT_CHARS", "arch_family",
           "char_tokens", "check_input_text"]


class VariableLength:
    """Mixin for tasks whose inputs run from `min_length` to `length` symbols (min_length 0 =
    always `length`): the one rule both parameters obey, and the range `sample_src` draws from."""

    params: dict

    def check_params(self) -> None:
        if self.params["min_length"] > self.params["length"]:
            raise ValueError(
                f"min_length ({self.params['min_length']}) must not exceed length ({self.params['length']})."
            )

    @property
    def lengths(self) -> tuple[int, int]:
        return (self.params["min_length"] or self.params["length"], self.params["length"])
