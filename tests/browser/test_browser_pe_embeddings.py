"""The positional-encoding and embeddings pages in a real browser: charts render, controls work."""
from __future__ import annotations

import pytest

from conftest import CHART, assert_no_exception, rendered_charts, wait_for_app

# Generous waits: on a busy shared machine drawing a page of Plotly charts can take a minute.
SLOW_MS = 240_000
CHARTS_MS = 120_000


@pytest.mark.browser
@pytest.mark.timeout(600)  # generous: a busy 2-core machine draws these charts slowly
def test_positional_lab_draws_its_charts_and_follows_the_slider_and_the_tabs(page, open_app, streamlit_server):
    open_app(page, "positional_encoding", timeout_ms=SLOW_MS)
    assert rendered_charts(page, 3, CHARTS_MS) == 3  # the first section only
    # Keyboard on the d_model slider: one step right is 66 (even values only).
    thumb = page.get_by_role("slider").first
    thumb.focus()
    thumb.press("ArrowRight")
    page.get_by_text("The diagonal is d_model / 2 = 33").wait_for(timeout=120_000)
    wait_for_app(page, timeout_ms=SLOW_MS)
    assert_no_exception(page, streamlit_server)
    # Another section: its charts replace the first section's, and the link names it.
    page.get_by_role("tab", name="4 · Four schemes").click()
    page.get_by_text("Four ways to encode position").first.wait_for(timeout=120_000)
    wait_for_app(page, timeout_ms=SLOW_MS)
    assert_no_exception(page, streamlit_server)
    assert rendered_charts(page, 3, CHARTS_MS) == 3
    assert "section=" in page.url and "d_model=66" in page.url


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_embeddings_page_offers_a_preset_without_a_model(page, open_app, streamlit_server):
    open_app(page, "embeddings", timeout_ms=SLOW_MS)
    assert page.get_by_role("button", name="Train the preset").count() == 1
    assert page.get_by_text("Embedding spaces").count() >= 1


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_embeddings_page_after_training_the_preset_plays_its_film(page, open_app, streamlit_server):
    open_app(page, "embeddings", timeout_ms=SLOW_MS)
    page.get_by_role("button", name="Train the preset").click()
    # The preset trains in the background; the page reruns itself when it is done.
    page.get_by_text("Watch the space form").first.wait_for(timeout=600_000)
    wait_for_app(page, timeout_ms=SLOW_MS)
    assert_no_exception(page, streamlit_server)
    assert rendered_charts(page, 5, CHARTS_MS) >= 5
    assert page.get_by_text("separates positive from negative").count() >= 1
    page.locator(CHART).first.scroll_into_view_if_needed()
    page.get_by_text("▶ Play").first.click()  # Plotly's own button: animates on the client
    page.wait_for_timeout(500)
    assert_no_exception(page, streamlit_server)
