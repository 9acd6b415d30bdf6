"""The embeddings page through Streamlit's AppTest: film, contexts, neighbours, words, bad input."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import fresh_session
from streamlit.testing.v1 import AppTest

from transformer.build import build_model
from transformer.checkpoint import checkpoint_bytes
from transformer.runs.live import LiveRun
from transformer.tasks import get_task
from transformer.training import TrainConfig

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "embeddings.py")


def open_page(**source) -> AppTest:
    return AppTest.from_function(fresh_session, args=(PAGE,), kwargs=source, default_timeout=90).run()


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def chart(at: AppTest, title_part: str) -> dict:
    return next(spec for spec in charts(at) if title_part in spec["layout"]["title"]["text"])


@pytest.fixture(scope="module")
def sentiment_run():
    """A tiny finished sentiment encoder run with several snapshots (a few seconds)."""
    task = get_task("sentiment")
    cfg = task.model_config("encoder", d_model=16, n_heads=2, n_layers=2, d_ff=32)
    train = TrainConfig(steps=40, batch_size=32, warmup=5, eval_every=20, eval_size=64, seed=0)
    run = LiveRun(task, cfg, train, snapshot_every=10, snapshot_min_s=0.0).start()
    assert run.join(timeout=120) and run.status == "finished"
    return run


def test_without_a_model_the_page_offers_the_preset():
    at = open_page()
    assert not at.exception
    assert any("Train the preset" in b.label for b in at.button)
    assert not at.get("plotly_chart")


def test_trained_run_shows_film_contexts_neighbours_and_words(sentiment_run):
    at = open_page(run=sentiment_run)
    assert not at.exception, at.exception[0].value
    film = chart(at, "Watch the space form")
    n_snaps = len(sentiment_run.snapshots)
    assert len(film["frames"]) == n_snaps > 1
    assert film["layout"]["sliders"][0]["steps"][-1]["label"] == str(sentiment_run.snapshots[-1].step)
    # A run with a history gets the film only: not also the checkpoint's static picture.
    assert not any("no training history" in c.value for c in at.caption)
    legend = {t["name"] for t in film["data"]}
    assert {"positive", "negative", "negation"} <= legend and "special" not in legend  # specials left out
    context = chart(at, "after each layer")
    assert [f["name"] for f in context["frames"]] == ["embed", "encoder.0", "encoder.1"]
    labels = sum((t["text"] for t in context["data"]), [])
    assert "the·1" in labels and "the·7" in labels  # "[CLS] the movie was not good but the acting ..."
    assert at.dataframe, "a table of cosine similarities of the repeated tokens"
    cos = chart(at, "point the same way")
    assert cos["data"][0]["x"][:3] == ["good", "great", "brilliant"]
    neighbours = chart(at, "Nearest neighbours of 'good'")
    assert "positive" not in neighbours["data"][0]["y"] and "<pad>" not in neighbours["data"][0]["y"]
    words = chart(at, "separates positive from negative")
    assert {t["name"] for t in words["data"]} >= {"positive", "negative"}
    assert any("good − bad + boring" in m.value for m in at.markdown)


def test_positions_3d_and_bad_input(sentiment_run):
    at = open_page(run=sentiment_run)
    at.radio(key="emb.dims").set_value("3-D").run()
    assert not at.exception
    assert chart(at, "Watch the space form")["data"][0]["type"] == "scatter3d"
    assert not any("no training history" in c.value for c in at.caption)  # the film only
    at.radio(key="emb.table").set_value("positions").run()
    assert not at.exception
    assert not any("no training history" in c.value for c in at.caption)
    assert any("Sinusoidal positions are fixed" in c.value for c in at.caption)
    at.text_input(key="emb.text.sentiment").set_value("the zebra was good").run()
    assert not at.exception
    assert any("zebra" in e.value for e in at.error)
    at.multiselect(key="emb.chosen.sentiment").set_value(["good"]).run()
    assert any("at least two tokens" in i.value for i in at.info)
    at.selectbox(key="emb.b.sentiment").set_value("bad").run()  # a == b
    assert any("three different tokens" in i.value for i in at.info)


@pytest.mark.parametrize("arch,pos_encoding,why", [
    ("gru", "sinusoidal", "reads tokens one after another"),
    ("decoder", "rope", "rotary positions"),
    ("decoder", "none", "no positional encoding at all"),
])
def test_a_model_without_a_position_table_says_why(arch, pos_encoding, why):
    task = get_task("reverse", length=5)
    model = build_model(task.model_config(arch, d_model=16, n_heads=2, n_layers=1, d_ff=32,
                                          pos_encoding=pos_encoding))
    at = open_page(checkpoint=checkpoint_bytes(model, task))
    assert not at.exception, at.exception[0].value
    # A checkpoint has no history: one still picture, not a film.
    assert chart(at, "treats alike")["data"]
    assert any("no training history" in c.value for c in at.caption)
    # Letters are not words: the space-of-words section says so and offers the sentiment preset.
    assert any("word-level tokens" in i.value for i in at.info)
    at.radio(key="emb.table").set_value("positions").run()
    assert not at.exception
    assert any(why in i.value for i in at.info)
    # Contextual states work for transformers and recurrent models alike. The answer repeats the
    # question's letters, and with no position vector added the two copies start identical.
    assert chart(at, "after each layer")["frames"][0]["name"] == "embed"
    table = at.dataframe[0].value
    assert len(table) >= 1 and (table["embed"] > 0.999).all()


def test_learned_positions_are_projected():
    task = get_task("reverse", length=5)
    model = build_model(task.model_config("decoder", d_model=16, n_heads=2, n_layers=1, d_ff=32,
                                          pos_encoding="learned"))
    at = open_page(checkpoint=checkpoint_bytes(model, task))
    at.radio(key="emb.table").set_value("positions").run()
    assert not at.exception
    points = chart(at, "treats alike")["data"][0]
    assert points["text"] == [str(p) for p in range(model.cfg.max_len)]


def test_the_film_shows_what_training_changed_unless_asked_for_the_vectors(sentiment_run):
    """Issue 17: a small model's table hardly moves from its random start, so by default the film
    draws E_t - E_0 (in its first frame every point is at the same place) and says why."""
    import numpy as np

    from conftest import plotly_array

    at = open_page(run=sentiment_run)
    first = chart(at, "Watch the space form")["frames"][0]["data"][0]
    assert np.ptp(plotly_array(first["x"])) < 1e-6       # no change yet: one point
    assert any("hardly move" in c.value for c in at.caption)
    at.radio(key="emb.delta").set_value("the vectors themselves").run()
    first = chart(at, "Watch the space form")["frames"][0]["data"][0]
    assert np.ptp(plotly_array(first["x"])) > 0.1        # the random start, spread out
