"""The RNN vs Transformer page in headless Chromium: a short race starts, both models' curves
move in place while it runs (the same plot, so a reader's zoom stays), and Stop ends it."""
from __future__ import annotations

import pytest

from conftest import EXCEPTION_SELECTOR, assert_no_exception, live_frame

pytestmark = pytest.mark.browser

# Tiny models and many steps: the race is still running while the test watches it and presses
# Stop. With 400 steps of 3-letter inputs a fast CI run finished the race before Stop (the
# evaluations come every 25 steps either way, so the curves move as often).
RACE_LINK = ("preset=reverse-short&task=reverse&length=5&models=decoder,lstm&steps=4000&seed=0"
             "&d_model=16&n_heads=2&t_layers=1&d_ff=32")
LINES = "#figure-step .scatterlayer path.js-line"  # the per-step chart, in the live_figures frame


def _lines(frame) -> list[str]:
    paths = frame.locator(LINES)
    return [paths.nth(i).get_attribute("d") or "" for i in range(paths.count())]


def test_a_race_draws_both_curves_and_stops(page, open_app, streamlit_server):
    open_app(page, "rnn_vs_transformer", RACE_LINK)
    page.get_by_role("button", name="Start the race").click()
    frame = live_frame(page, "rnn-race-curves", timeout_ms=30_000)
    # In view, as a person watching it has it (off screen, the frame would not redraw it).
    page.locator(".st-key-rnn-race-curves").scroll_into_view_if_needed()
    # Two models, each with a loss and an accuracy line.
    frame.wait_for_function(f"document.querySelectorAll('{LINES}').length >= 4", timeout=30_000)
    legend = frame.locator("#figure-step g.legend").first.text_content()
    assert "Transformer" in legend and "LSTM" in legend
    plot_node = frame.locator("#figure-step").element_handle()
    first = _lines(frame)
    # The fragment refreshes every 2 s; within a minute every model has new evaluation points.
    frame.wait_for_function(
        """([sel, old]) => {
            const now = [...document.querySelectorAll(sel)].map(p => p.getAttribute('d') || '');
            return now.length === old.length && now.every((d, i) => d !== old[i]);
        }""",
        arg=[LINES, first], timeout=60_000,
    )
    assert plot_node.evaluate("node => node.isConnected"), "the race chart was replaced, not updated"
    assert_no_exception(page, streamlit_server)
    page.get_by_role("button", name="Stop", exact=True).click()
    page.get_by_text("Stopped.").wait_for(timeout=15_000)
    assert page.locator(EXCEPTION_SELECTOR).count() == 0
