"""Page settings that survive a page switch and live in the link, and a memo for cached results.

A page declares its link settings once, as `Setting`s in a `LinkedSettings`:

- **From the link.** On the page's first run in a session, and whenever the URL carries this
  page's parameters that the page did not write itself (a link was opened), the values come from
  `st.query_params`; each value that does not fit is ignored with one sentence, shown as text.
- **Across page switches.** The values live in st.session_state under `prefix + name`, the keys
  of the page's widgets, and every such widget is drawn with `persist_state=KEEP`: Streamlit
  keeps its value while the page (or a folded panel) is not shown and hands it back to the
  browser when it is drawn again. One mechanism for every page.
- **Back to the link.** Only values that differ from their default are written, and only this
  page's own parameters are touched (`presenter` and a bound tab stay as they are).

`memo(key, inputs, compute)` keeps one computed result in st.session_state until its inputs
change: the figures of a page that refreshes while a run trains, a measurement behind a button.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

import streamlit as st

from .text import plain

KEEP = "session"  # persist_state of every widget that holds a page setting


@dataclass(frozen=True)
class Setting:
    """One link parameter: a whole number in [lo, hi] (on a grid of `step` from lo), one of
    `choices`, or with `many` a comma-separated list of choices."""

    name: str
    default: Any
    lo: int | None = None
    hi: int | None = None
    step: int = 1
    choices: tuple = ()
    many: bool = False

    def parse(self, raw: str):
        """A link's text -> the value, or ValueError with what the link should hold."""
        raw = str(raw).strip()
        if self.choices:
            allowed = {str(c): c for c in self.choices}
            if self.many:
                picked = [allowed[part] for part in raw.split(",") if part in allowed]
                if not picked:
                    raise ValueError(f"a comma-separated list of {', '.join(allowed)}")
                return picked
            if raw not in allowed:
                raise ValueError(f"one of {', '.join(allowed)}")
            return allowed[raw]
        try:
            value = float(raw)
        except ValueError:
            value = None
        if value is None or not value.is_integer() or not self.lo <= value <= self.hi or (value - self.lo) % self.step:
            grid = {1: "a whole number", 2: "an even number"}.get(self.step, f"a multiple of {self.step}")
            raise ValueError(f"{grid} from {self.lo} to {self.hi}")
        return int(value)

    def text(self, value) -> str:
        return ",".join(map(str, value)) if self.many else str(value)


def read_link(query: dict, settings: Iterable[Setting]) -> tuple[dict, list[str]]:
    """(values the link sets, one sentence per value it sets that was ignored)."""
    values, notes = {}, []
    for s in settings:
        if s.name in query:
            try:
                values[s.name] = s.parse(query[s.name])
            except ValueError as err:
                notes.append(f"Ignored the link's {s.name}={query[s.name]}: it must be {err}.")
    return values, notes


def show_notes(notes: Iterable[str]) -> None:
    """What a link asked for and did not get, as text (a link's content is never Markdown)."""
    for note in notes:
        st.warning(plain(note))


def write_link(link: dict[str, str], names: Iterable[str]) -> None:
    """Make this page's parameters (`names`) in the URL read `link`; others are left alone."""
    for name in names:
        if name in link:
            if st.query_params.get(name) != link[name]:
                st.query_params[name] = link[name]
        elif name in st.query_params:
            del st.query_params[name]


class LinkedSettings:
    """A page's link settings, kept in st.session_state[prefix + name] (its widgets' keys).

    `implied(values)` gives the defaults that follow from some settings (a preset's task and
    length); a link leaves them out, and reading a link applies them before its own values.
    `read`/`write` replace the schema's rules where a page has its own (the Train page's presets).
    """

    def __init__(self, prefix: str, settings: Iterable[Setting] = (), *,
                 implied: Callable[[dict], dict] | None = None,
                 read: Callable[[dict], tuple[dict, list[str]]] | None = None,
                 write: Callable[[dict], dict] | None = None,
                 names: Iterable[str] = ()):
        self.prefix = prefix
        self.settings = {s.name: s for s in settings}
        self.implied = implied or (lambda values: {})
        self._read, self._write = read, write
        self.names = set(self.settings) | set(names)  # every parameter of this page's links
        self._written = prefix + "#link"

    def key(self, name: str) -> str:
        return self.prefix + name

    def defaults(self, values: dict | None = None) -> dict:
        base = {name: s.default for name, s in self.settings.items()}
        return {**base, **self.implied({**base, **(values or {})})}

    def read(self, query: dict) -> tuple[dict, list[str]]:
        """Every setting from a link: the defaults its values imply, then its valid values."""
        if self._read is not None:
            return self._read(query)
        linked, notes = read_link(query, self.settings.values())
        return {**self.defaults(linked), **linked}, notes

    def link(self, values: dict) -> dict[str, str]:
        if self._write is not None:
            return self._write(values)
        base = self.defaults(values)
        return {n: s.text(values[n]) for n, s in self.settings.items() if values.get(n) != base[n]}

    def start(self) -> list[str]:
        """Fill the settings from the link if one was opened; return the notes on ignored values.

        Call before the widgets are drawn. A link counts as opened on the first run of the page
        in a session, and later when the URL holds this page's parameters that it did not write.
        """
        query = {k: v for k, v in st.query_params.to_dict().items() if k in self.names}
        first = self._written not in st.session_state
        if not first and (not query or query == st.session_state[self._written]):
            return []
        values, notes = self.read(query)
        self.set(values)
        st.session_state[self._written] = query
        return notes

    def set(self, values: dict) -> None:
        """Put settings into their widgets' keys (a preset, a reset); drop names no longer set."""
        for name in set(self.values()) - set(values):
            st.session_state.pop(self.key(name), None)
        st.session_state[self.prefix + "#names"] = list(values)
        for name, value in values.items():
            st.session_state[self.key(name)] = value

    def values(self) -> dict:
        names = st.session_state.get(self.prefix + "#names", ())
        return {name: st.session_state[self.key(name)] for name in names if self.key(name) in st.session_state}

    def sync_link(self, values: dict | None = None) -> None:
        """Write the settings (default: the current ones) into the URL, non-default values only."""
        link = self.link(self.values() if values is None else values)
        write_link(link, self.names)
        st.session_state[self._written] = link


def _same(a, b) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b)
    except (TypeError, ValueError, RuntimeError):  # tensors and arrays have no single truth value
        return False


def memo(key: str, inputs, compute: Callable[[], Any], keep: int = 1):
    """`compute()`'s result, kept in st.session_state[key] until `inputs` change (compared with
    ==, so model objects compare by identity): a page rebuilds only what its data changed.

    With `keep` > 1 the results of the last `keep` inputs are kept (the inputs must then be
    hashable), so going back to an earlier input (an example, a head switched on again) is instant.
    """
    if keep > 1:
        store = st.session_state.setdefault(key, {})
        if inputs not in store:
            while len(store) >= keep:
                store.pop(next(iter(store)))  # the oldest
            store[inputs] = compute()
        return store[inputs]
    cached = st.session_state.get(key)
    if cached is None or not _same(cached[0], inputs):
        cached = (inputs, compute())
        st.session_state[key] = cached
    return cached[1]


__all__ = ["KEEP", "LinkedSettings", "Setting", "memo", "read_link", "show_notes", "write_link"]
