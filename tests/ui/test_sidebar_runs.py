"""The sidebar lists every run of the session, not only the Train page's (AppTest).

A lesson's model and a race train in the session's run registry; the sidebar gives each one a
line while it is under way, keeps refreshing while any is, and drops the lines when they end.
"""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

APP = "../../app.py"  # relative to this file, as AppTest resolves it


class FakeRun:
    """What the sidebar reads of a run: status, progress (a LiveRun's, or a race's per model)."""

    queue_position = None
    history: list = []

    def __init__(self, progress: dict):
        self.progress, self.status = progress, "training"

    def stop(self, timeout=None) -> bool:
        self.status = "stopped"
        return True

    def join(self, timeout=None) -> bool:
        return True


def _start_runs(lesson, race):
    """Put a lesson run and a race into this session's registry, as the lesson and race pages do."""
    from transformer.ui.lesson_models import lesson_runs
    from transformer.ui.session import session_runs

    lesson_runs().add(("reverse", "decoder", 0), lesson, "Lesson reverse (decoder)")
    session_runs().put("race:main", race, "Race sort")


def _sidebar(at: AppTest) -> str:
    return " ".join(m.value for m in (*at.sidebar.markdown, *at.sidebar.caption))


def test_the_sidebar_lists_a_lesson_run_and_a_race_while_they_train():
    lesson = FakeRun({"step": 40, "total": 600})
    race = FakeRun({"RNN": {"step": 7, "total": 100}, "Transformer": {"step": 9, "total": 100}})
    AppTest.from_function(_start_runs, args=(lesson, race)).run()

    # Every AppTest shares one session: the app's sidebar shows this session's runs.
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    text = _sidebar(at)
    assert "idle: no run yet" in text  # the Train page's own run: none
    assert "**Lesson reverse \\(decoder\\)** · step 40/600" in text  # the label as text, not Markdown
    assert "**Race sort** · step 7/100" in text  # a race: its slowest model
    assert at.session_state["_sidebar_ticking"] is True, "it refreshes while a run is under way"

    race.status = "paused"
    text = _sidebar(AppTest.from_file(APP, default_timeout=60).run())
    assert "**Race sort** · paused at 7/100" in text

    lesson.status = race.status = "finished"
    at = AppTest.from_file(APP, default_timeout=60).run()
    text = _sidebar(at)
    assert "Lesson reverse" not in text and "Race sort" not in text
    assert at.session_state["_sidebar_ticking"] is False, "and stops refreshing when none is"
