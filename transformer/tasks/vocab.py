"""A vocabulary: the fixed list of tokens a task can speak, and the map to integer ids.

Every vocabulary starts with the same five special tokens, so their ids are the same in every
task and a model's padding id is always 0:

    id  token    used for
    0   <pad>    filling short rows of a batch (never a target)
    1   <bos>    "begin": the first input of a language model and of a decoder
    2   <eos>    "end": the model predicts it to say the answer is complete
    3   <sep>    between the question and the answer in the one-sequence ("lm") layout
    4   <cls>    first token of an encoder's input; the class label is predicted there

Tokens are strings: single characters for character-level tasks ("a", "7", " "), whole words
for word-level ones ("movie", "Nov"). `joiner` is what goes between tokens when they are
shown as text: "" for characters, " " for words.
"""
from __future__ import annotations

from typing import Iterable, Sequence

PAD, BOS, EOS, SEP, CLS = "<pad>", "<bos>", "<eos>", "<sep>", "<cls>"
SPECIALS = (PAD, BOS, EOS, SEP, CLS)

_NAMED_CHARS = {" ": "space", "\n": "newline", "\t": "tab"}


def describe_symbols(symbols: Iterable[str], limit: int = 60) -> str:
    """A short human description of a symbol set, for error messages.

    Characters collapse into ranges ("a-z, 0-9 and space"); words are listed ("good, bad and
    not"), cut after `limit` of them.
    """
    symbols = [s for s in symbols if s not in SPECIALS]
    chars = sorted(s for s in symbols if len(s) == 1)
    words = [s for s in symbols if len(s) != 1]
    parts: list[str] = []
    # Runs of three or more consecutive letters or digits read better as a range: "a-z".
    # Punctuation is quoted so that "',' and '.'" cannot be misread.
    run: list[str] = []
    for ch in chars + [None]:
        if run and (ch is None or ord(ch) != ord(run[-1]) + 1 or ch in _NAMED_CHARS):
            if len(run) >= 3 and all(c.isalnum() for c in run):
                parts.append(f"{run[0]}-{run[-1]}")
            else:
                parts.extend(c if c.isalnum() else repr(c) for c in run)
            run = []
        if ch is not None:
            if ch in _NAMED_CHARS:
                parts.append(_NAMED_CHARS[ch])
            else:
                run.append(ch)
    named = [p for p in parts if p in _NAMED_CHARS.values()]
    parts = [p for p in parts if p not in named] + named  # "a-z and space", not "space and a-z"
    if len(words) > limit:
        parts.extend(words[:limit] + [f"{len(words) - limit} more"])
    else:
        parts.extend(words)
    if not parts:
        return "nothing"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


class Vocab:
    """Maps tokens to ids and back.

    Args:
        symbols: the task's own tokens, in a fixed order (their ids follow the specials).
        joiner: text placed between tokens by `decode` ("" for characters, " " for words).
        unit: what a token is called in error messages ("character", "word", "token").
        describe: how to describe the known symbols in an error message; defaults to
            `describe_symbols(symbols)`, e.g. "a-z and space".
    """

    def __init__(self, symbols: Sequence[str], joiner: str = "", unit: str = "character",
                 describe: str | None = None):
        symbols = list(symbols)
        duplicates = sorted({s for s in symbols if symbols.count(s) > 1} | (set(symbols) & set(SPECIALS)))
        if duplicates:
            raise ValueError(f"Vocabulary symbols must be distinct and not special tokens: {duplicates}.")
        self.tokens: list[str] = list(SPECIALS) + symbols
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.tokens)}
        self.symbols: list[str] = symbols
        self.joiner = joiner
        self.unit = unit
        self.description = describe if describe is not None else describe_symbols(symbols)
        self.pad_id, self.bos_id, self.eos_id, self.sep_id, self.cls_id = (self.stoi[s] for s in SPECIALS)
        self.special_ids = frozenset(range(len(SPECIALS)))

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __repr__(self) -> str:
        return f"Vocab({len(self.tokens)} tokens: {self.description})"

    def check(self, tokens: Iterable[str]) -> None:
        """Raise ValueError naming every token this vocabulary does not know (once each, in order)."""
        unknown: list[str] = []
        for t in tokens:
            if t not in self.stoi and t not in unknown:
                unknown.append(t)
        if unknown:
            unit = self.unit + ("s" if len(unknown) > 1 else "")
            names = ", ".join(repr(t) for t in unknown[:12]) + (", ..." if len(unknown) > 12 else "")
            raise ValueError(f"Unknown {unit} {names}: this task only knows {self.description}.")

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Token strings -> ids. Raises ValueError naming any unknown token."""
        tokens = list(tokens)
        self.check(tokens)
        return [self.stoi[t] for t in tokens]

    def to_tokens(self, ids: Iterable[int]) -> list[str]:
        """Ids -> token strings, specials included."""
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.tokens):
                raise ValueError(f"Token id {i} is outside this vocabulary of {len(self.tokens)} tokens.")
            out.append(self.tokens[i])
        return out

    def decode(self, ids: Iterable[int], skip_special: bool = True) -> str:
        """Ids -> display text, joined by `joiner`. Special tokens are dropped unless asked for."""
        tokens = self.to_tokens(ids)
        if skip_special:
            tokens = [t for t in tokens if t not in SPECIALS]
        return self.joiner.join(tokens)
