"""A class follows the teacher's run in real browsers: the same run, read only, no run of their own.

The teacher shares the Train page's run under a class code and presses Train, then Pause and
Step; a student who opens the link sees that run's progress (paused, then one step further),
has no Train, Pause, Step or Stop button, and finds the same model on the Attention page
without being offered a training of their own.
"""
from __future__ import annotations

import re
import time

import pytest

from conftest import assert_no_exception, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SLOW_MS = 240_000
STEP = re.compile(r"Step (\d+) of")


def _main(page):
    return page.locator('[data-testid="stMain"]')


def _poll(read, condition, seconds: float, what: str) -> str:
    deadline = time.monotonic() + seconds
    text = read()
    while not condition(text) and time.monotonic() < deadline:
        time.sleep(0.5)
        text = read()
    assert condition(text), f"{what}; the page says:\n{text[:3000]}"
    return text


def _share(teacher) -> str:
    """Open "Share with the class", give a name, press "Share my run": the class code."""
    teacher.get_by_role("button", name=re.compile("Share with the class")).click()
    teacher.get_by_placeholder("the teacher").fill("Ms <b>Rivera</b>")
    teacher.get_by_placeholder("the teacher").press("Enter")
    wait_for_app(teacher, timeout_ms=SLOW_MS)
    teacher.get_by_role("button", name="Share my run").click()
    wait_for_app(teacher, timeout_ms=SLOW_MS)
    text = _poll(lambda: teacher.locator("body").inner_text(), lambda t: "Class code:" in t, 60, "a class code")
    code = re.search(r"Class code: ([A-Z0-9]{5})", text).group(1)
    assert f"?follow={code}" in text  # the link to give the class
    teacher.keyboard.press("Escape")
    return code


@pytest.mark.timeout(900)
def test_students_follow_the_teachers_run_read_only(page, browser, open_app, streamlit_server):
    teacher = page
    open_app(teacher, "train", timeout_ms=SLOW_MS)
    code = _share(teacher)
    teacher.get_by_role("button", name="Train", exact=True).click()
    wait_for_app(teacher, timeout_ms=SLOW_MS)
    teacher.get_by_role("button", name="Pause", exact=True).click()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        student = context.new_page()
        open_app(student, "train", query=f"follow={code.lower()}", timeout_ms=SLOW_MS)
        main = lambda: _main(student).inner_text()
        # Whose run it is, with the name shown as typed (text, never HTML).
        text = _poll(main, lambda t: "You are following" in t and "paused" in t, 180,
                     "the teacher's run, paused, on the student's Train page")
        assert "Ms <b>Rivera</b>" in text
        for name in ("Train", "Pause", "Resume", "Step", "Stop", "Reset"):
            assert _main(student).get_by_role("button", name=name, exact=True).count() == 0, name
        before = int(STEP.search(text).group(1))
        # The teacher's Step is what the class sees.
        teacher.get_by_role("button", name="Step", exact=True).click()
        _poll(main, lambda t: STEP.search(t) and int(STEP.search(t).group(1)) == before + 1, 120,
              "the teacher's single step on the student's page")
        assert_no_exception(student, streamlit_server)

        # The same model on the Attention page, through the app's own navigation (same session).
        student.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Attention").click()
        wait_for_app(student, timeout_ms=SLOW_MS)
        text = _poll(main, lambda t: "Showing reverse" in t, 120, "the followed model")
        assert "Train the preset" not in text and "induction-head demo" not in text
        sidebar = student.locator('[data-testid="stSidebarUserContent"]').inner_text()
        assert "Following" in sidebar and code in sidebar
        assert_no_exception(student, streamlit_server)
    finally:
        context.close()
    teacher.get_by_role("button", name="Stop", exact=True).click()
    wait_for_app(teacher, timeout_ms=SLOW_MS)


@pytest.mark.timeout(300)
def test_an_unknown_class_code_is_one_sentence_and_no_following(page, open_app, streamlit_server):
    open_app(page, "train", query="follow=ZZZZZ<script>", timeout_ms=SLOW_MS)
    sidebar = page.locator('[data-testid="stSidebarUserContent"]').inner_text()
    assert "No class is sharing a run under the code" in sidebar and "ZZZZZ<script" in sidebar  # as text, not markup
    assert _main(page).get_by_role("button", name="Train", exact=True).count() == 1
