"""Algorithmic sequence tasks: each has one exact answer that a short program computes.

They are the transformer's "hello world" because the right attention pattern is known in
advance, so a heatmap can be checked by eye:

    copy       abcd -> abcd    each answer token looks at the same position (a diagonal)
    reverse    abcd -> dcba    ... at the mirrored position (an anti-diagonal)
    sort       dbca -> abcd    ... at the next-larger symbol, wherever it is
    addition   23+89 -> 112    ... at the two aligned digits and the ones to their right (carry)
    induction  a random sequence, then the same again: after two layers, a head that finds
               the previous occurrence of the current token and copies what followed it
    recall     key-value pairs, then some keys: the values stored next to them, however far back

Symbols are lowercase letters so the tasks read like text; `n_symbols` picks how many.
"""
from __future__ import annotations

import random
import string

from .base import Task, char_tokens
from .vocab import Vocab

LETTERS = string.ascii_lowercase
DIGITS = string.digits

SEQ_ARCHS = ("decoder", "encoder-decoder", "encoder", "lstm-seq2seq-attn", "lstm-seq2seq", "lstm", "gru", "rnn")


class SymbolSequenceTask(Task):
    """Shared base of copy, reverse, sort and induction: a random string of letters whose
    length is drawn from min_length..length (min_length 0 means every string has `length`)."""

    kind = "seq"
    archs = SEQ_ARCHS
    params = {"length": 8, "min_length": 0, "n_symbols": 10}
    param_ranges = {"length": (1, 64), "min_length": (0, 64), "n_symbols": (2, 26)}
    param_help = {
        "length": "longest input, in symbols",
        "min_length": "shortest input (0 = always `length`)",
        "n_symbols": "how many different letters",
    }

    def check_params(self) -> None:
        if self.params["min_length"] > self.params["length"]:
            raise ValueError(
                f"min_length ({self.params['min_length']}) must not exceed length ({self.params['length']})."
            )

    @property
    def lengths(self) -> tuple[int, int]:
        return (self.params["min_length"] or self.params["length"], self.params["length"])

    def build_vocab(self) -> Vocab:
        return Vocab(LETTERS[: self.params["n_symbols"]], unit="character")

    def sample_src(self, rng: random.Random) -> list[str]:
        n = rng.randint(*self.lengths)
        return [rng.choice(self.vocab.symbols) for _ in range(n)]

    def parse(self, text: str) -> list[str]:
        # Shorter inputs than the model was trained on are allowed on purpose: whether it
        # generalises to them is itself a lesson.
        return self.check_length(char_tokens(text, self.vocab), 1, self.params["length"], "letters")

    @property
    def max_src_len(self) -> int:
        return self.params["length"]

    @property
    def max_tgt_len(self) -> int:
        return self.params["length"]


class Copy(SymbolSequenceTask):
    name = "copy"
    title = "Copy"
    description = "Repeat the input string exactly: abcd -> abcd."
    teaches = "Attention as lookup by position: each output looks at the input symbol in the same place (a diagonal)."
    tuning = {
        "transformer": {"train": {"steps": 600}, "seconds": 15},
    }

    def solve(self, src: list[str]) -> list[str]:
        return list(src)


class Reverse(SymbolSequenceTask):
    name = "reverse"
    title = "Reverse"
    description = "Write the input string backwards: abcd -> dcba."
    teaches = "Attention can look anywhere: outputs attend to the mirrored input position (an anti-diagonal)."
    tuning = {
        "transformer": {"train": {"steps": 800}, "seconds": 20},
    }

    def solve(self, src: list[str]) -> list[str]:
        return src[::-1]


class Sort(SymbolSequenceTask):
    name = "sort"
    title = "Sort"
    description = "Put the letters in alphabetical order: dbca -> abcd (repeats allowed)."
    teaches = "Attention by content, not position: each output looks for the next-larger letter wherever it is."
    tuning = {
        "transformer": {"train": {"steps": 800}, "seconds": 20},
    }

    def solve(self, src: list[str]) -> list[str]:
        return sorted(src)


