"""Sentiment of template sentences with negation: the encoder classifier's task.

Sentences are built from a few templates and a small word list, one token per word:

    the movie was really good                     -> positive
    the movie was not really good                 -> negative
    i do not like this book                       -> negative
    not a boring song                             -> positive
    the plot was dull but the acting was great    -> positive   (the clause after "but" decides)

Half of all sentences are negated, so counting good and bad words gets only half of them
right: the model has to read "not", and its attention from [CLS] shows it doing so. The
"but" template goes one step further: the same words decide nothing when they come first.
"""
from __future__ import annotations

import random
import re

from .base import Task, small
from .vocab import Vocab, describe_symbols

NOUNS = ("movie", "film", "book", "song", "meal", "show", "game", "story", "album", "plot", "acting")
POSITIVE = ("good", "great", "fun", "lovely", "brilliant", "wonderful", "funny", "clever", "charming")
NEGATIVE = ("bad", "boring", "awful", "dull", "terrible", "poor", "silly", "weak", "bland")
INTENSIFIERS = ("very", "really", "so", "quite", "truly", "extremely")
LIKE, DISLIKE = ("like", "love", "enjoy", "recommend"), ("hate", "dislike")
NEGATIONS = ("not", "never")
GLUE = ("the", "was", "i", "do", "this", "a", "but")
LABELS = ("positive", "negative")
WORDS = tuple(dict.fromkeys(GLUE + NEGATIONS + INTENSIFIERS + NOUNS + POSITIVE + NEGATIVE + LIKE + DISLIKE))
POLARITY = {**{w: 1 for w in POSITIVE + LIKE}, **{w: -1 for w in NEGATIVE + DISLIKE}}
_CONTRACTIONS = {"don't": "do not", "dont": "do not", "wasn't": "was not", "isn't": "was not", "is": "was"}


class Sentiment(Task):
    name = "sentiment"
    title = "Sentiment with negation"
    description = 'Is a short review positive or negative? "the movie was not good" -> negative.'
    teaches = "Classification with an encoder: attention from [CLS] finds the words that decide, including \"not\"."
    kind = "classify"
    archs = ("encoder", "decoder", "lstm", "gru", "rnn", "encoder-decoder", "lstm-seq2seq-attn", "lstm-seq2seq")
    params = {"but_percent": 20}
    param_ranges = {"but_percent": (0, 100)}
    param_help = {"but_percent": 'share of "X but Y" sentences, in percent (the hardest template)'}
    classes = LABELS

    def build_vocab(self) -> Vocab:
        return Vocab(WORDS + LABELS, joiner=" ", unit="word", describe=describe_symbols(sorted(WORDS)))

    # Each template returns (words, polarity): +1 positive, -1 negative.
    def _clause(self, rng: random.Random) -> tuple[list[str], int]:
        """the <noun> was [not|never] [very] <adjective>"""
        adj = rng.choice(POSITIVE + NEGATIVE)
        words, sign = ["the", rng.choice(NOUNS), "was"], POLARITY[adj]
        if rng.random() < 0.5:
            words.append(rng.choice(NEGATIONS))
            sign = -sign
        if rng.random() < 0.5:
            words.append(rng.choice(INTENSIFIERS))
        return words + [adj], sign

    def _verb(self, rng: random.Random) -> tuple[list[str], int]:
        """i [do not] [really] <like|hate> this <noun>"""
        verb = rng.choice(LIKE + DISLIKE)
        words, sign = ["i"], POLARITY[verb]
        if rng.random() < 0.5:
            words += ["do", "not"]
            sign = -sign
        if rng.random() < 0.3:
            words.append("really")
        return words + [verb, "this", rng.choice(NOUNS)], sign

    def _phrase(self, rng: random.Random) -> tuple[list[str], int]:
        """[not] a [very] <adjective> <noun>"""
        adj = rng.choice(POSITIVE + NEGATIVE)
        words, sign = [], POLARITY[adj]
        if rng.random() < 0.5:
            words.append("not")
            sign = -sign
        words.append("a")
        if rng.random() < 0.5:
            words.append(rng.choice(INTENSIFIERS))
        return words + [adj, rng.choice(NOUNS)], sign

    def sample_src(self, rng: random.Random) -> list[str]:
        if rng.random() * 100 < self.params["but_percent"]:
            first, _ = self._clause(rng)
            second, _ = self._clause(rng)
            return first + ["but"] + second
        return rng.choice([self._clause, self._clause, self._verb, self._phrase])(rng)[0]

    def space_size(self) -> int | None:
        """Distinct sentences the templates can make (no two templates make the same one)."""
        clause = len(POSITIVE + NEGATIVE) * len(NOUNS) * (1 + len(NEGATIONS)) * (1 + len(INTENSIFIERS))
        verb = len(LIKE + DISLIKE) * 2 * 2 * len(NOUNS)
        phrase = len(POSITIVE + NEGATIVE) * 2 * (1 + len(INTENSIFIERS)) * len(NOUNS)
        share = self.params["but_percent"]
        return small((clause + verb + phrase if share < 100 else 0) + (clause * clause if share > 0 else 0))

    def solve(self, src: list[str]) -> list[str]:
        """The rule the templates follow, stated directly: the clause after the last "but"
        decides; in it, each negation flips the polarity of the one sentiment word."""
        if "but" in src:
            src = src[len(src) - src[::-1].index("but"):]
        sign = 1
        for word in src:
            if word in NEGATIONS:
                sign = -sign
            elif word in POLARITY:
                return [LABELS[0] if sign * POLARITY[word] > 0 else LABELS[1]]
        raise ValueError("The sentence has no word that carries sentiment: use one like good, bad, like or hate.")

    def parse(self, text: str) -> list[str]:
        words = re.sub(r"[.,!?;:]", " ", text.lower()).split()
        words = " ".join(_CONTRACTIONS.get(w, w) for w in words).split()
        if not words:
            raise ValueError("The input is empty: type a short review, like \"the movie was not good\".")
        self.vocab.check(words)
        if set(words) & set(LABELS):
            raise ValueError("Type only the review; the model supplies the label.")
        if len(words) > self.max_src_len:
            raise ValueError(f"Type at most {self.max_src_len} words: the model was trained on short sentences.")
        self.solve(words)  # a sentence without any sentiment word has no answer
        return words

    @property
    def max_src_len(self) -> int:
        return 13  # "the plot was not very good but the song was never so bad"

    @property
    def max_tgt_len(self) -> int:
        return 1
