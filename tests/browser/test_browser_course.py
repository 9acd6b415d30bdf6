"""Issue 17 in a real browser: predict, observe, then explain; options in the step's own order.

A prediction is locked first; the live part is drawn; only "Compare with what you saw" shows
whether it was right and why. A trained part keeps the comparison closed until its model has
trained. The options are shown in the order the course fixed for the step, not the file's.
"""
from __future__ import annotations

import pytest

from conftest import CHART, assert_no_exception, wait_for_app
from transformer.course import load_all

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LESSONS = {l.id: l for l in load_all()}
ATTENTION = LESSONS["attention"]
# The first visit imports torch and builds the page on a shared 2-core machine: be patient.
LOAD_MS = 120_000
STEP_MS = 60_000


def _main(page):
    return page.locator('[data-testid="stMain"]')


def _step(widget_name: str) -> int:
    return next(i for i, s in enumerate(ATTENTION.steps) if s.widget and s.widget.name == widget_name)


def _feedback(page):
    """The verdict boxes of the question (right or wrong) now on the page."""
    main = _main(page)
    return (main.locator('[data-testid="stAlertContentSuccess"]').filter(has_text="Right.").count()
            + main.locator('[data-testid="stAlertContentError"]').filter(has_text="Not quite").count())


def _lock(page, question, option: str) -> None:
    main = _main(page)
    radio = main.locator('[data-testid="stRadio"]').filter(has_text=question.prompt[:40])
    radio.get_by_text(option, exact=True).click()
    wait_for_app(page, timeout_ms=STEP_MS)
    main.get_by_role("button", name="Lock in my prediction").click()
    main.get_by_role("button", name="Predict again").wait_for(timeout=STEP_MS)
    wait_for_app(page, timeout_ms=STEP_MS)


def test_the_answer_waits_until_the_live_part_has_been_seen(page, open_app, streamlit_server):
    index = _step("attention_by_hand")
    q = ATTENTION.steps[index].question
    wrong = next(o for o in q.options if o != q.answer)
    open_app(page, "lessons", f"lesson=attention&step={index + 1}&seed=0", timeout_ms=LOAD_MS)
    main = _main(page)
    assert main.locator(CHART).count() == 0                 # hidden until a prediction is locked
    _lock(page, q, wrong)
    main.locator(CHART).first.wait_for(timeout=STEP_MS)      # the live part is drawn...
    assert _feedback(page) == 0                              # ...but nothing says right or wrong yet
    assert q.explanation[:50] not in main.inner_text()
    assert main.get_by_text(f"Locked in: {wrong}").count() == 1
    main.get_by_role("button", name="Compare with what you saw").click()
    main.locator('[data-testid="stAlertContentError"]').filter(has_text="Not quite").wait_for(timeout=STEP_MS)
    assert q.explanation[:50] in main.inner_text()
    assert_no_exception(page, streamlit_server)


def test_a_trained_part_keeps_the_comparison_closed_until_it_has_trained(page, open_app, streamlit_server):
    index = _step("attention_heatmap")
    q = ATTENTION.steps[index].question
    open_app(page, "lessons", f"lesson=attention&step={index + 1}&seed=0", timeout_ms=LOAD_MS)
    _lock(page, q, q.answer)
    main = _main(page)
    main.get_by_role("button", name="Train the preset").wait_for(timeout=STEP_MS)
    assert main.get_by_role("button", name="Compare with what you saw").is_disabled()
    assert main.get_by_text("Train the model above first").count() == 1
    assert _feedback(page) == 0
    assert_no_exception(page, streamlit_server)


def test_options_appear_in_the_steps_order_not_the_files(page, open_app, streamlit_server):
    # A question whose right answer the file lists first, shown elsewhere on screen.
    lesson, index, q = next((l, i, q) for l in LESSONS.values() for i, q in l.questions
                            if q.kind == "choice" and q.answer_index == 0 and q.shown_options[0] != q.answer)
    open_app(page, "lessons", f"lesson={lesson.id}&step={index + 1}&seed=0", timeout_ms=LOAD_MS)
    radio = _main(page).locator('[data-testid="stRadio"]').filter(has_text=q.prompt[:40])
    radio.wait_for(timeout=STEP_MS)
    shown = [t.strip() for t in radio.get_by_role("radiogroup").locator("label").all_inner_texts()]
    assert shown == list(q.shown_options)
    assert shown[0] != q.answer
    assert_no_exception(page, streamlit_server)
