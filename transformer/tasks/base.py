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
import hashlib
import random
from dataclasses import dataclass
from typing import Any, ClassVar

from ..config import LAYOUTS, RECURRENT_ARCHS, SEQ2SEQ_RNN_ARCHS, ModelConfig
from ..presets import BASE_MODEL, BASE_TRAIN, TASK_TUNING
from .vocab import Vocab

KINDS = ("seq", "classify", "text")
SPLITS = ("train", "val")
# Drawing from one split rejects examples of the other. With about 15% held out a validation
# example takes about 7 draws; this many failures in a row means the split is (nearly) empty.
MAX_SPLIT_DRAWS = 10_000
# Spaces up to this size are counted (and their held-out part enumerated) for a task's card.
SMALL_SPACE = 200_000


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


def small(count: int) -> int | None:
    """`count` when it is at most `SMALL_SPACE` (worth counting on a card), else None."""
    return count if count <= SMALL_SPACE else None


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}: use 'train' or 'val'.")
    return split


def arch_family(arch: str) -> str:
    return "recurrent" if arch in RECURRENT_ARCHS + SEQ2SEQ_RNN_ARCHS else "transformer"


class Task:
    """Base class of the task catalogue. Subclasses set the class attributes and implement
    `build_vocab`, `sample_src` (or `draw`), `solve`, `parse`, `max_src_len` and `max_tgt_len`;
    small spaces also `space_size` and `enumerate_srcs`, for the card's split note.

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

    def draw(self, rng: random.Random) -> Example:
        """One random example from the whole space, either split. The default draws a question
        and solves it; `sample` keeps only the draws that land in the split asked for."""
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

    def enumerate_srcs(self):
        """Every possible question, as an iterable of src token lists, or None when the task
        cannot list them. Only called when `space_size()` is at most `SMALL_SPACE`."""
        return None

    def space_size(self) -> int | None:
        """How many distinct questions the task can ask, when that is countable and at most
        `SMALL_SPACE`; None otherwise (too many to matter: a run cannot see them all)."""
        return None

    # ----- the split into training and validation ------------------------------------------
    # Held out means held out: every question belongs to exactly one part, decided by a stable
    # hash of its tokens, so no seed, length or batch size can put a validation question into
    # training (drawing both from one generator with different seeds did, for the small spaces).
    val_fraction: ClassVar[float] = 0.15

    def split_of(self, example: Example) -> str:
        """"train" or "val": the part of the example space `example` belongs to.

        blake2b of the src tokens (never Python's hash(), which is salted per process): the
        same question lands in the same part on every machine and in every run.
        """
        key = "\x1f".join(example.src).encode("utf-8")
        digest = hashlib.blake2b(key, digest_size=8, person=b"tlab-split").digest()
        return "val" if int.from_bytes(digest, "big") < self.val_fraction * 2**64 else "train"

    def sample(self, rng: random.Random, split: str = "train") -> Example:
        """One random example of `split` ("train" or "val"): draws until one lands there.

        Drawing with rejection keeps the task's own distribution within each part. ValueError
        (one sentence) when `MAX_SPLIT_DRAWS` draws in a row miss: the part is (nearly) empty.
        """
        check_split(split)
        for _ in range(MAX_SPLIT_DRAWS):
            example = self.draw(rng)
            if self.split_of(example) == split:
                return example
        part = "validation" if split == "val" else "training"
        raise ValueError(
            f"The task '{self.name}' with {self.params} has (almost) no questions in its {part} part, "
            "so it cannot be trained and checked honestly: make its inputs longer or more varied."
        )

    def examples(self, n: int, seed: int, split: str = "train") -> list[Example]:
        """n examples of `split`, the same ones for the same seed (one private random.Random)."""
        check_split(split)
        rng = random.Random(seed)
        return [self.sample(rng, split) for _ in range(n)]

    @functools.cached_property
    def held_out_count(self) -> int | None:
        """How many of the `space_size()` questions are in the validation part (None when the
        space is not counted or the task cannot list it). Hashes each question once."""
        size = self.space_size()
        srcs = self.enumerate_srcs() if size is not None else None
        if srcs is None:
            return None
        return sum(self.split_of(Example(list(src), [])) == "val" for src in srcs)

    def split_note(self) -> str:
        """One line for a task card: how big the question space is and how much is held out."""
        size, held = self.space_size(), self.held_out_count
        if size is None:
            return (f"More than {SMALL_SPACE:,} possible inputs: about {self.val_fraction:.0%} of them are held out "
                    "for validation and never trained on.")
        if held is None:
            return (f"{size:,} possible inputs; about {self.val_fraction:.0%} of them are held out for validation "
                    "and never trained on.")
        return (f"{size:,} possible inputs; {held:,} of them are held out for validation and never trained on, "
                f"so a long run may see all {size - held:,} of the others.")

    # ----- shared behaviour ----------------------------------------------------------------

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


__all__ = ["Task", "Example", "Preset", "KINDS", "SPLITS", "MAX_INPUT_CHARS", "arch_family",
           "char_tokens", "check_input_text", "check_split"]


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

    def length_range(self) -> range:
        lo, hi = self.lengths
        return range(lo, hi + 1)

    def strings_space(self, symbols, lengths) -> tuple[int | None, object]:
        """(how many strings over `symbols` have one of `lengths`, capped by `small`, and a
        generator of them all): the question space of tasks that ask any such string."""
        import itertools

        size = small(sum(len(symbols) ** n for n in lengths))
        return size, (list(p) for n in lengths for p in itertools.product(symbols, repeat=n))
