"""The attention page in a real browser: train the induction demo on the spot, then see the
heatmap, the other views and the formation step; the film plays on the client."""
from __future__ import annotations

import pytest

from conftest import CHART, assert_no_exception, rendered_charts, wait_for_app


@pytest.mark.browser
def test_attention_page_offers_presets_without_a_model(page, open_app):
    open_app(page, "attention")
    assert page.get_by_role("button", name="Train the preset").count() == 1
    assert page.get_by_role("button", name="induction-head demo").count() == 1


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(420)
def test_induction_demo_trains_and_the_heatmap_appears(page, open_app, streamlit_server):
    open_app(page, "attention")
    page.get_by_role("button", name="induction-head demo").click()
    # The demo trains in the background (progress shown); the page reruns itself when it is done.
    main = page.locator('[data-testid="stMain"]')
    main.get_by_role("tab", name="One head").wait_for(timeout=360_000)
    wait_for_app(page)
    assert_no_exception(page, streamlit_server)
    assert rendered_charts(page, 1) >= 1  # the open tab's heatmap; the other tabs wait until opened
    heatmap = page.locator(CHART).filter(has_text="head 0:").first
    heatmap.scroll_into_view_if_needed()
    assert heatmap.locator(".heatmaplayer").count() == 1  # drawn, not just an empty frame
    assert heatmap.get_by_text("key (attended to)").count() == 1
    main.get_by_role("tab", name="Induction heads").click()
    wait_for_app(page)
    assert page.get_by_text("formed at step").count() >= 1
    main.get_by_role("tab", name="Over training").click()
    wait_for_app(page)
    page.get_by_text("▶ play").first.click()  # Plotly's own button: animates on the client
    page.wait_for_timeout(500)
    assert_no_exception(page, streamlit_server)
