"""The Learning vs memorising page under AppTest: predict, run a real (shortened) experiment,
and read a result that quotes the run's own numbers; Stop ends a run.

AppTest does not tick `st.fragment(run_every=...)`, so tests poll with `at.run()`.
"""
from __future__ import annotations

import gc
from pathlib import Path

import pytest
from conftest import open_apptest, rerun_until, stop_all_races
from streamlit.testing.v1 import AppTest

from transformer.analysis import generalisation
from transformer.analysis.generalisation import overfitting_table
from transformer.runs.race import RaceRun

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "learning_vs_memorising.py")


@pytest.fixture
def short_runs(monkeypatch):
    """Experiments of a few dozen steps, and every race the page started stopped afterwards."""
    monkeypatch.setitem(generalisation.OVERFIT, "steps", 40)
    monkeypatch.setitem(generalisation.OVERFIT, "eval_every", 10)
    monkeypatch.setitem(generalisation.TRANSFER, "pretrain_steps", 4000)
    yield
    stop_all_races("experiment thread(s)")


def page() -> AppTest:
    return open_apptest(PAGE)


def poll(at: AppTest, done, timeout=240.0) -> None:
    assert rerun_until(at, done, timeout, interval=0.5), "the page did not reach the expected state in time"


def texts(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


def the_race(name: str) -> RaceRun:
    races = [r for r in gc.get_objects() if type(r) is RaceRun and name in r.entries]
    assert len(races) == 1
    return races[0]


def test_the_page_opens_on_the_first_experiment_with_a_prediction():
    at = page()
    assert at.title[0].value == "Learning vs memorising"
    radio = at.radio(key="gen.predict.overfitting")
    assert radio.value is None  # nothing is predicted for the student
    assert any(o.startswith("Ten times the data") for o in radio.options)
    assert at.button(key="gen.start.overfitting").label.startswith("Run the experiment (5 runs")
    assert "Make your prediction" in "\n".join(i.value for i in at.info)


def test_a_run_reveals_its_own_numbers_beside_the_prediction(short_runs):
    at = page()
    at.radio(key="gen.predict.overfitting").set_value("Dropout")
    at.run()
    at.button(key="gen.start.overfitting").click()
    at.run()
    assert at.radio(key="gen.predict.overfitting").disabled  # a prediction is not changed mid-run
    poll(at, lambda a: "**This run:**" in texts(a))
    race = the_race("+ early stopping")
    assert race.status == "finished"
    table = overfitting_table(race.evals)
    base = table[0]
    shown = texts(at)
    assert "**You predicted:** Dropout" in shown
    assert f"baseline got {base['train_acc']:.0%} of its training sums right and {base['val_acc']:.0%} of new ones" in shown
    best = max(table, key=lambda r: r["val_acc"])
    assert f"**{best['run']}**, {best['val_acc']:.0%}" in shown
    (frame,) = [d.value for d in at.dataframe if "new sums right" in d.value.columns]
    assert list(frame["run"]) == [r["run"] for r in table]


def test_stop_ends_an_experiment_and_keeps_its_curves(short_runs):
    at = page()
    at.selectbox(key="gen.length").set_value("short")
    at.run()
    # Open the transfer tab: only the open tab is drawn.
    at.tabs[0]  # the tab bar exists
    at.session_state["gen.tab"] = "3 · Transfer learning"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.button(key="gen.start.transfer").click()
    at.run()
    poll(at, lambda a: not a.button(key="gen.stop.transfer").disabled, timeout=60)
    at.button(key="gen.stop.transfer").click()
    at.run()
    poll(at, lambda a: "Stopped" in texts(a), timeout=60)
    race = the_race(generalisation.PRETRAIN)
    assert race.status == "stopped" and not race.alive
    assert at.button(key="gen.start.transfer").disabled is False
