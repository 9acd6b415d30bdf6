"""The RNN vs Transformer page under Streamlit's AppTest: settings, a real tiny race, stop, refusals.

AppTest does not tick `st.fragment(run_every=...)`, so tests poll with `at.run()`.
"""
from __future__ import annotations

import gc
from pathlib import Path

from conftest import live_figures_of, open_apptest, plotly_array, rerun_until
from streamlit.testing.v1 import AppTest

from transformer.runs.race import RaceRun

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "rnn_vs_transformer.py")


def page(query: dict | None = None, **sizes) -> AppTest:
    at = open_apptest(PAGE, query)
    for key, value in sizes.items():
        at.number_input(key=f"rnn.{key}").set_value(value)
    if sizes:
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def tiny(at: AppTest, models=("decoder", "lstm"), length=3, steps=20) -> AppTest:
    """Shrink the race so a test trains it in seconds."""
    at.number_input(key="rnn.length").set_value(length)
    at.number_input(key="rnn.steps").set_value(steps)
    at.multiselect(key="rnn.models").set_value(list(models))
    for key, value in (("d_model", 16), ("n_heads", 2), ("t_layers", 1), ("d_ff", 32)):
        at.number_input(key=f"rnn.{key}").set_value(value)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def poll(at: AppTest, done, timeout=120.0) -> None:
    assert rerun_until(at, done, timeout), "the page did not reach the expected state in time"


def table_with(at: AppTest, column: str):
    """The first dataframe on the page that has `column` (AppTest does not expose their keys)."""
    for frame in at.dataframe:
        if column in frame.value.columns:
            return frame.value
    raise AssertionError(f"no table with a '{column}' column")


def open_tab(at: AppTest, label: str) -> AppTest:
    """Open one of the "Why?" tabs (only the open one is drawn), as a click on it does."""
    at.session_state["rnn.why"] = label
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def test_page_opens_with_parameter_matched_models():
    at = page()
    sizes = table_with(at, "width (d_model / hidden)")
    assert list(sizes["model"]) == ["Transformer", "RNN", "GRU", "LSTM"]
    counts = list(sizes["parameters"])
    assert max(counts) <= 1.1 * min(counts)           # "about the same number of parameters"
    assert not at.error
    assert at.button(key="rnn.start").disabled is False
    assert at.button(key="rnn.stop").disabled is True
    # The explanation tabs draw from untrained models before any race: gradients and memory.
    assert [t.label for t in at.tabs] == ["Parallelism", "Vanishing gradients", "Memory", "Recurrence → attention",
                                          "Complexity"]
    assert len(at.get("plotly_chart")) == 0  # only the open tab (Parallelism) is drawn: nothing measured yet
    assert len(open_tab(at, "Vanishing gradients").get("plotly_chart")) == 1  # at initialisation
    assert len(open_tab(at, "Memory").get("plotly_chart")) >= 1


def test_preset_and_link_fill_the_settings():
    at = page({"preset": "parity"})
    assert at.selectbox(key="rnn.task").value == "parity"
    at.selectbox(key="rnn.preset").set_value("reverse-long").run()
    assert at.selectbox(key="rnn.task").value == "reverse"
    assert at.number_input(key="rnn.length").value == 12
    assert at.query_params["preset"] == "reverse-long"
    link = {"task": "recall", "length": "5", "models": "lstm,decoder", "steps": "70", "d_model": "32",
            "pos": "rope", "rnn_layers": "2", "seed": "9999999999"}
    at = page(link)
    assert at.selectbox(key="rnn.task").value == "recall"
    assert at.number_input(key="rnn.length").value == 5
    assert at.multiselect(key="rnn.models").value == ["lstm", "decoder"]
    assert at.number_input(key="rnn.steps").value == 70
    assert at.number_input(key="rnn.d_model").value == 32
    assert at.selectbox(key="rnn.pos").value == "rope"
    assert at.number_input(key="rnn.rnn_layers").value == 2
    assert at.number_input(key="rnn.seed").value == 0          # out of range in the link: ignored
    # The page writes its settings back, so the address bar reopens this view.
    assert at.query_params["d_model"] == "32" and at.query_params["models"] == "lstm,decoder"
    assert "n_heads" not in at.query_params                    # unchanged sizes stay out of the link


