"""The Vision transformer page in headless Chromium: a ViT-vs-CNN race starts, both curves are
drawn live, the ViT's views appear (the numbered patches, [CLS] attention, the position grid)
and Stop ends it."""
from __future__ import annotations

import pytest

from conftest import CHART, EXCEPTION_SELECTOR, assert_no_exception, live_frame

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LINES = "#figure-step .scatterlayer path.js-line"  # the per-step chart, in the live_figures frame


def test_a_race_draws_both_models_and_the_vits_views(page, open_app, streamlit_server):
    open_app(page, "vision_transformer", timeout_ms=120_000)
    page.get_by_role("button", name="Start: ViT against CNN").click()
    frame = live_frame(page, "vit-curves", timeout_ms=120_000)
    page.locator(".st-key-vit-curves").scroll_into_view_if_needed()
    frame.wait_for_function(f"document.querySelectorAll('{LINES}').length >= 4", timeout=180_000)
    legend = frame.locator("#figure-step g.legend").first.text_content()
    assert "ViT" in legend and "CNN" in legend
    # The views come with the ViT's first evaluation after step 0.
    page.get_by_role("tab", name="Patches").wait_for(timeout=300_000)
    patches = page.locator(".st-key-vit-patches " + CHART)
    patches.wait_for(timeout=60_000)
    for number in ("1", "16"):  # a 16x16 picture in 4x4 patches: patches 1..16, numbered on the picture
        assert patches.locator("g.annotation", has_text=number).count() >= 1
    page.get_by_role("tab", name="Positions").click()
    page.locator(".st-key-vit-positions " + CHART).wait_for(timeout=60_000)
    assert_no_exception(page, streamlit_server)
    page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop", exact=True).click()
    page.get_by_text("Stopped").first.wait_for(timeout=30_000)
    assert page.locator(EXCEPTION_SELECTOR).count() == 0
