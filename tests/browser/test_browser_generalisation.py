"""The Learning vs memorising page in headless Chromium: predict, run the (short) overfitting
experiment, watch the panels fill in place, and read a result that quotes the run's own numbers."""
from __future__ import annotations

import re

import pytest

from conftest import assert_no_exception, live_frame, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LINES = "#figure-gap .scatterlayer path.js-line"  # the per-run panels, in the live_figures frame
# Five runs of 150 steps on a shared 2-core machine: minutes, not seconds.
RUN_TIMEOUT_MS = 420_000


def _lines(frame) -> list[str]:
    paths = frame.locator(LINES)
    return [paths.nth(i).get_attribute("d") or "" for i in range(paths.count())]


def test_predict_run_and_read_the_gap(page, open_app, streamlit_server):
    open_app(page, "learning_vs_memorising", "length=short", timeout_ms=120_000)
    main = page.locator('[data-testid="stMain"]')
    main.get_by_text("Ten times the data", exact=False).first.click()
    wait_for_app(page, timeout_ms=60_000)
    main.get_by_role("button", name=re.compile(r"^Run the experiment")).click()
    frame = live_frame(page, "gen-curves-overfitting", timeout_ms=120_000)
    page.locator(".st-key-gen-curves-overfitting").scroll_into_view_if_needed()
    # Five panels, each with a training and a validation line, drawn as evaluations arrive.
    frame.wait_for_function(f"document.querySelectorAll('{LINES}').length >= 10", timeout=RUN_TIMEOUT_MS)
    panel_titles = frame.locator("#figure-gap .annotation-text").all_text_contents()
    for name in ("200 examples", "+ dropout 0.3", "+ weight decay 0.5", "+ early stopping", "2,000 examples"):
        assert any(t.startswith(name) for t in panel_titles), (name, panel_titles)
    plot_node = frame.locator("#figure-gap").element_handle()
    first = _lines(frame)
    frame.wait_for_function(
        """([sel, old]) => [...document.querySelectorAll(sel)].some((p, i) => (p.getAttribute('d') || '') !== old[i])""",
        arg=[LINES, first], timeout=RUN_TIMEOUT_MS,
    )
    assert plot_node.evaluate("node => node.isConnected"), "the panels were replaced, not updated"
    assert_no_exception(page, streamlit_server)

    # The result: the prediction beside the run's own numbers, the same as in its table.
    result = main.locator('[data-testid="stMarkdownContainer"]').filter(has_text="This run:")
    result.wait_for(timeout=RUN_TIMEOUT_MS)
    assert_no_exception(page, streamlit_server)
    assert main.get_by_text("You predicted:", exact=False).first.is_visible()
    text = result.inner_text()
    m = re.search(r"baseline got (\d+)% of its training sums right and (\d+)% of new ones", text)
    assert m, text
    # The same numbers as the baseline's panel title, which the figure takes from the run's last row.
    titles = frame.locator("#figure-gap .annotation-text").all_text_contents()
    base = next(t for t in titles if t.startswith("200 examples"))
    assert f"train {m.group(1)}% · val {m.group(2)}%" in base, (m.groups(), base)
