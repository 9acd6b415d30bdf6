"""One rule for a person's text on a page: it is shown as text, never read as Markdown or HTML.

Streamlit renders the strings given to `st.markdown`, `st.warning`, `st.info`, `st.error`,
`st.success`, `st.caption`, widget labels and help texts as GitHub-flavoured Markdown. So a value
that came from a person (a link's query parameter, a text box, a file name, an uploaded
checkpoint's task name or vocabulary, a sentence that quotes any of these) could otherwise put a
working link, an outside image (a tracking beacon), a heading or coloured text into the app's own
message. Every such string goes through `plain` before it reaches Streamlit:

    st.warning(plain(note))                                  # a sentence that quotes a link's value
    st.markdown(f"Loaded **{plain(label)}**: ...")           # a value inside the app's own Markdown
    st.markdown(f"Model's answer: {code(answer)}")           # a value shown as inline code

`plain` backslash-escapes every ASCII punctuation character (CommonMark lets any of them be
escaped, and then shows it literally: no emphasis, link, image, code, heading, list, table, HTML,
maths, `:colour[...]` or `:emoji:` can start), breaks the patterns that GFM turns into links
without any punctuation of Markdown's own (`https://...`, `www.`, `name@host`) with an invisible
word joiner, shows control and text-direction characters by their code (a right-to-left override
could otherwise reverse the rest of the app's sentence), and shortens very long text in the middle,
so that a 200 KB link value neither floods the page nor hides the end of the sentence about it.
Inside a code span Markdown reads nothing but the backticks that end it, so `code` fences a value
with more backticks than it holds in a row.
"""
from __future__ import annotations

import re
import unicodedata

MAX_CHARS = 300  # of a message quoting a person's value; longer ones lose their middle

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
_WORD_JOINER = "\u2060"  # invisible, and not a character GFM's autolinks may contain
_AUTOLINK = re.compile(r"(?i)(?<=:)(?=//)|(?<=www)(?=\.)|(?=@)")


def _visible(ch: str) -> str:
    """A control or format character (NUL, newline, right-to-left override...) as its code."""
    if ch == "\n" or ch == "\t":
        return " "
    if unicodedata.category(ch) in ("Cc", "Cf") and ch != _WORD_JOINER:
        return f"\\u{ord(ch):04x}"
    return ch


def shorten(text: str, limit: int = MAX_CHARS) -> str:
    """`text`, or its start and end around " … " when it is longer than `limit` characters."""
    if len(text) <= limit:
        return text
    head = (limit * 2) // 3
    tail = limit - head - 3
    return text[:head] + " … " + text[len(text) - tail:]


def plain(text, limit: int | None = MAX_CHARS) -> str:
    """Markdown that Streamlit shows as exactly `text` (shortened to `limit` characters; None: never).

    Use it for every string that holds or quotes something a person gave (see the module's
    docstring). The result is meant for Markdown only: `st.text`, `st.code`, tables and plot
    labels show strings as they are and need no escaping.
    """
    text = str(text)
    if limit is not None:
        text = shorten(text, limit)
    text = "".join(_visible(ch) for ch in text)
    text = _AUTOLINK.sub(_WORD_JOINER, text)
    return _PUNCTUATION.sub(r"\\\1", text)


def code(text, limit: int | None = MAX_CHARS) -> str:
    """Markdown inline code that shows exactly `text` (shortened to `limit` characters).

    CommonMark ends a code span at the first run of as many backticks as opened it, so the
    fence is one backtick longer than the longest run inside; a space pads a value that starts or
    ends with a backtick or a space (the parser strips one from each side).
    """
    text = str(text)
    if limit is not None:
        text = shorten(text, limit)
    text = "".join(_visible(ch) for ch in text)
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text[:1] in ("`", " ") or text[-1:] in ("`", " ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
