"""The positional_encoding lab through Streamlit's AppTest: sliders, bad input, schemes, experiment."""
from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest
from conftest import fresh_session, live_figures_of, plotly_array
from streamlit.testing.v1 import AppTest

from transformer.build import build_model
from transformer.checkpoint import checkpoint_bytes
from transformer.tasks import get_task
from transformer.ui.text import plain

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "positional_encoding.py")


# The page's five sections are tabs; only the open one is computed and drawn.
TABLE, WORD, ROTATION, SCHEMES, EXPERIMENT = (
    "1 · The sinusoidal table", "2 · Same word, two positions", "3 · Rotation", "4 · Four schemes", "5 · Experiment")


def open_page(checkpoint=None, section: str | None = None) -> AppTest:
    at = AppTest.from_function(fresh_session, args=(PAGE, checkpoint), default_timeout=90)
    return show(at, section) if section else at.run()


def show(at: AppTest, section: str) -> AppTest:
    """Open another section, as a click on its tab or a link with ?section=... does.
    (AppTest can open any section but the first this way: the first is the default.)"""
    at.query_params["section"] = section
    return at.run()


def titles(at: AppTest) -> list[str]:
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def chart(at: AppTest, title_part: str) -> dict:
    """The first Plotly figure (as a dict) whose title contains `title_part`."""
    return next(spec for spec in (json.loads(c.proto.spec) for c in at.get("plotly_chart"))
                if title_part in spec["layout"]["title"]["text"])


def shape(array) -> tuple:
    """Shape of an array in a figure's JSON: Plotly sends numpy arrays as {"bdata", "shape"}."""
    if isinstance(array, dict):
        return tuple(int(n) for n in str(array["shape"]).split(","))
    return (len(array), len(array[0])) if array and isinstance(array[0], list) else (len(array),)


def metric(at: AppTest, startswith: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(startswith))


def test_each_section_draws_only_its_own_charts_without_a_model():
    at = open_page()
    assert not at.exception
    assert [tab.label for tab in at.tabs] == [TABLE, WORD, ROTATION, SCHEMES, EXPERIMENT]
    names = titles(at)
    assert len(names) == 3 and any("wave" in t for t in names)
    assert any("depends only on the distance" in t for t in names)
    assert not any("rotated" in t or "Four ways" in t for t in names)  # the other sections wait

    show(at, WORD)
    assert not at.exception
    assert len(titles(at)) == 1 and float(metric(at, "distance with positions")) > 0

    show(at, ROTATION)
    assert any("rotated" in t for t in titles(at))
    assert float(metric(at, "largest |R_3")) < 1e-4  # the rotation check, shown as a number

    show(at, SCHEMES)
    assert any("Four ways" in t for t in titles(at))
    schemes = chart(at, "Four ways")
    notes = " ".join(a["text"].replace("<br>", " ") for a in schemes["layout"]["annotations"])
    assert "no trained model yet" in notes and "Nothing is added" in notes

    show(at, EXPERIMENT)
    assert not at.exception and titles(at) == []
    assert at.button(key="pe.run").label.startswith("Run the experiment")


@pytest.mark.parametrize("d_model,positions,base", [(4, 8, 10), (256, 512, 100_000), (6, 12, 10_000)])
def test_slider_extremes_cannot_break_the_figures(d_model, positions, base):
    at = open_page()
    at.slider(key="pe.d_model").set_value(d_model)
    at.slider(key="pe.positions").set_value(positions)
    at.select_slider(key="pe.base").set_value(base).run()
    assert not at.exception, at.exception[0].value
    heat = chart(at, "Left columns flicker")
    assert shape(heat["data"][0]["z"]) == (positions, d_model)
    show(at, WORD)
    assert not at.exception, at.exception[0].value
    assert at.slider(key="pe.pos_b").max == positions - 1
    show(at, ROTATION)
    assert not at.exception, at.exception[0].value
    assert at.slider(key="pe.k").max == min(positions - 1, 64)
    assert float(metric(at, "largest |R_")) < 1e-4
    show(at, SCHEMES)
    assert not at.exception, at.exception[0].value


def test_empty_word_and_empty_choices_get_a_sentence():
    at = open_page()
    at.multiselect(key="pe.dims.64").set_value([]).run()
    assert any("at least one dimension" in i.value for i in at.info)
    show(at, WORD)
    at.text_input(key="pe.word").set_value("   ").run()
    assert any("Type a word" in w.value for w in at.warning)
    show(at, ROTATION)
    at.multiselect(key="pe.pairs.64").set_value([]).run()
    assert not at.exception
    assert any("at least one pair" in i.value for i in at.info)


