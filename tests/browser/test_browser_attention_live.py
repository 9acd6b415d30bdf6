"""The Attention page in a real browser while things change under it: it follows a run that
trains (a refreshing fragment, no reload), and heads switched off on one model are all on
again for the next model.

Small models and generous timeouts: the machine that runs these may be a loaded 2-core one.
"""
from __future__ import annotations

import re

import pytest

from conftest import CHART, EXCEPTION_SELECTOR, assert_no_exception, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# A tiny model that trains for a long time: it is still training while the test watches.
LONG_TINY_RUN = "task=reverse&arch=decoder&length=4&d_model=16&n_heads=2&n_layers=1&d_ff=32&steps=20000&seed=0"
SHOWING = re.compile(r"Showing .*? · step (\d+)")


def _main(page):
    return page.locator('[data-testid="stMain"]')


def _sidebar_link(page, name: str):
    return page.locator('[data-testid="stSidebarNav"]').get_by_text(name, exact=True)


def _shown(page) -> tuple[int, str] | None:
    """(step, caption) of the "Showing ... step N" line, or None while it is not drawn."""
    captions = _main(page).get_by_text("Showing ")
    if not captions.count():
        return None
    text = captions.first.inner_text()
    match = SHOWING.search(text)
    return (int(match.group(1)), text) if match else None


@pytest.mark.timeout(600)
def test_the_attention_page_follows_a_run_while_it_trains(page, open_app, streamlit_server):
    open_app(page, "train", LONG_TINY_RUN)
    _main(page).get_by_role("button", name="Train", exact=True).click()
    page.locator(".st-key-train-progress").get_by_text("left").wait_for(timeout=120_000)  # training now
    # To the Attention page through the sidebar: the same session, so the same run.
    _sidebar_link(page, "Attention").click()
    _main(page).get_by_role("tab", name="One head").wait_for(timeout=120_000)
    page.locator(f"{CHART} .heatmaplayer").first.wait_for(timeout=120_000)
    page.evaluate("() => { window.__tlabNotReloaded = true; }")
    first = None
    for _ in range(600):  # wait for the caption, then for its step to move on (up to about 2 min)
        shown = _shown(page)
        if shown is not None and first is None:
            first = shown
        if shown is not None and first is not None and shown[0] != first[0]:
            break
        page.wait_for_timeout(200)
    else:
        pytest.fail(f"the Attention page stayed at {first} while the run trained")
    step, caption = shown
    assert step > first[0]
    assert "training" in caption and "follows it" in caption  # still training: not the end-of-run rerun
    assert page.evaluate("() => window.__tlabNotReloaded === true"), "the page was reloaded, not refreshed"
    page.locator(f"{CHART} .heatmaplayer").first.wait_for(timeout=60_000)  # and its heatmap is drawn
    assert_no_exception(page, streamlit_server)
    # Stop the run: the page stops following it and says which step it shows.
    _sidebar_link(page, "Train a model").click()
    _main(page).get_by_role("button", name="Stop", exact=True).click()
    _main(page).get_by_text("Stopped at step").wait_for(timeout=60_000)
    _sidebar_link(page, "Attention").click()
    wait_for_app(page, timeout_ms=120_000)
    shown = _shown(page)
    assert shown is not None and "follows it" not in shown[1]
    assert page.locator(EXCEPTION_SELECTOR).count() == 0


def _switched_off_note(page):
    return _main(page).get_by_text("switched off (")


@pytest.mark.timeout(900)
def test_heads_switched_off_are_all_on_again_for_the_next_model(page, open_app, streamlit_server):
    open_app(page, "attention")
    _main(page).get_by_role("button", name="Train the preset").click()
    _main(page).get_by_role("tab", name="Switch heads off").wait_for(timeout=400_000)
    wait_for_app(page, timeout_ms=120_000)
    _main(page).get_by_role("tab", name="Switch heads off").click()
    wait_for_app(page, timeout_ms=120_000)
    # Switch off head 0 of layer 0 (Streamlit's multiselect: open it, pick the option).
    box = _main(page).locator('[data-testid="stMultiSelect"]').filter(has_text="heads to switch off")
    box.click()
    page.get_by_role("option", name="D0 self · head 0").click()
    page.keyboard.press("Escape")
    _switched_off_note(page).wait_for(timeout=120_000)
    wait_for_app(page, timeout_ms=120_000)
    # The note stays above every tab while the head is off.
    _main(page).get_by_role("tab", name="One head").click()
    wait_for_app(page, timeout_ms=120_000)
    assert _switched_off_note(page).count() == 1
    # Another model: the induction demo, which also has a head 0 in decoder layer 0.
    _main(page).get_by_role("tab", name="Induction heads").click()
    wait_for_app(page, timeout_ms=120_000)
    _main(page).get_by_role("button", name="Train the induction-head demo").click()
    page.get_by_text("Training the preset").first.wait_for(timeout=120_000)
    _main(page).get_by_role("tab", name="One head").wait_for(timeout=600_000)
    wait_for_app(page, timeout_ms=120_000)
    assert _main(page).get_by_text(re.compile(r"Showing .*induction")).count() == 1
    assert _switched_off_note(page).count() == 0
    _main(page).get_by_role("tab", name="Switch heads off").click()
    wait_for_app(page, timeout_ms=120_000)
    box = _main(page).locator('[data-testid="stMultiSelect"]').filter(has_text="heads to switch off")
    assert box.get_by_text("D0 self · head 0").count() == 0  # no chosen head left in the box
    assert _switched_off_note(page).count() == 0
    assert_no_exception(page, streamlit_server)
