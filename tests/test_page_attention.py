"""The attention page through Streamlit's AppTest: figures for a trained induction model, the
scrubber over training time, head ablation, bad input, and cross-attention of an encoder-decoder."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import plotly_array
from streamlit.testing.v1 import AppTest

from transformer import build_model
from transformer.checkpoint import checkpoint_bytes
from transformer.interpret import induction_demo_configs
from transformer.runs.live import LiveRun
from transformer.tasks import get_task

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "attention.py")
CUSTOM = "✎ type your own…"


def _fresh_session(page, run=None, checkpoint=None):
    """AppTest script: a clean session (AppTests share one session id), then `run` or
    `checkpoint` as the current model, then the page."""
    import runpy

    import streamlit as st

    from transformer.ui.session import get_lab, load_checkpoint_bytes

    if "test.fresh" not in st.session_state:
        st.session_state["test.fresh"] = True
        st.cache_resource.clear()
        if run is not None:
            get_lab().set_run(run)
        if checkpoint is not None:
            load_checkpoint_bytes(checkpoint, "test.pt")
    runpy.run_path(page, run_name="__main__")


def open_page(**source) -> AppTest:
    return AppTest.from_function(_fresh_session, args=(PAGE,), kwargs=source, default_timeout=120).run()


def chart(at: AppTest, title_part: str) -> dict:
    for c in at.get("plotly_chart"):
        spec = json.loads(c.proto.spec)
        if title_part in json.dumps(spec.get("layout", {}).get("title", ""), ensure_ascii=False):
            return spec
    raise AssertionError(f"no chart titled '{title_part}'")


def no_exception(at: AppTest) -> None:
    assert not at.exception, at.exception[0].value


@pytest.fixture(scope="module")
def induction_run():
    """The induction demo, shortened to 150 steps: the head forms around step 90 (seed 0)."""
    task, model_cfg, train_cfg = induction_demo_configs(steps=150)
    run = LiveRun(task, model_cfg, train_cfg, snapshot_every=10, snapshot_min_s=0.0, snapshot_budget=0.5).start()
    assert run.join(timeout=170) and run.status == "finished"
    return run


def test_without_a_model_the_page_offers_presets():
    at = open_page()
    no_exception(at)
    labels = [b.label for b in at.button]
    assert any("Train the preset" in label for label in labels)
    assert any("induction-head demo" in label for label in labels)
    assert not at.get("plotly_chart")


@pytest.mark.slow
def test_trained_model_shows_every_view(induction_run):
    at = open_page(run=induction_run)
    no_exception(at)
    heat = chart(at, "head 0:")
    assert heat["data"][0]["zmin"] == 0 and heat["data"][0]["zmax"] == 1
    ticks = heat["layout"]["xaxis"]["ticktext"]
    assert ticks[0] == "&lt;bos&gt;" and "&lt;sep&gt;" in ticks
    assert "induction" in heat["layout"]["title"]["text"]  # layer 1's head, described from its weights
    grid = chart(at, "Every head of the decoder self-attention")
    assert sum(t["type"] == "heatmap" and t.get("coloraxis") == "coloraxis" for t in grid["data"]) == 2
    chart(at, "Lines from each query")
    film = chart(at, "Attention over training")
    assert len(film["frames"]) == len(induction_run.snapshots)
    assert [s["label"] for s in film["layout"]["sliders"][0]["steps"]][-1] == str(induction_run.snapshots[-1].step)
    assert any("match the model's own" in s.value for s in at.success)
    formed = [s.value for s in at.success if "formed at step" in s.value]
    assert formed and "D1 self · head 0" in formed[0]
    curves = chart(at, "induction score jumps")
    assert any(shape.get("x0") is not None for shape in curves["layout"]["shapes"])


@pytest.mark.slow
def test_scrubbing_back_shows_the_untrained_model(induction_run):
    at = open_page(run=induction_run)
    first, last = induction_run.snapshots[0].step, induction_run.snapshots[-1].step
    heat_late = plotly_array(chart(at, "head 0:")["data"][0]["z"])
    at.select_slider(key="att.step").set_value(first).run()
    no_exception(at)
    marker = chart(at, "◆ = this snapshot")
    assert marker["data"][1]["x"] == [first]
    heat_early = plotly_array(chart(at, "head 0:")["data"][0]["z"])
    # Untrained, rows are nearly uniform, so each query's largest weight is far smaller than after
    # training (the untrained model also answers differently, so the two inputs differ in length).
    sharpness = [float(np.mean(np.nanmax(h[6:], axis=1))) for h in (heat_early, heat_late)]
    assert sharpness[0] < 0.5 < sharpness[1]
    at.select_slider(key="att.step").set_value(last).run()
    assert chart(at, "◆ = this snapshot")["data"][1]["x"] == [last]


@pytest.mark.slow
def test_ablating_the_induction_head_breaks_the_task(induction_run):
    at = open_page(run=induction_run)
    before = {m.label: m.value for m in at.metric}
    assert before["sequence accuracy on 24 examples"] in ("100%", "96%", "92%")
    at.multiselect(key="att.ablate").set_value([("decoder.1.self_attn", 0)]).run()
    no_exception(at)
    after = {m.label: m for m in at.metric}
    seq = after["sequence accuracy on 24 examples"]
    assert int(seq.value.rstrip("%")) <= 20 and seq.delta.startswith("-")
    assert any("head off" in md.value for md in at.markdown)
    at.multiselect(key="att.ablate").set_value([]).run()
    assert {m.label: m.value for m in at.metric} == before


@pytest.mark.slow
def test_bad_input_gets_one_sentence(induction_run):
    at = open_page(run=induction_run)
    at.selectbox(key="att.example").set_value(CUSTOM).run()
    at.text_input(key="att.text").set_value("").run()
    assert at.error and at.error[0].value.startswith("The input is empty")
    at.text_input(key="att.text").set_value("abc1").run()
    assert "'1'" in at.error[0].value
    at.text_input(key="att.text").set_value("abcdefghijklmn").run()  # 14 letters; the task takes 12
    no_exception(at)
    assert at.warning and "truncate" in at.warning[0].value
    at.button(key="att.truncate").click().run()
    no_exception(at)
    assert not at.warning and not at.error
    assert at.text_input(key="att.text").value == "abcdefghijkl"
    assert chart(at, "head 0:")


def test_encoder_decoder_checkpoint_shows_cross_attention():
    task = get_task("dates")
    torch.manual_seed(0)
    model = build_model(task.model_config("encoder-decoder", d_model=16, n_heads=2, n_layers=1, d_ff=32))
    at = open_page(checkpoint=checkpoint_bytes(model, task))
    no_exception(at)
    layers = at.selectbox(key="att.layer").options
    assert "decoder layer 0 · cross-attention (decoder → encoder)" in layers
    at.selectbox(key="att.example").set_value(CUSTOM).run()
    at.text_input(key="att.text").set_value("22 Nov 2026").run()
    at.selectbox(key="att.layer").set_value("decoder.0.cross_attn").run()
    no_exception(at)
    assert any("Cross-attention" in i.value for i in at.info)
    heat = chart(at, "cross-attention")
    # the encoder's input, spaces shown as ␣
    assert heat["layout"]["xaxis"]["ticktext"] == ["2", "2", "␣", "Nov", "␣", "2", "0", "2", "6"]
    assert heat["layout"]["yaxis"]["ticktext"][0] == "&lt;bos&gt;"  # the decoder's input
    assert any("no training history" in i.value for i in at.info)
    chart(at, "Every head of the cross-attention")
    chart(at, "Every head of the encoder self-attention")


@pytest.mark.parametrize("task_name, arch", [("sentiment", "encoder"), ("charlm", "decoder"),
                                             ("addition", "decoder"), ("parity", "encoder-decoder")])
def test_every_transformer_layout_opens_with_its_first_example(task_name, arch):
    """Classifier, text model, decoder and encoder-decoder: the default example fits and every
    view draws (an untrained model from a checkpoint is enough for that)."""
    task = get_task(task_name)
    torch.manual_seed(0)
    model = build_model(task.model_config(arch, d_model=16, n_heads=2, n_layers=1, d_ff=32))
    at = open_page(checkpoint=checkpoint_bytes(model, task))
    no_exception(at)
    assert not at.error and not at.warning
    heat = chart(at, "head 0:")
    assert len(heat["layout"]["xaxis"]["ticktext"]) >= 2
    chart(at, "Every head")
    assert any("match the model's own" in s.value for s in at.success)