def test_a_sections_controls_keep_their_values_while_another_section_is_open():
    at = open_page(section=WORD)
    at.text_input(key="pe.word").set_value("dog").run()
    show(at, ROTATION)
    at.slider(key="pe.k").set_value(7).run()
    show(at, WORD)
    assert at.text_input(key="pe.word").value == "dog"
    show(at, ROTATION)
    assert at.slider(key="pe.k").value == 7


@pytest.mark.parametrize("pos_encoding,expected", [("learned", "Learned table from the current model"),
                                                   ("rope", "uses rope positions")])
def test_learned_column_comes_from_the_current_model_or_says_why_not(pos_encoding, expected):
    task = get_task("reverse", length=4)
    model = build_model(task.model_config("decoder", d_model=16, n_heads=2, n_layers=1, d_ff=32,
                                          pos_encoding=pos_encoding))
    at = open_page(checkpoint_bytes(model, task), section=SCHEMES)
    assert not at.exception, at.exception[0].value
    spec = chart(at, "Four ways")
    notes = " ".join(a["text"].replace("<br>", " ") for a in spec["layout"]["annotations"])
    texts = notes + " ".join(c.value for c in at.caption)
    assert expected in texts


@pytest.mark.slow
def test_experiment_trains_four_schemes_and_plots_them(stop_live_runs):
    at = open_page(section=EXPERIMENT)
    at.selectbox(key="pe.experiment").set_value("Encoder (BERT-style) on reverse")
    at.slider(key="pe.steps").set_value(100)
    at.button(key="pe.run").click().run()
    assert not at.exception
    from transformer.runs.live import LiveRun

    runs = [o for o in gc.get_objects() if type(o) is LiveRun and o.train_cfg.steps == 100]
    assert sorted(r.model_cfg.pos_encoding for r in runs) == ["learned", "none", "rope", "sinusoidal"]
    assert {r.model_cfg.arch for r in runs} == {"encoder"}
    for run in runs:
        assert run.join(timeout=150)
    at.run()
    assert not at.exception
    assert any("Final token accuracy" in s.value for s in at.success)
    # Both curves, in the frame that redraws them in place while the runs train.
    curves = live_figures_of(at, "pe.exp-curves")
    assert "learns order fastest" in curves["accuracy"]["layout"]["title"]["text"]
    assert "Validation loss" in curves["loss"]["layout"]["title"]["text"]
    for figure in curves.values():
        assert [t["name"] for t in figure["data"]] == ["sinusoidal", "learned", "rope", "none"]
        assert all(plotly_array(t["x"])[-1] == 100 for t in figure["data"])
    # The learned run's table now fills the "learned" column.
    show(at, SCHEMES)
    assert any("experiment's learned-position run" in c.value for c in at.caption)


def open_link(query: dict) -> AppTest:
    """A fresh session opened from a link with `query` parameters."""
    at = AppTest.from_function(fresh_session, args=(PAGE, None), default_timeout=90)
    for name, value in query.items():
        at.query_params[name] = value
    return at.run()


def test_a_link_reopens_the_view_and_bad_values_are_named():
    query = {"d_model": "128", "positions": "200", "base": "100", "k": "5", "section": ROTATION}
    at = open_link(query)
    assert not at.exception
    assert at.slider(key="pe.d_model").value == 128
    assert at.slider(key="pe.positions").value == 200
    assert at.select_slider(key="pe.base").value == 100
    assert at.slider(key="pe.k").value == 5
    # Moving a slider writes the new value back into the link.
    at.slider(key="pe.d_model").set_value(32).run()
    assert at.query_params["d_model"] == ["32"] or at.query_params["d_model"] == "32"

    bad = {"d_model": "7", "positions": "lots", "base": "42"}
    at = open_link(bad)
    assert not at.exception
    assert at.slider(key="pe.d_model").value == 64  # the default
    notes = " ".join(w.value for w in at.warning if w.value.startswith("Ignored the link"))
    # The notes are shown as text (escaped Markdown): compare with the escaped values.
    assert all(plain(part) in notes for part in ("d_model=7: it must be an even number from 4 to 256",
                                                 "positions=lots", "base=42"))
