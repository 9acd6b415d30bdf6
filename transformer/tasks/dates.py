"""Date-format translation, the encoder-decoder's task: "22 Nov 2026" -> "2026-11-22".

It is a tiny machine translation problem with a known word alignment, so cross-attention can
be checked by eye:

    source (encoder)  2 2 _ Nov _ 2 0 2 6        (_ is a space; the month is ONE token)
    target (decoder)  2 0 2 6 - 1 1 - 2 2

The year digits copy across in order (a diagonal block), the day digits come from the start
of the source (the alignment crosses over), and both month digits "1 1" must look at the
single token "Nov" — one source token translating into two target tokens, which is where a
plain diagonal alignment is not enough. Days have no leading zero in the source ("7 Mar"),
so the decoder must also learn when to write the "0" of "03-07" that has no source at all.
"""
from __future__ import annotations

import datetime
import random
import re

from .base import Task, small
from .vocab import Vocab

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
FULL_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
               "september", "october", "november", "december")
_DATE = re.compile(r"^(\d{1,2}) ([A-Za-z]+) (\d{4})$")


class Dates(Task):
    name = "dates"
    title = "Date format translation"
    description = 'Rewrite a date as ISO 8601: "22 Nov 2026" -> "2026-11-22" (month names are single tokens).'
    teaches = "Cross-attention as alignment: year to year, day to day, and two month digits from one month word."
    kind = "seq"
    archs = ("encoder-decoder", "lstm-seq2seq-attn", "lstm-seq2seq", "decoder", "lstm", "gru", "rnn")
    params = {"min_year": 1950, "max_year": 2049}
    param_ranges = {"min_year": (1000, 9999), "max_year": (1000, 9999)}
    param_help = {"min_year": "earliest year", "max_year": "latest year"}

    def check_params(self) -> None:
        if self.params["min_year"] > self.params["max_year"]:
            raise ValueError(
                f"min_year ({self.params['min_year']}) must not be after max_year ({self.params['max_year']})."
            )

    def build_vocab(self) -> Vocab:
        return Vocab(list("0123456789 -") + list(MONTHS), unit="character",
                     describe="digits, spaces and the months Jan to Dec")

    def sample_src(self, rng: random.Random) -> list[str]:
        # Uniform over days, so every month and day number appears in proportion.
        first = datetime.date(self.params["min_year"], 1, 1).toordinal()
        last = datetime.date(self.params["max_year"], 12, 31).toordinal()
        date = datetime.date.fromordinal(rng.randint(first, last))
        return self.tokens_of(date)

    def _days(self) -> range:
        first = datetime.date(self.params["min_year"], 1, 1).toordinal()
        return range(first, datetime.date(self.params["max_year"], 12, 31).toordinal() + 1)

    def space_size(self) -> int | None:
        return small(len(self._days()))

    def enumerate_srcs(self):
        return (self.tokens_of(datetime.date.fromordinal(d)) for d in self._days())

    @staticmethod
    def tokens_of(date: datetime.date) -> list[str]:
        return list(str(date.day)) + [" ", MONTHS[date.month - 1], " "] + list(f"{date.year:04d}")

    def solve(self, src: list[str]) -> list[str]:
        date = self._date(src)
        return list(f"{date.year:04d}-{date.month:02d}-{date.day:02d}")

    @staticmethod
    def _date(src: list[str]) -> datetime.date:
        day, month, year = "".join(src).split(" ")
        return datetime.date(int(year), MONTHS.index(month) + 1, int(day))

    def parse(self, text: str) -> list[str]:
        text = " ".join(text.replace(",", " ").split())  # "Nov 22,  2026" spacing is forgiven
        odd = [c for c in dict.fromkeys(text) if not (c.isascii() and (c.isalnum() or c == " "))]
        if odd:
            names = ", ".join(repr(c) for c in odd)
            raise ValueError(f"Unknown character{'s' if len(odd) > 1 else ''} {names}: "
                             'type a date like "22 Nov 2026" (digits, spaces and a month name).')
        match = _DATE.match(text)
        if not match:
            raise ValueError('Type a date as day, month name and 4-digit year, like "22 Nov 2026".')
        day, word, year = match.groups()
        month = self._month(word)
        try:
            date = datetime.date(int(year), month, int(day))
        except ValueError:
            raise ValueError(f"There is no day {int(day)} in {MONTHS[month - 1]} {year}: type a real date.") from None
        return self.tokens_of(date)

    @staticmethod
    def _month(word: str) -> int:
        low = word.lower()
        for i, (short, full) in enumerate(zip(MONTHS, FULL_MONTHS)):
            if low in (short.lower(), full):
                return i + 1
        raise ValueError(f"Unknown month {word!r}: use one of {', '.join(MONTHS)}.")

    @property
    def max_src_len(self) -> int:
        return 2 + 3 + 4  # day (up to 2 digits), space month space, 4-digit year

    @property
    def max_tgt_len(self) -> int:
        return len("2026-11-22")
