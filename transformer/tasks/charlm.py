"""Character language model: predict every next character of a text.

The default text is the project's own explanation of transformers (`corpus.py`); a user can
bring any text with `CharLM(text=...)` (or `get_task("charlm", text=...)`), and the
vocabulary is then the set of characters that text uses.

An example is a window of `length` consecutive characters at a random offset. There is no
separate question and answer, so `Example.tgt` is empty and every position is scored: the
batch input is [BOS] + window[:-1] and the target is the window itself.
"""
from __future__ import annotations

import random

from .base import Example, Task
from .corpus import CORPUS
from .vocab import Vocab

MAX_DISTINCT_CHARS = 200
MAX_TEXT_CHARS = 2_000_000  # a long novel; more only slows sampling and fills checkpoints


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

    def check_params(self) -> None:
        need = max(200, 2 * self.params["length"])
        if len(self.text) < need:
            raise ValueError(
                f"The text has {len(self.text)} characters; paste at least {need} so the model has something to learn."
            )
        distinct = len(set(self.text))
        if distinct > MAX_DISTINCT_CHARS:
            raise ValueError(
                f"The text uses {distinct} different characters; keep it under {MAX_DISTINCT_CHARS} "
                "(for example, remove emoji or text in other scripts)."
            )

    def build_vocab(self) -> Vocab:
        return Vocab(sorted(set(self.text)), unit="character")

    def sample(self, rng: random.Random) -> Example:
        n = self.params["length"]
        start = rng.randrange(len(self.text) - n + 1)
        return Example(list(self.text[start : start + n]), [])

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