def test_bad_settings_get_one_sentence_and_no_start():
    at = page({"task": "brackets"})
    at.number_input(key="rnn.length").set_value(7).run()
    assert "must be even" in at.error[0].value
    assert at.button(key="rnn.start").disabled
    at.number_input(key="rnn.length").set_value(8)
    at.multiselect(key="rnn.models").set_value([]).run()
    assert "at least one model" in at.error[0].value


def test_a_model_too_big_for_the_machine_is_refused_naming_the_limit():
    at = page()
    at.number_input(key="rnn.d_model").set_value(512)
    at.number_input(key="rnn.d_ff").set_value(2048)
    at.number_input(key="rnn.t_layers").set_value(4).run()
    assert "limit is 1,000,000" in at.error[0].value
    assert at.button(key="rnn.start").disabled


def test_a_tiny_race_runs_to_the_end_and_tests_longer_inputs(stop_races):
    at = tiny(page())
    at.button(key="rnn.start").click().run()
    poll(at, lambda at: "Race finished" in captions(at))
    progress = table_with(at, "own compute (s)")
    assert list(progress["step"]) == [20, 20]
    assert all("finished" in s for s in progress["status"])
    lengths = table_with(at, "length 6")                    # trained on up to 3, tested up to 2N = 6
    assert list(lengths["model"]) == ["Transformer", "LSTM"]
    assert at.button(key="rnn.stop").disabled
    # The settings folded to one line when the race started; opened, they are as they were.
    assert not at.number_input and "length 3" in at.expander[0].label and "20 steps each" in at.expander[0].label
    at.session_state["rnn.settings_open"] = True
    at.run()
    assert at.number_input(key="rnn.length").value == 3 and at.number_input(key="rnn.steps").value == 20
    assert at.multiselect(key="rnn.models").value == ["decoder", "lstm"]
    # Curves against steps and against seconds, in the frame that redraws them in place: each
    # model's loss and accuracy, evaluated up to the last step...
    curves = live_figures_of(at, "rnn.race-curves")
    assert list(curves) == ["step", "train_s"]
    assert [t["name"] for t in curves["step"]["data"]] == ["Transformer", "Transformer", "LSTM", "LSTM"]
    assert all(plotly_array(t["x"])[-1] == 20 for t in curves["step"]["data"])
    assert all(plotly_array(t["x"])[-1] > 0 for t in curves["train_s"]["data"])
    # ...accuracy against length...
    assert len(at.get("plotly_chart")) == 1
    # ...and, in their tab, the gradients before and after training.
    assert len(open_tab(at, "Vanishing gradients").get("plotly_chart")) == 1 + 2


def test_stop_ends_the_race_thread(stop_races):
    at = tiny(page(), steps=5000)
    at.button(key="rnn.start").click().run()
    poll(at, lambda at: at.button(key="rnn.stop").disabled is False and "Training" in captions(at))
    at.button(key="rnn.stop").click().run()
    races = [r for r in gc.get_objects() if type(r) is RaceRun]
    assert races and not any(r.alive for r in races)
    poll(at, lambda at: "Stopped" in captions(at))
    assert at.button(key="rnn.stop").disabled


def test_measuring_step_time_fills_the_complexity_table():
    at = tiny(page(), models=("decoder", "rnn"))
    at.button(key="rnn.measure").click().run()
    assert not at.exception
    table = open_tab(at, "Complexity").table[0].value
    assert "ms/step at 128 tokens" in table.columns
    assert list(table["sequential steps"]) == ["O(1)", "O(n)"]


def test_dates_race_draws_the_alignment_and_rejects_a_bad_date(stop_races):
    at = open_tab(page(), "Recurrence → attention")
    at.number_input(key="rnn.dates_steps").set_value(10)
    at.button(key="rnn.dates_start").click().run()
    poll(at, lambda at: len(at.text_input) > 0)       # the alignment appears when training ends
    assert sum(" writes " in m.value for m in at.markdown) == 2    # both models' answers
    curves = live_figures_of(at, "rnn.dates-curves")["step"]
    assert len(curves["data"]) == 4 and len({t["name"] for t in curves["data"]}) == 2   # 2 models × loss, accuracy
    before = len(at.get("plotly_chart"))
    at.text_input(key="rnn.date").set_value("31 Foo 2020").run()
    assert "month" in at.error[0].value.lower() or "unknown" in at.error[0].value.lower()
    assert len(at.get("plotly_chart")) == before - 1
