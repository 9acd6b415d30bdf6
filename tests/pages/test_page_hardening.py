"""A person's text on the pages is shown as text (never Markdown), and odd input gets a sentence.

Through Streamlit's AppTest: a link's query values, an uploaded checkpoint's file name and a
character model's empty input. AppTest gives the Markdown each element was sent; what a browser
makes of it is checked in tests/browser/test_browser_hardening.py.
"""
from __future__ import annotations

import re
from pathlib import Path

from conftest import fresh_session
from streamlit.testing.v1 import AppTest

from transformer.build import build_model
from transformer.checkpoint import checkpoint_bytes
from transformer.tasks import get_task
from transformer.ui.text import plain

PAGES = Path(__file__).resolve().parents[2] / "pages"
LINK = "[Session expired: sign in](https://example.org/login)"
IMAGE = "![x](https://example.org/b.png)"

# Markdown that would make a link or an image: an unescaped "[" or "]" (with "](" a link, with "!["
# an image), or a bare web address (GFM links it without any brackets).
_UNESCAPED_BRACKET = re.compile(r"(?<!\\)[\[\]]")
_BARE_ADDRESS = re.compile(r"https?://|www\.", re.IGNORECASE)


def assert_no_link(body: str) -> None:
    """`body` (Markdown sent to the browser) can make no link and no image."""
    assert not _UNESCAPED_BRACKET.search(body), f"unescaped Markdown bracket in {body!r}"
    assert not _BARE_ADDRESS.search(body), f"a bare address GFM would link, in {body!r}"


def assert_shown_as_text(body: str, value: str) -> None:
    """`body` shows `value` literally: escaped, no link, no image."""
    assert_no_link(body)
    assert plain(value) in body, f"{value!r} is not in {body!r} as escaped text"


def open_page(page: str, query: dict | None = None, **source) -> AppTest:
    at = AppTest.from_function(fresh_session, args=(str(PAGES / page),), kwargs=source, default_timeout=120)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def bodies(at: AppTest, kind: str) -> list[str]:
    return [el.value for el in getattr(at, kind)]


def test_plain_escapes_every_markdown_construct_and_shortens_in_the_middle():
    assert plain("[a](https://e.org) ![b](c) **d** `e` <i>f</i>") == (
        r"\[a\]\(https\:" "\u2060" r"\/\/e\.org\) \!\[b\]\(c\) \*\*d\*\* \`e\` \<i\>f\<\/i\>")
    assert plain("www.e.org a@b.org") == "www\u2060\\.e\\.org a\u2060\\@b\\.org"
    assert plain("x\u202ey\x00\nz") == r"x\\u202ey\\u0000 z"  # shown by their codes, newline a space
    long = plain("start " + "a" * 10_000 + " end")
    assert long.startswith("start ") and long.endswith(" end") and " … " in long and len(long) < 400


def test_train_link_values_are_text_not_links_or_images():
    at = open_page("train.py", {"task": LINK, "arch": IMAGE})
    assert not at.exception
    notes = [b for b in bodies(at, "warning") if "Session expired" in b or "png" in b]
    assert len(notes) >= 1, bodies(at, "warning")
    task_note = next(b for b in notes if "Session expired" in b)
    assert_shown_as_text(task_note, LINK)
    for body in notes:
        assert_no_link(body)


def test_lessons_link_values_are_text():
    value = "**Your session expired.** " + LINK
    at = open_page("lessons.py", {"lesson": value, "step": IMAGE})
    assert not at.exception
    notes = bodies(at, "warning")
    lesson_note = next(b for b in notes if "session expired" in b)
    assert_shown_as_text(lesson_note, value)
    assert "**" not in lesson_note.replace(r"\*", "")  # no bold from the link
    step_note = next(b for b in notes if "png" in b)
    assert_shown_as_text(step_note, IMAGE)


def test_positional_encoding_link_values_are_text():
    at = open_page("positional_encoding.py", {"base": LINK + " " + IMAGE})
    assert not at.exception
    note = next(b for b in bodies(at, "warning") if "Ignored the link" in b)
    assert_shown_as_text(note, LINK + " " + IMAGE)


def test_a_long_link_value_is_shortened_and_the_sentence_keeps_its_end():
    at = open_page("train.py", {"task": "x" * 200_000})
    assert not at.exception
    note = next(b for b in bodies(at, "warning") if "xxx" in b)
    assert len(note) < 1_000 and " … " in note
    assert note.endswith("shown\\.")  # "... does not exist, so 'reverse' is shown."


def test_an_uploaded_files_name_is_text():
    task = get_task("reverse", length=4)
    model = build_model(task.model_config("decoder", d_model=16, n_heads=2, n_layers=1, d_ff=32))
    name = IMAGE + ".pt"
    at = open_page("embeddings.py", checkpoint=checkpoint_bytes(model, task), name=name)
    assert not at.exception
    caption = next(b for b in bodies(at, "caption") if "Showing" in b)
    assert_shown_as_text(caption, name)


