"""Presenter mode on a 1280x720 projector, opened from a link (`?presenter=1`), in headless Chromium.

What a teacher at a projector needs: the link opens the projector view, the sidebar is out of
the way but its switch is one click away and on screen, no label ends in "…" (the home page's
doors, a lesson's Prev/Next), and the Train page can show its progress and all four curves at once.

"Clipped" is measured, not eyeballed: a label is clipped when an element that hides its overflow
(Streamlit truncates labels with `overflow: hidden; text-overflow: ellipsis`) holds more than it
shows (scrollWidth > clientWidth), or when the label reaches past the right edge of the window.
"""
from __future__ import annotations

import pytest

from conftest import assert_no_exception, live_frame, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PROJECTOR = {"width": 1280, "height": 720}
LOAD_TIMEOUT_MS = 120_000  # a first visit imports torch on a shared 2-core machine
# A small model trained for long enough that the run is still going while the test measures.
TRAIN_LINK = ("task=reverse&arch=decoder&length=4&d_model=16&n_heads=2&n_layers=1&d_ff=32&steps=20000&seed=0"
              "&presenter=1")
CURVES = ("loss", "accuracy", "lr", "grad_norm")

# Every element under each root that cuts its text: [root index, tag, scrollWidth, clientWidth,
# text], plus roots whose text runs past the window's right edge.
CLIPPED_JS = """(selector) => {
    const out = [];
    document.querySelectorAll(selector).forEach((root, i) => {
        for (const el of [root, ...root.querySelectorAll('*')]) {
            const style = getComputedStyle(el);
            const hides = ['hidden', 'clip'].includes(style.overflowX) || style.textOverflow === 'ellipsis';
            if (hides && el.scrollWidth > el.clientWidth + 1) {
                out.push([i, el.tagName, el.scrollWidth, el.clientWidth, el.innerText.slice(0, 60)]);
            }
        }
        const range = document.createRange();
        range.selectNodeContents(root);
        const right = range.getBoundingClientRect().right;
        if (right > window.innerWidth + 1) out.push([i, 'past the window', right, window.innerWidth, root.innerText]);
    });
    return out;
}"""


def _open(page, open_app, path: str, query: str):
    page.set_viewport_size(PROJECTOR)
    open_app(page, path, query, timeout_ms=LOAD_TIMEOUT_MS)
    return page.locator('[data-testid="stMain"]')


def _presenter_on(page) -> bool:
    return page.evaluate("() => getComputedStyle(document.documentElement).fontSize") == "21px"


def test_a_link_opens_presenter_mode_with_the_home_doors_whole_and_the_switch_in_reach(page, open_app):
    _open(page, open_app, "", "presenter=1")
    assert _presenter_on(page), "?presenter=1 did not turn presenter mode on"
    assert "presenter=1" in page.url, "the URL must keep presenter=1, so it can be shared again"
    # The doors: three page links, each label whole.
    doors = page.locator('[data-testid="stMain"] [data-testid="stPageLink"]')
    assert doors.count() == 3
    for i in range(3):
        box = doors.nth(i).bounding_box()
        assert box["width"] > 0 and box["x"] + box["width"] <= PROJECTOR["width"]
    clipped = page.evaluate(CLIPPED_JS, '[data-testid="stMain"] [data-testid="stPageLink"]')
    assert not clipped, f"door labels cut off: {clipped}"
    # The sidebar is folded away, and one click on its chevron brings the switch into view.
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert sidebar.get_attribute("data-collapsed") == "true"
    page.get_by_test_id("stExpandSidebarButton").click()
    switch = sidebar.get_by_text("Presenter mode")
    switch.wait_for(state="visible", timeout=10_000)
    page.wait_for_function("() => document.querySelector('[data-testid=\"stSidebar\"]')"
                           ".getAttribute('data-collapsed') === 'false'", timeout=10_000)
    page.wait_for_timeout(600)  # the sidebar slides in
    box = switch.bounding_box()
    assert 0 <= box["y"] and box["y"] + box["height"] <= PROJECTOR["height"], f"switch below the fold: {box}"
    # Page names in the sidebar are whole too ("Positional encoding", not "Positional enco…").
    clipped = page.evaluate(CLIPPED_JS, '[data-testid="stSidebarNav"] a')
    assert not clipped, f"page names cut off: {clipped}"


