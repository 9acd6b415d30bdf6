"""The sidebar follows every run of the session in a real browser, not only the Train page's.

The positional-encoding experiment trains four runs in the session's run registry; on its page
and on another page of the same session the sidebar lists them, and its numbers move on.
"""
from __future__ import annotations

import re
import time

import pytest

from conftest import assert_no_exception, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SLOW_MS = 240_000
LINE = re.compile(r"PE (\w+) · (queued|step|paused)")


def _sidebar(page) -> str:
    return page.locator('[data-testid="stSidebarUserContent"]').inner_text()


def _poll(page, condition, seconds: float, what: str) -> str:
    deadline = time.monotonic() + seconds
    text = _sidebar(page)
    while not condition(text) and time.monotonic() < deadline:
        page.wait_for_timeout(500)
        text = _sidebar(page)
    assert condition(text), f"{what}; the sidebar says:\n{text}"
    return text


@pytest.mark.timeout(600)
def test_the_sidebar_lists_the_experiment_runs_on_another_page(page, open_app, streamlit_server):
    open_app(page, "positional_encoding", timeout_ms=SLOW_MS)
    page.get_by_role("tab", name="5 · Experiment").click()
    wait_for_app(page, timeout_ms=SLOW_MS)
    # The most steps per run (the section's last slider), so the runs outlast the page switch.
    thumb = page.get_by_role("slider").last
    thumb.focus()
    thumb.press("End")
    wait_for_app(page, timeout_ms=SLOW_MS)
    page.get_by_role("button", name=re.compile("Run the experiment")).click()
    wait_for_app(page, timeout_ms=SLOW_MS)
    _poll(page, lambda t: LINE.search(t) is not None, 120, "the experiment's runs listed on its own page")
    # To the home page through the app's own navigation: the same session, so the same runs.
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Home").click()
    wait_for_app(page, timeout_ms=SLOW_MS)
    assert_no_exception(page, streamlit_server)

    first = _poll(page, lambda t: LINE.search(t) is not None, 120, "a line for the experiment's runs")
    assert "/1000" in first or "queued" in first
    assert "Run: idle" in first  # the Train page's own run is still none
    # The lines refresh by themselves while the runs train: the text moves on without a click.
    _poll(page, lambda t: t != first and "PE " in t, 180, "the sidebar refreshes while runs train")
