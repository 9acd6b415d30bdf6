"""A whole lesson in headless Chromium: every step, every question, the reveal, and the link.

Lesson 6 ("The block") needs no trained model, so a class could walk it on any machine in a
minute; the test does the same, through `streamlit run app.py`.
"""
from __future__ import annotations

import pytest

from conftest import assert_no_exception, wait_for_app
from transformer.course import load_all

pytestmark = pytest.mark.browser

LESSON = next(l for l in load_all() if l.id == "the_block")
# The first visit imports torch and builds the page on a shared 2-core machine: be patient.
LOAD_TIMEOUT_MS = 120_000


def _main(page):
    return page.locator('[data-testid="stMain"]')


def _wait_idle(page) -> None:
    wait_for_app(page, timeout_ms=LOAD_TIMEOUT_MS)


def _choose(page, question) -> None:
    radio = _main(page).locator('[data-testid="stRadio"]').filter(has_text=question.prompt[:40])
    radio.get_by_text(question.answer, exact=True).click()
    _wait_idle(page)


def test_walk_a_whole_lesson(page, open_app, streamlit_server):
    open_app(page, "lessons", f"lesson={LESSON.id}&step=1&seed=0", timeout_ms=LOAD_TIMEOUT_MS)
    main = _main(page)
    for i, step in enumerate(LESSON.steps):
        main.get_by_role("heading", name=f"{i + 1}. {step.title}").wait_for(timeout=20_000)
        assert f"step={i + 1}" in page.url and f"lesson={LESSON.id}" in page.url
        q = step.question
        if q is not None and q.kind == "predict":
            charts = main.locator('[data-testid="stPlotlyChart"]').count()
            _choose(page, q)
            main.get_by_role("button", name="Lock in my prediction").click()
            main.get_by_role("button", name="Predict again").wait_for(timeout=20_000)
            _wait_idle(page)
            assert main.locator('[data-testid="stPlotlyChart"]').count() > charts
            main.get_by_role("button", name="Compare with what you saw").click()
            _wait_idle(page)
        elif q is not None:
            _choose(page, q)
        if q is not None:
            main.locator('[data-testid="stAlertContentSuccess"]').filter(has_text="Right.").wait_for(timeout=20_000)
            assert q.explanation[:60].split("{{")[0] in main.inner_text()
        assert_no_exception(page, streamlit_server)
        if i + 1 < len(LESSON.steps):
            main.get_by_role("button", name=f"{LESSON.steps[i + 1].title} →").click()
            _wait_idle(page)
    main.get_by_text(f"Lesson {LESSON.number} done").wait_for(timeout=20_000)
    # The finished lesson is ticked in the picker.
    picker = main.locator('[data-testid="stSelectbox"]').first
    # Scroll first and let the scroll finish: Streamlit's combobox closes its list on any scroll,
    # and a click that scrolls the page up would open and close it at once.
    picker.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    picker.click()
    page.get_by_role("option", name=f"✅ {LESSON.number} · {LESSON.title}").wait_for(timeout=20_000)


def test_a_step_link_opens_that_step_and_presenter_mode_enlarges_it(page, open_app, streamlit_server):
    attention = next(l for l in load_all() if l.id == "attention")
    open_app(page, "lessons", "lesson=attention&step=2&seed=3", timeout_ms=LOAD_TIMEOUT_MS)
    main = _main(page)
    main.get_by_role("heading", name=f"2. {attention.steps[1].title}").wait_for(timeout=20_000)
    normal = main.get_by_role("heading", name=f"2. {attention.steps[1].title}").bounding_box()["height"]
    page.locator('[data-testid="stSidebar"]').get_by_text("Presenter mode").click()
    _wait_idle(page)
    headline = main.get_by_role("heading", name=attention.steps[1].title, exact=True)
    headline.wait_for(timeout=20_000)
    assert headline.bounding_box()["height"] > normal
    assert main.get_by_text("Lesson controls").count() == 1
    assert "seed=3" in page.url
    assert_no_exception(page, streamlit_server)