def test_embeddings_with_an_empty_text_on_a_character_model_says_what_to_do():
    task = get_task("charlm", length=16)
    model = build_model(task.model_config("decoder", d_model=16, n_heads=2, n_layers=1, d_ff=32))
    at = open_page("embeddings.py", checkpoint=checkpoint_bytes(model, task))
    assert not at.exception
    at.text_input(key="emb.text.charlm").set_value("").run()
    assert not at.exception, at.exception[0].value if at.exception else ""
    assert any("Type at least one character" in b for b in bodies(at, "info")), bodies(at, "info")
    at.text_input(key="emb.text.charlm").set_value("the the").run()  # and it recovers
    assert not at.exception
    assert not any("Type at least one character" in b for b in bodies(at, "info"))


def _upload_probe():
    """AppTest script: take_upload, then say how many uploaded files the server still holds."""
    import streamlit as st
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    from transformer.ui.uploads import take_upload

    taken = take_upload("a file", key="probe.upload")
    if taken is not None:
        ctx = get_script_run_ctx()
        held = ctx.uploaded_file_mgr.file_storage.get(ctx.session_id, {})
        st.text(f"took {taken[0]} ({len(taken[1])} bytes); the server holds {len(held)} file(s)")


def test_an_upload_is_handed_over_once_then_dropped_and_the_widget_cleared():
    at = AppTest.from_function(_upload_probe, default_timeout=60).run()
    at.file_uploader(key="probe.upload").set_value(("a.pt", b"x" * 1000, "application/octet-stream")).run()
    assert not at.exception
    assert [t.value for t in at.text] == ["took a.pt (1000 bytes); the server holds 0 file(s)"]
    at.run()  # the next run: a new, empty widget; nothing is handed over again
    assert not at.text
    assert [w.key for w in at.file_uploader] == ["probe.upload.1"]


def test_train_page_upload_loads_the_model_and_clears_the_uploader():
    task = get_task("reverse", length=4)
    model = build_model(task.model_config("decoder", d_model=16, n_heads=2, n_layers=1, d_ff=32))
    at = open_page("train.py")
    at.file_uploader(key="train.upload").set_value((IMAGE + ".pt", checkpoint_bytes(model, task), "x")).run()
    assert not at.exception and not at.error
    success = next(b for b in bodies(at, "success") if "Loaded" in b)
    assert_shown_as_text(success, IMAGE + ".pt")
    assert [w.key for w in at.file_uploader] == ["train.upload.1"]


def test_the_upload_limit_is_a_checkpoint_of_the_largest_model_the_budget_allows():
    import tomllib

    from transformer.budget import DEFAULT_CAP_BYTES, check_budget, parameter_estimate
    from transformer.config import ModelConfig
    from transformer.ui.uploads import checkpoint_upload_mb

    config = tomllib.loads((PAGES.parent / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == checkpoint_upload_mb(DEFAULT_CAP_BYTES)
    # A model near the top of the default budget: its weights (4 bytes each) fit the limit.
    big = ModelConfig(vocab_size=64, max_len=16, d_model=2048, n_heads=16, n_layers=8, d_ff=8192)
    check_budget(big, limit=DEFAULT_CAP_BYTES)
    assert 4 * parameter_estimate(big) < checkpoint_upload_mb(DEFAULT_CAP_BYTES) * 2**20


def test_code_fences_a_value_with_more_backticks_than_it_holds():
    from transformer.ui.text import code

    assert code("abc") == "`abc`"
    assert code("a``b") == "```a``b```"
    assert code("`x`") == "`` `x` ``"  # padded: CommonMark strips one space each side
    assert code("[a](https://e.org)") == "`[a](https://e.org)`"  # a code span makes no link


def test_attention_page_shows_a_pasted_markdown_link_as_text():
    text = "Links look like [Sign in](https://example.org/login) and `code`. " * 5
    task = get_task("charlm", text=text, length=16)
    model = build_model(task.model_config("decoder", d_model=16, n_heads=2, n_layers=1, d_ff=32))
    at = open_page("attention.py", checkpoint=checkpoint_bytes(model, task))
    assert not at.exception
    at.selectbox(key="att.example").set_value(at.selectbox(key="att.example").options[-1]).run()
    at.text_input(key="att.text").set_value("[Sign in](https://example.org/login)").run()  # 36 > 16
    assert not at.exception
    warning = next(b for b in bodies(at, "warning") if "fits" in b)
    assert_no_link(warning)
    truncate = next(b for b in at.button if b.key == "att.truncate")
    assert_shown_as_text(truncate.label, "[Sign in](https:")
    at.text_input(key="att.text").set_value("[Sign in](").run()  # fits: the model answers it
    assert not at.exception
    assert any(b.startswith("Model's answer") for b in bodies(at, "markdown"))


def test_a_typed_word_in_a_plotly_label_is_text():
    import numpy as np

    from transformer.figures.positional import same_word_figure

    word = '<a href="https://example.org">x</a>'
    fig = same_word_figure(np.zeros(4), np.ones(4), np.ones(4), 1, 2, word=word)
    labels = " ".join(fig.data[0].y)
    assert "<a" not in labels and "&lt;a href" in labels  # Plotly shows entities as text
