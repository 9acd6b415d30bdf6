"""Algorithmic sequence tasks: each has one exact answer that a short program computes.

They are the transformer's "hello world" because the right attention pattern is known in
advance, so a heatmap can be checked by eye:

    copy       abcd -> abcd    each answer token looks at the same position (a diagonal)
    reverse    abcd -> dcba    ... at the mirrored position (an anti-diagonal)
    sort       dbca -> abcd    ... at the next-larger symbol, wherever it is
    addition   23+89 -> 112    ... at the two aligned digits and the ones to their right (carry)
    induction  a random sequence, then the same again: after two layers, a head that finds
               the previous occurrence of the current token and copies what followed it
    recall     key-value pairs, then a key: the value stored with it, however far back

Symbols are lowercase letters so the tasks read like text; `n_symbols` picks how many.
"""
from __future__ import annotations

import itertools
import math
import random
import re
import string

from .base import Task, VariableLength, char_tokens, small
from .vocab import Vocab

LETTERS = string.ascii_lowercase
DIGITS = string.digits

SEQ_ARCHS = ("decoder", "encoder-decoder", "encoder", "lstm-seq2seq-attn", "lstm-seq2seq", "lstm", "gru", "rnn")


class SymbolSequenceTask(VariableLength, Task):
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

    def build_vocab(self) -> Vocab:
        return Vocab(LETTERS[: self.params["n_symbols"]], unit="character")

    def sample_src(self, rng: random.Random) -> list[str]:
        n = rng.randint(*self.lengths)
        return [rng.choice(self.vocab.symbols) for _ in range(n)]

    def space_size(self) -> int | None:
        return self.strings_space(self.vocab.symbols, self.length_range())[0]

    def enumerate_srcs(self):
        return self.strings_space(self.vocab.symbols, self.length_range())[1]

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

    def solve(self, src: list[str]) -> list[str]:
        return list(src)


class Reverse(SymbolSequenceTask):
    name = "reverse"
    title = "Reverse"
    description = "Write the input string backwards: abcd -> dcba."
    teaches = "Attention can look anywhere: outputs attend to the mirrored input position (an anti-diagonal)."

    def solve(self, src: list[str]) -> list[str]:
        return src[::-1]


class Sort(SymbolSequenceTask):
    name = "sort"
    title = "Sort"
    description = "Put the letters in alphabetical order: dbca -> abcd (repeats allowed)."
    teaches = "Attention by content, not position: each output looks for the next-larger letter wherever it is."

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

    def space_size(self) -> int | None:
        return small(sum(math.perm(self.params["n_symbols"], n) for n in self.length_range()))

    def enumerate_srcs(self):
        return (list(p) for n in self.length_range() for p in itertools.permutations(self.vocab.symbols, n))


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

    def build_vocab(self) -> Vocab:
        return Vocab(list(DIGITS) + ["+"], unit="character")

    def sample_src(self, rng: random.Random) -> list[str]:
        n = self.params["n_digits"]
        a, b = rng.randrange(10**n), rng.randrange(10**n)
        return list(f"{a:0{n}d}+{b:0{n}d}")

    def space_size(self) -> int | None:
        return small(10 ** (2 * self.params["n_digits"]))

    def enumerate_srcs(self):
        n = self.params["n_digits"]
        return (list(f"{a:0{n}d}+{b:0{n}d}") for a in range(10**n) for b in range(10**n))

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
    """Associative recall: "a1 b7 c3 ? b" -> "7".

    Each key-value pair is ONE token ("b7"), so the lookup is a single attention step that a
    heatmap shows plainly: the query "b" attends to "b7" and copies its digit. (With keys
    and values as separate tokens, a decoder first has to move each key onto the value
    after it — an induction-head circuit — and a small one sits on a long plateau, guessing
    any digit it has seen, for far longer than a minute.) Keys are distinct letters.

    Attention reads the pair from any distance; a recurrent model must keep every pair in its
    hidden state until the question comes, and with more pairs (`n_pairs`) it runs out.
    """

    name = "recall"
    title = "Associative recall (long-range copy)"
    description = "Read key-value pairs, then give the value of the asked key: a1 b7 c3 ? b -> 7."
    teaches = "Attention retrieves by content from any distance; recurrent memory fades and fills up."
    kind = "classify"
    archs = ("decoder", "encoder", "encoder-decoder", "lstm-seq2seq-attn", "lstm-seq2seq", "lstm", "gru", "rnn")
    params = {"n_pairs": 4, "n_values": 10}
    param_ranges = {"n_pairs": (1, 26), "n_values": (2, 10)}
    param_help = {"n_pairs": "key-value pairs to remember", "n_values": "different values (digits)"}

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(DIGITS[: self.params["n_values"]])

    def build_vocab(self) -> Vocab:
        pairs = [k + v for k in LETTERS for v in self.classes]
        return Vocab(pairs + list(LETTERS) + ["?"] + list(self.classes), joiner=" ", unit="token",
                     describe="key-value pairs such as a1 or b7, a question mark and a key letter")

    def sample_src(self, rng: random.Random) -> list[str]:
        keys = rng.sample(LETTERS, self.params["n_pairs"])
        return [k + rng.choice(self.classes) for k in keys] + ["?", rng.choice(keys)]

    def space_size(self) -> int | None:
        # Ordered distinct keys, a value for each, and which of them is asked.
        k = self.params["n_pairs"]
        return small(math.perm(len(LETTERS), k) * self.params["n_values"] ** k * k)

    def solve(self, src: list[str]) -> list[str]:
        values = {pair[0]: pair[1] for pair in src[:-2]}
        return [values[src[-1]]]

    def parse(self, text: str) -> list[str]:
        tokens = re.findall(r"[a-z][0-9]|\S", text.lower())
        self.vocab.check(tokens)
        shape = "Type key-value pairs, a question mark and a key, like a1 b7 c3 ? b"
        pairs, query = tokens[:-2], tokens[-2:]
        if len(tokens) < 3 or query[0] != "?" or query[1] not in LETTERS or not all(len(p) == 2 for p in pairs):
            raise ValueError(shape + ".")
        keys = [p[0] for p in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError("Each key may appear only once: remove the repeated key.")
        if len(keys) > self.params["n_pairs"]:
            raise ValueError(f"This task was set up for at most {self.params['n_pairs']} pairs: remove some pairs.")
        if query[1] not in keys:
            raise ValueError(f"The key '{query[1]}' after the question mark is not among the keys: ask for one of {', '.join(keys)}.")
        return tokens

    @property
    def max_src_len(self) -> int:
        return self.params["n_pairs"] + 2

    @property
    def max_tgt_len(self) -> int:
        return 1
