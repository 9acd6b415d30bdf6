"""The Train page's buttons in headless Chromium, as a teacher presses them between two demos.

- Reset brings back the settings of the run it forgot, in the widgets themselves (the browser
  used to remount them at their defaults: task "Copy", d_model 1, lr 0.000001, while the
  server and the folded summary still had the run's values); touching a field then changes
  only that field, and the next run trains what the panel, the summary and the URL say.
- Pause and Resume change their button and message only (Streamlit's "magic" used to write a
  "None" over the page title at each press).
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from conftest import assert_no_exception, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FIELDS = ("task", "arch", "d_model", "n_heads", "n_layers", "d_ff", "lr", "warmup", "batch_size", "steps", "seed")
TINY_LINK = "task=reverse&arch=decoder&length=4&d_model=16&n_heads=2&n_layers=1&d_ff=32&steps=20000&seed=0"
MONTHS = re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b")


def _main(page):
    return page.locator('[data-testid="stMain"]')  # the header has its own "Stop" while a script runs


def _field(page, key: str):
    # A widget with key "train.x" carries the class "st-key-train-x".
    return page.locator(f".st-key-train-{key} input")


def _values(page) -> dict[str, str]:
    return {key: _field(page, key).input_value() for key in FIELDS}


def _expect_values(page, values: dict[str, str]) -> None:
    for key, value in values.items():
        expect(_field(page, key), f"the {key} field").to_have_value(value, timeout=20_000)


def _summary(page) -> str:
    return page.locator('[data-testid="stExpander"] summary').first.inner_text()


def _press(page, name: str) -> None:
    _main(page).get_by_role("button", name=name, exact=True).click()


def _stop(page) -> None:
    """Stop the run, or let it be if it has just finished (Reset follows either in class)."""
    stop = _main(page).get_by_role("button", name="Stop", exact=True)
    try:
        stop.click(timeout=5_000)
    except PlaywrightError:
        assert not stop.is_enabled(), "Stop could not be pressed while the run was active"
    _main(page).get_by_text(re.compile(r"^(Stopped at step|Finished after)")).wait_for(timeout=60_000)
    wait_for_app(page)


def _train_then_stop_then_reset(page, streamlit_server) -> None:
    _press(page, "Train")
    page.locator(".st-key-train-progress").wait_for(timeout=60_000)
    expect(_field(page, "d_model")).to_have_count(0)  # the settings folded away
    _stop(page)
    _press(page, "Reset")
    _field(page, "d_model").wait_for(timeout=30_000)
    wait_for_app(page)
    assert_no_exception(page, streamlit_server)


def _train_and_read_progress(page) -> str:
    _press(page, "Train")
    progress = page.locator(".st-key-train-progress")
    progress.wait_for(timeout=60_000)
    expect(progress).to_contain_text("Step", timeout=30_000)
    return progress.inner_text()


def _reset_then_touch_the_seed(page, server, before: dict) -> str:
    """Train, Stop, Reset: the panel shows `before`; then one press of seed "+" changes that
    field only (it used to switch the panel to the Copy preset and drop the edit). Returns the seed."""
    _train_then_stop_then_reset(page, server)
    _expect_values(page, before)
    page.locator(".st-key-train-seed [data-testid='stNumberInputStepUp']").click()
    seed = str(int(before["seed"]) + 1)
    expect(_field(page, "seed")).to_have_value(seed, timeout=20_000)
    wait_for_app(page)
    _expect_values(page, {**before, "seed": seed})
    return seed


def test_reset_keeps_the_presets_settings_and_the_next_run_uses_them(page, open_app, streamlit_server):
    open_app(page, "train")
    before = _values(page)
    assert before["task"] == "Reverse" and before["d_model"] == "64"
    seed = _reset_then_touch_the_seed(page, streamlit_server, before)
    # The next run is the one the panel shows: its steps in the progress, its settings in the
    # summary and the URL.
    steps = int(before["steps"])
    assert f" of {steps:,}" in _train_and_read_progress(page)
    summary = _summary(page)
    assert "Reverse" in summary and f"d_model {before['d_model']}," in summary and f"seed {seed}" in summary
    assert "task=reverse" in page.url and f"seed={seed}" in page.url and f"steps={steps}" in page.url
    _stop(page)


def test_a_task_chosen_on_the_page_survives_reset_and_is_what_trains_next(page, open_app, streamlit_server):
    open_app(page, "train")
    page.locator(".st-key-train-task").click()
    page.get_by_role("option", name="Date format translation").click()
    expect(_field(page, "task")).to_have_value("Date format translation", timeout=20_000)
    wait_for_app(page)
    steps = _field(page, "steps")
    steps.fill("300")
    steps.press("Enter")
    expect(steps).to_have_value("300")
    wait_for_app(page)
    before = _values(page)
    assert before["arch"].startswith("Transformer encoder-decoder") and before["steps"] == "300"
    seed = _reset_then_touch_the_seed(page, streamlit_server, before)
    assert " of 300" in _train_and_read_progress(page)
    summary = _summary(page)
    assert "Date format translation" in summary and "300 steps" in summary and f"seed {seed}" in summary
    assert "task=dates" in page.url and "steps=300" in page.url
    # The model being trained answers dates (its questions are the task's, "9 Feb 1974").
    answers = page.locator(".st-key-answers")
    answers.wait_for(timeout=60_000)
    assert MONTHS.search(answers.inner_text()), answers.inner_text()
    _stop(page)


def _assert_title_alone(page) -> None:
    main = _main(page)
    first = main.locator('[data-testid="stElementContainer"]').first
    expect(first.locator("h1")).to_have_text("Train a model")
    stray = main.locator('[data-testid="stMarkdownContainer"] code').filter(has_text=re.compile(r"^\s*None\s*$"))
    expect(stray).to_have_count(0)


def test_pause_and_resume_leave_the_title_alone(page, open_app, streamlit_server):
    open_app(page, "train", TINY_LINK)
    _press(page, "Train")
    page.locator(".st-key-train-progress").wait_for(timeout=60_000)
    expect(page.locator(".st-key-train-progress")).to_contain_text("Step", timeout=30_000)
    _press(page, "Pause")
    _main(page).get_by_text("Paused at step").wait_for(timeout=30_000)
    _assert_title_alone(page)
    _press(page, "Resume")
    expect(_main(page).get_by_text("Paused at step")).to_have_count(0, timeout=30_000)
    expect(_main(page).get_by_role("button", name="Pause", exact=True)).to_be_visible()
    _assert_title_alone(page)
    assert_no_exception(page, streamlit_server)
    _stop(page)
