"""Character language model: predict every next character of a text.

The default text is the project's own explanation of transformers (`corpus.py`); a user can
bring any text with `CharLM(text=...)` (or `get_task("charlm", text=...)`), and the
vocabulary is then the set of characters that text uses.

An example is a window of `length` consecutive characters at a random offset. There is no
separate question and answer, so `Example.tgt` is empty and every position is scored: the
batch input is [BOS] + window[:-1] and the target is the window itself.

Held out, as is standard for character models (nanoGPT's Shakespeare split, for one): training
windows lie wholly in the first 90% of the text, validation windows in the last 10% (at least
one window's worth, so a short text still has something to validate on). Windows cut anywhere
from one text overlap, so drawing both from the whole text put nearly every validation window
into training.
"""
from __future__ import annotations

import random

from .base import Example, Task, check_split
from .corpus import CORPUS
from .vocab import Vocab

MAX_DISTINCT_CHARS = 200
MAX_TEXT_CHARS = 2_000_000  # a long novel; more only slows sampling and fills checkpoints
VAL_REDRAWS = 50  # tries for a validation window that the training part does not contain


class CharLM(Task):
    name = "charlm"
    title = "Character language model"
    description = "Predict the next character of a text (the app's own text about transformers, or yours)."
    teaches = "Next-token prediction, the loss every GPT is trained on, and how temperature changes generated text."
    kind = "text"
    archs = ("decoder", "lstm", "gru", "rnn")
    params = {"length": 64}
    param_ranges = {"length": (8, 256)}
    param_help = {"length": "context window, in characters"}

    def __init__(self, text: str | None = None, **params):
        if text is not None and not isinstance(text, str):
            raise ValueError("The text must be a string of characters.")
        if text is not None and len(text) > MAX_TEXT_CHARS:
            raise ValueError(f"The text has {len(text):,} characters; keep it under {MAX_TEXT_CHARS:,} (cut it shorter).")
        self.custom_text = text is not None
        self.text = CORPUS if text is None else text
        super().__init__(**params)

    val_fraction = 0.1

    def check_params(self) -> None:
        # Two windows' worth to train on and one held out for validation.
        need = max(200, 3 * self.params["length"])
        if len(self.text) < need:
            raise ValueError(
                f"The text has {len(self.text)} characters; paste at least {need}, so the model has something to "
                "learn from and the last part to be tested on."
            )
        distinct = len(set(self.text))
        if distinct > MAX_DISTINCT_CHARS:
            raise ValueError(
                f"The text uses {distinct} different characters; keep it under {MAX_DISTINCT_CHARS} "
                "(for example, remove emoji or text in other scripts)."
            )

    def build_vocab(self) -> Vocab:
        return Vocab(sorted(set(self.text)), unit="character")

    @property
    def split_at(self) -> int:
        """Where the held-out part begins: the last 10% of the text, and at least one window."""
        return len(self.text) - max(round(len(self.text) * self.val_fraction), self.params["length"])

    def draw(self, rng: random.Random) -> Example:
        """A window anywhere in the text (either part, or across the boundary)."""
        n = self.params["length"]
        start = rng.randrange(len(self.text) - n + 1)
        return Example(list(self.text[start : start + n]), [])

    def sample(self, rng: random.Random, split: str = "train") -> Example:
        """A window wholly inside the first 90% ("train") or the last 10% ("val") of the text.

        A validation window whose characters also occur in the training part (a text that
        repeats itself) is drawn again, a few times: a model could have learned it by heart. A
        text that only repeats itself ("la la la ...") keeps such windows, as nothing else is
        left to validate on.
        """
        check_split(split)
        n, cut = self.params["length"], self.split_at
        if split == "train":
            start = rng.randrange(cut - n + 1)
            return Example(list(self.text[start : start + n]), [])
        train_text = self.text[:cut]
        for _ in range(VAL_REDRAWS):
            start = rng.randrange(cut, len(self.text) - n + 1)
            window = self.text[start : start + n]
            if window not in train_text:
                break
        return Example(list(window), [])

    def split_of(self, example: Example) -> str:
        """"train" when the window's characters occur in the training part, else "val"."""
        return "train" if "".join(example.src) in self.text[: self.split_at] else "val"

    def split_note(self) -> str:
        cut = self.split_at
        return (f"Trains on the first {cut:,} characters of the text; the last {len(self.text) - cut:,} "
                "are held out for validation and never trained on.")

    def solve(self, src: list[str]) -> list[str]:
        return []  # nothing to solve: the next character is whatever the text says

    def parse(self, text: str) -> list[str]:
        """A prompt to continue. Lowercased when the training text has no capital letters."""
        if not any(c.isupper() for c in self.vocab.symbols):
            text = text.lower()
        tokens = list(text)
        self.vocab.check(tokens)
        if len(tokens) > self.params["length"]:
            raise ValueError(
                f"The prompt has {len(tokens)} characters; this model sees at most {self.params['length']}: shorten it."
            )
        return tokens

    @property
    def max_src_len(self) -> int:
        return self.params["length"]

    @property
    def max_tgt_len(self) -> int:
        return 0

    def to_dict(self) -> dict:
        out = super().to_dict()
        if self.custom_text:
            out["text"] = self.text
        return out
