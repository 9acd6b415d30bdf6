"""The positional_encoding and embeddings pages in a real browser: charts render, controls work."""
from __future__ import annotations

import pytest

from conftest import assert_no_exception, wait_for_app

CHART = '[data-testid="stPlotlyChart"]'


def open_page(page, app_url: str, server, path: str):
    """Open a page with generous waits, for a busy shared machine where drawing nine Plotly
    charts can take a minute. The home page goes first: until some session has run
    st.navigation, a fresh server resolves a deep link against the legacy pages/ folder and
    answers "Page not found"."""
    page.set_default_timeout(120_000)
    page.goto(app_url + "/")
    wait_for_app(page, timeout_ms=240_000)
    page.goto(f"{app_url}/{path}")
    wait_for_app(page, timeout_ms=240_000)
    assert_no_exception(page, server)
    return page


def rendered_charts(page, at_least: int, timeout_ms: float = 120_000) -> int:
    """Wait until `at_least` Plotly charts have drawn their SVG; return how many there are."""
    page.wait_for_function(
        f"document.querySelectorAll('{CHART} .js-plotly-plot .main-svg').length >= {at_least}",
        timeout=timeout_ms,
    )
    return page.locator(CHART).count()


@pytest.mark.browser
@pytest.mark.timeout(600)  # generous: a busy 2-core machine draws these charts slowly
def test_positional_lab_draws_its_charts_and_follows_the_slider(page, app_url, streamlit_server):
    open_page(page, app_url, streamlit_server, "positional_encoding")
    assert rendered_charts(page, 8) >= 8
    assert page.get_by_text("Four ways to encode position").count() >= 1
    # Keyboard on the d_model slider: one step right is 66 (even values only).
    thumb = page.get_by_role("slider").first
    thumb.focus()
    thumb.press("ArrowRight")
    page.get_by_text("The diagonal is d_model / 2 = 33").wait_for(timeout=120_000)
    wait_for_app(page, timeout_ms=240_000)
    assert_no_exception(page, streamlit_server)
    assert rendered_charts(page, 8) >= 8


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_embeddings_page_offers_a_preset_without_a_model(page, app_url, streamlit_server):
    open_page(page, app_url, streamlit_server, "embeddings")
    assert page.get_by_role("button", name="Train the preset").count() == 1
    assert page.get_by_text("Embedding spaces").count() >= 1


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_embeddings_page_after_training_the_preset_plays_its_film(page, app_url, streamlit_server):
    open_page(page, app_url, streamlit_server, "embeddings")
    page.get_by_role("button", name="Train the preset").click()
    # The preset trains in the background; the page reruns itself when it is done.
    page.get_by_text("Watch the space form").first.wait_for(timeout=600_000)
    wait_for_app(page, timeout_ms=240_000)
    assert_no_exception(page, streamlit_server)
    assert rendered_charts(page, 5) >= 5
    assert page.get_by_text("separates positive from negative").count() >= 1
    page.locator(CHART).first.scroll_into_view_if_needed()
    page.get_by_text("▶ Play").first.click()  # Plotly's own button: animates on the client
    page.wait_for_timeout(500)
    assert_no_exception(page, streamlit_server)