class Induction(SymbolSequenceTask):
    """Random distinct tokens, then the same tokens again. The first copy is pure noise, so
    only the second copy (the answer) is scored. Lengths vary so that "look a fixed distance
    back" does not work: the model has to find the earlier occurrence of the current token
    and copy its successor, which takes two layers (a previous-token head feeding an
    induction head) and appears suddenly, after a loss plateau."""

    name = "induction"
    title = "Repeated random tokens (induction)"
    description = "A random sequence of distinct letters, repeated: the model must predict the repeat."
    teaches = "Induction heads: a two-layer circuit that finds where the current token was seen before and copies what came next."
    archs = ("decoder", "lstm", "gru", "rnn")
    params = {"length": 12, "min_length": 6, "n_symbols": 26}
    tuning = {
        "transformer": {"model": {"n_heads": 2, "pos_encoding": "rope"}, "train": {"steps": 1200}, "seconds": 40},
    }

    def check_params(self) -> None:
        super().check_params()
        if self.params["n_symbols"] < self.params["length"]:
            raise ValueError(
                f"induction uses distinct tokens, so n_symbols ({self.params['n_symbols']}) "
                f"must be at least length ({self.params['length']})."
            )

    def sample_src(self, rng: random.Random) -> list[str]:
        # Distinct tokens make "where did I see this token before" unambiguous.
        return rng.sample(self.vocab.symbols, rng.randint(*self.lengths))

    def solve(self, src: list[str]) -> list[str]:
        return list(src)


class Addition(Task):
    """Two n-digit numbers, zero-padded to n digits ("07+95"), and their sum zero-padded to
    n+1 digits ("102"). Fixed widths keep digit i of each operand at the same position in
    every example, so "look at the aligned digits" is a single attention pattern.

    The answer is written in the natural order, most significant digit first. That is harder
    than it looks: the first answer digit depends on a carry that may ripple up from the
    last digits, so the model must look ahead across the whole sum before writing it.
    """

    name = "addition"
    title = "Addition with carries"
    description = "Add two multi-digit numbers: 23+89 -> 112 (zero-padded to a fixed width: 07+05 -> 012)."
    teaches = "Attention to aligned digits and to the carry coming from the right."
    kind = "seq"
    archs = ("decoder", "encoder-decoder", "lstm-seq2seq-attn", "lstm-seq2seq", "lstm", "gru", "rnn")
    params = {"n_digits": 2}
    param_ranges = {"n_digits": (1, 10)}
    param_help = {"n_digits": "digits per number"}
    # Learning is a staircase (a plateau near 70% of digits, then the carry clicks); learned
    # positions and a high rate get there in under a minute for two digits. Three digits
    # take several minutes at this size.
    tuning = {
        "transformer": {"model": {"pos_encoding": "learned"}, "train": {"steps": 1500, "lr": 6e-3}, "seconds": 45},
    }

    def build_vocab(self) -> Vocab:
        return Vocab(list(DIGITS) + ["+"], unit="character")

    def sample_src(self, rng: random.Random) -> list[str]:
        n = self.params["n_digits"]
        a, b = rng.randrange(10**n), rng.randrange(10**n)
        return list(f"{a:0{n}d}+{b:0{n}d}")

    def solve(self, src: list[str]) -> list[str]:
        a, b = "".join(src).split("+")
        return list(f"{int(a) + int(b):0{self.params['n_digits'] + 1}d}")

    def parse(self, text: str) -> list[str]:
        n = self.params["n_digits"]
        tokens = char_tokens(text, self.vocab)
        parts = "".join(tokens).split("+")
        if len(parts) != 2 or not all(parts):
            raise ValueError("Type two numbers joined by a plus sign, like 123+45.")
        if any(len(p) > n for p in parts):
            raise ValueError(f"This task adds numbers of at most {n} digits: type shorter numbers or raise n_digits.")
        return list(f"{int(parts[0]):0{n}d}+{int(parts[1]):0{n}d}")

    @property
    def max_src_len(self) -> int:
        return 2 * self.params["n_digits"] + 1

    @property
    def max_tgt_len(self) -> int:
        return self.params["n_digits"] + 1