def test_presenter_mode_stays_in_the_url_across_a_page_switch_and_turns_off(page, open_app):
    _open(page, open_app, "", "presenter=1")
    page.get_by_test_id("stExpandSidebarButton").click()
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Guided lessons").click()
    page.wait_for_url("**/lessons?**", timeout=30_000)
    wait_for_app(page, timeout_ms=LOAD_TIMEOUT_MS)
    page.wait_for_function("() => location.search.includes('presenter=1')", timeout=15_000)
    assert _presenter_on(page) and "lesson=" in page.url
    # Off again: the stale presenter=1 in the URL must not turn it back on.
    page.locator('[data-testid="stSidebar"]').get_by_text("Presenter mode").click()
    page.wait_for_function("() => getComputedStyle(document.documentElement).fontSize !== '21px'", timeout=15_000)
    wait_for_app(page, timeout_ms=LOAD_TIMEOUT_MS)
    page.wait_for_function("() => !location.search.includes('presenter')", timeout=15_000)
    assert not _presenter_on(page)
    assert_no_exception(page)


def test_lesson_prev_and_next_labels_are_whole(page, open_app):
    main = _open(page, open_app, "lessons", "lesson=attention&step=5&seed=0&presenter=1")
    assert _presenter_on(page)
    # The last step of lesson 3: "← <step 4>" and "Lesson 4: <title> →", the longest labels.
    for key in ("lessons-prev", "lessons-next"):
        main.locator(f".st-key-{key} button").wait_for(timeout=20_000)
    clipped = page.evaluate(CLIPPED_JS, ".st-key-lessons-prev button, .st-key-lessons-next button")
    assert not clipped, f"Prev/Next labels cut off: {clipped}"
    assert "Lesson 4:" in main.locator(".st-key-lessons-next button").inner_text()


def test_the_train_page_shows_progress_and_all_four_curves_in_one_projector_screen(page, open_app):
    main = _open(page, open_app, "train", TRAIN_LINK)
    assert _presenter_on(page)
    main.get_by_role("button", name="Train", exact=True).click()
    try:
        progress = page.locator(".st-key-train-progress")
        progress.wait_for(timeout=30_000)
        frame = live_frame(page, "train-curves", timeout_ms=30_000)
        # All four curves drawn (each cell holds a Plotly plot once drawn).
        frame.wait_for_function(f"{list(CURVES)}.every(n => document.querySelector('#figure-' + n + ' .main-svg'))",
                                timeout=60_000)
        page.wait_for_timeout(1500)  # a refresh or two: the frame has taken its final height
        header = page.get_by_test_id("stHeader").bounding_box()
        top = progress.bounding_box()["y"]
        host = page.locator(".st-key-train-curves iframe").bounding_box()
        cells = frame.evaluate("(names) => names.map(n => { const r = document.getElementById('figure-' + n)"
                               ".getBoundingClientRect(); return [n, r.top, r.bottom, r.height]; })", list(CURVES))
        bottom = max(host["y"] + cell[2] for cell in cells)
        # Visible at once: from the top of the progress line to the bottom of the last curve
        # fits between Streamlit's header and the bottom of a 720 px screen...
        room = PROJECTOR["height"] - (header["y"] + header["height"])
        assert bottom - top <= room, f"progress and curves span {bottom - top:.0f} px; the screen has {room:.0f}"
        # ...and are in view together right after pressing Train, with no scrolling by hand.
        assert top >= header["y"] + header["height"] and bottom <= PROJECTOR["height"], (
            f"progress at {top:.0f} px and the last curve's bottom at {bottom:.0f} px: not both on screen")
        # ...and none of the four was squeezed to fit: each keeps a readable height.
        assert all(cell[3] >= 240 for cell in cells), cells
        assert "Step" in progress.inner_text()
    finally:
        main.get_by_role("button", name="Stop", exact=True).click()
        wait_for_app(page, timeout_ms=LOAD_TIMEOUT_MS)
    assert_no_exception(page)
