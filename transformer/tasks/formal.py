"""Two formal-language classification tasks where recurrence has the natural advantage.

Both need a running count over the whole input — how deep the brackets are nested, how many
ones have been seen — which a recurrent state carries for free and attention has to rebuild
from averages over positions. They keep the comparison between architectures honest: the
transformer is not best at everything.

    brackets   "(()())" -> balanced     "())(()" -> unbalanced
    parity     "10110"  -> odd          (the number of ones, odd or even)
"""
from __future__ import annotations

import random

from .algorithmic import DIGITS
from .base import Task, VariableLength, char_tokens
from .vocab import Vocab, describe_symbols

CLASSIFY_ARCHS = ("decoder", "encoder", "encoder-decoder", "lstm", "gru", "rnn", "lstm-seq2seq-attn", "lstm-seq2seq")
BRACKET_PAIRS = ("()", "[]", "{}")


class _LengthClassifyTask(VariableLength, Task):
    """A string of symbols of length min_length..length (0 = always `length`) and one label."""

    kind = "classify"
    archs = CLASSIFY_ARCHS
    param_ranges = {"length": (1, 64), "min_length": (0, 64)}

    def parse(self, text: str) -> list[str]:
        tokens = char_tokens(text, self.vocab)
        labels = set(self.classes)
        if labels & set(tokens):
            raise ValueError("Type only the input; the model supplies the label.")
        return self.check_length(tokens, 1, self.params["length"], "symbols")

    @property
    def max_src_len(self) -> int:
        return self.params["length"]

    @property
    def max_tgt_len(self) -> int:
        return 1


class Brackets(_LengthClassifyTask):
    """Half the examples are balanced; the other half are balanced strings with one defect:
    a bracket flipped (the counts no longer match), an adjacent pair swapped so the depth
    dips below zero (the counts still match, only the order is wrong) or, with several
    bracket types, a closing bracket of the wrong type. Lengths are even, so the easy
    "odd length" shortcut never applies."""

    name = "brackets"
    title = "Balanced brackets"
    description = "Is every bracket closed in the right order? (()()) -> balanced, ())(() -> unbalanced."
    teaches = "Counting nesting depth: a recurrent state does it naturally; attention must average over the prefix."
    params = {"length": 12, "min_length": 2, "n_types": 1}
    param_ranges = {"length": (2, 64), "min_length": (0, 64), "n_types": (1, 3)}
    param_help = {
        "length": "longest string, in brackets",
        "min_length": "shortest string (0 = always `length`)",
        "n_types": "kinds of bracket: 1 = (), 2 adds [], 3 adds {}",
    }
    classes = ("balanced", "unbalanced")

    def check_params(self) -> None:
        super().check_params()
        if self.params["length"] % 2:
            raise ValueError(f"length must be even for balanced brackets (got {self.params['length']}).")

    def build_vocab(self) -> Vocab:
        chars = [c for pair in BRACKET_PAIRS[: self.params["n_types"]] for c in pair]
        return Vocab(chars + list(self.classes), unit="character", describe=describe_symbols(chars))

    def _balanced(self, rng: random.Random, n: int) -> list[str]:
        """A random balanced string of even length n (a random walk that must end at depth 0)."""
        pairs = BRACKET_PAIRS[: self.params["n_types"]]
        out, stack = [], []
        for i in range(n):
            remaining = n - i
            must_close = len(stack) == remaining
            if stack and (must_close or rng.random() < 0.5):
                out.append(stack.pop()[1])
            else:
                pair = rng.choice(pairs)
                stack.append(pair)
                out.append(pair[0])
        return out

    def sample_src(self, rng: random.Random) -> list[str]:
        lo, hi = self.lengths
        n = 2 * rng.randint((lo + 1) // 2, hi // 2)
        src = self._balanced(rng, n)
        if rng.random() < 0.5:
            return src
        while True:
            bad = list(src)
            defect = rng.choice(["flip", "swap", "type"] if self.params["n_types"] > 1 else ["flip", "swap"])
            i = rng.randrange(n)
            if defect == "flip":
                bad[i] = {o: c for o, c in BRACKET_PAIRS}.get(bad[i]) or {c: o for o, c in BRACKET_PAIRS}[bad[i]]
            elif defect == "swap" and n >= 2:
                j = min(i, n - 2)
                bad[j], bad[j + 1] = bad[j + 1], bad[j]
            else:
                closers = [p[1] for p in BRACKET_PAIRS[: self.params["n_types"]]]
                if bad[i] in closers:
                    bad[i] = rng.choice([c for c in closers if c != bad[i]])
            if self.solve(bad) == ["unbalanced"]:
                return bad

    def space_size(self) -> int | None:
        """Every bracket string of an allowed even length: all of them are questions a person
        may ask, though the generator draws only balanced strings and those one defect away."""
        return self.strings_space(self._chars(), self._even_lengths())[0]

    def enumerate_srcs(self):
        return self.strings_space(self._chars(), self._even_lengths())[1]

    def _chars(self) -> list[str]:
        return [c for pair in BRACKET_PAIRS[: self.params["n_types"]] for c in pair]

    def _even_lengths(self) -> list[int]:
        return [n for n in self.length_range() if n % 2 == 0]

    def solve(self, src: list[str]) -> list[str]:
        opener = {c: o for o, c in BRACKET_PAIRS}
        stack: list[str] = []
        for ch in src:
            if ch in opener:
                if not stack or stack.pop() != opener[ch]:
                    return ["unbalanced"]
            else:
                stack.append(ch)
        return ["unbalanced" if stack else "balanced"]


class Parity(_LengthClassifyTask):
    """Lengths run from 1 by default, and that matters: a string of one bit teaches "the
    answer is the bit", two bits teach "a one flips it", and longer strings repeat that flip.
    Trained only on length 8, the gradient says almost nothing until the whole chain of
    flips is right, and neither a GRU nor a small transformer gets past a coin toss within
    a minute (measured while tuning the presets). The GRU comes first in `archs` because
    a running state is the right tool here: it is done in a few seconds, the transformer
    decoder takes tens of seconds to reach 95%."""

    name = "parity"
    title = "Parity"
    description = "Is the number of ones in a bit string even or odd? 10110 -> odd."
    teaches = "A task that needs every input bit: easy for a recurrent state, famously hard for attention."
    archs = ("gru", "lstm", "rnn", "decoder", "encoder", "encoder-decoder", "lstm-seq2seq-attn", "lstm-seq2seq")
    params = {"length": 8, "min_length": 1}
    param_help = {"length": "longest bit string", "min_length": "shortest bit string (0 = always `length`)"}
    classes = ("even", "odd")

    def build_vocab(self) -> Vocab:
        return Vocab(list(DIGITS[:2]) + list(self.classes), unit="character", describe="0 and 1")

    def sample_src(self, rng: random.Random) -> list[str]:
        return [rng.choice("01") for _ in range(rng.randint(*self.lengths))]

    def space_size(self) -> int | None:
        return self.strings_space("01", self.length_range())[0]

    def enumerate_srcs(self):
        return self.strings_space("01", self.length_range())[1]

    def solve(self, src: list[str]) -> list[str]:
        return ["odd" if src.count("1") % 2 else "even"]