class Recall(Task):
    """Associative recall: "a1 b7 c3 ? b a" -> "7 1". Keys are distinct letters, values are
    digits; after the question mark come `n_queries` of the keys, and the answer is their
    values in that order. Each value sits next to its key anywhere in the sequence, so a
    model needs memory of every pair: attention looks it up directly (a head that matches the
    query against the token before each value, like an induction head), while a recurrent
    model must squeeze all pairs into its hidden state — with more pairs, it runs out.

    Several queries per example (multi-query recall, as in Arora et al. 2023, "Zoology") give
    the lookup circuit several training signals per example; with a single query a small
    transformer sits on a long plateau, guessing one of the values it has seen."""

    name = "recall"
    title = "Associative recall (long-range copy)"
    description = "Read key-value pairs, then give the values of the asked keys: a1 b7 c3 ? b a -> 71."
    teaches = "Attention retrieves by content from any distance; recurrent memory fades and fills up."
    kind = "seq"
    archs = ("decoder", "encoder-decoder", "lstm-seq2seq-attn", "lstm-seq2seq", "lstm", "gru", "rnn")
    params = {"n_pairs": 6, "n_queries": 3, "n_values": 10}
    param_ranges = {"n_pairs": (1, 26), "n_queries": (1, 26), "n_values": (2, 10)}
    param_help = {
        "n_pairs": "key-value pairs to remember",
        "n_queries": "keys asked for after the ?",
        "n_values": "different values (digits)",
    }
    tuning = {
        "transformer": {"train": {"steps": 1000}, "seconds": 30},
    }

    def check_params(self) -> None:
        if self.params["n_queries"] > self.params["n_pairs"]:
            raise ValueError(
                f"n_queries ({self.params['n_queries']}) must not exceed n_pairs ({self.params['n_pairs']}): "
                "each query asks for a different key."
            )

    def build_vocab(self) -> Vocab:
        return Vocab(list(LETTERS) + list(DIGITS[: self.params["n_values"]]) + ["?"], unit="character")

    def sample_src(self, rng: random.Random) -> list[str]:
        keys = rng.sample(LETTERS, self.params["n_pairs"])
        values = [rng.choice(DIGITS[: self.params["n_values"]]) for _ in keys]
        src = [t for pair in zip(keys, values) for t in pair]
        return src + ["?"] + rng.sample(keys, self.params["n_queries"])

    def solve(self, src: list[str]) -> list[str]:
        q = src.index("?")
        pairs = dict(zip(src[0:q:2], src[1:q:2]))
        return [pairs[k] for k in src[q + 1 :]]

    def format_src(self, tokens: list[str]) -> str:
        q = tokens.index("?")
        pairs = ["".join(tokens[i : i + 2]) for i in range(0, q, 2)]
        return " ".join(pairs + tokens[q:])

    def parse(self, text: str) -> list[str]:
        tokens = char_tokens(text, self.vocab)
        shape = "Type key-value pairs, a question mark and keys to look up, like a1 b7 c3 ? b a"
        if tokens.count("?") != 1:
            raise ValueError(shape + ".")
        q = tokens.index("?")
        body, queries = tokens[:q], tokens[q + 1 :]
        if not body or len(body) % 2 or not queries:
            raise ValueError(shape + ".")
        keys, values = body[0::2], body[1::2]
        if not all(k in LETTERS for k in keys + queries) or not all(v in DIGITS for v in values):
            raise ValueError(shape + ": keys are letters and values are digits.")
        if len(set(keys)) != len(keys):
            raise ValueError("Each key may appear only once before the question mark: remove the repeated key.")
        if len(keys) > self.params["n_pairs"] or len(queries) > self.params["n_queries"]:
            raise ValueError(
                f"This task was set up for at most {self.params['n_pairs']} pairs and "
                f"{self.params['n_queries']} keys to look up: shorten the input."
            )
        missing = [k for k in dict.fromkeys(queries) if k not in keys]
        if missing:
            raise ValueError(
                f"The key{'s' if len(missing) > 1 else ''} {', '.join(repr(k) for k in missing)} after the "
                f"question mark {'are' if len(missing) > 1 else 'is'} not among the keys: ask for one of {', '.join(keys)}."
            )
        return tokens

    @property
    def max_src_len(self) -> int:
        return 2 * self.params["n_pairs"] + 1 + self.params["n_queries"]

    @property
    def max_tgt_len(self) -> int:
        return self.params["n_queries"]
