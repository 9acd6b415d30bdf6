"""The attention page through Streamlit's AppTest: figures for a trained induction model, the
scrubber over training time, head ablation, bad input, and cross-attention of an encoder-decoder."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import fresh_session
from streamlit.testing.v1 import AppTest

from transformer import build_model
from transformer.checkpoint import checkpoint_bytes
from transformer.presets import induction_demo_configs
from transformer.runs.live import LiveRun
from transformer.tasks import MAX_INPUT_CHARS, get_task

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "attention.py")
CUSTOM = "✎ type your own…"


def open_page(view: str | None = None, **source) -> AppTest:
    at = AppTest.from_function(fresh_session, args=(PAGE,), kwargs=source, default_timeout=120)
    return show(at, view) if view else at.run()


def show(at: AppTest, view: str) -> AppTest:
    """Open another tab, as a click on it or a link with ?view=... does (AppTest cannot click
    a tab; the first tab is the default)."""
    at.query_params["view"] = view
    return at.run()


def chart(at: AppTest, title_part: str) -> dict:
    for c in at.get("plotly_chart"):
        spec = json.loads(c.proto.spec)
        if title_part in json.dumps(spec.get("layout", {}).get("title", ""), ensure_ascii=False):
            return spec
    raise AssertionError(f"no chart titled '{title_part}'")


def no_exception(at: AppTest) -> None:
    assert not at.exception, at.exception[0].value


def tiny_checkpoint(task_name: str, arch: str = "decoder", **task_params) -> bytes:
    task = get_task(task_name, **task_params)
    torch.manual_seed(0)
    model = build_model(task.model_config(arch, d_model=16, n_heads=2, n_layers=1, d_ff=32))
    return checkpoint_bytes(model, task)


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
    # The first tab alone is drawn on opening: one head's heatmap, nothing of the other tabs.
    assert len(at.get("plotly_chart")) == 1
    heat = chart(at, "head 0:")
    assert heat["data"][0]["zmin"] == 0 and heat["data"][0]["zmax"] == 1
    ticks = heat["layout"]["xaxis"]["ticktext"]
    assert ticks[0] == "&lt;bos&gt;" and "&lt;sep&gt;" in ticks
    assert "induction" in heat["layout"]["title"]["text"]  # layer 1's head, described from its weights
    grid = chart(show(at, "Every head"), "Every head of the decoder self-attention")
    assert sum(t["type"] == "heatmap" and t.get("coloraxis") == "coloraxis" for t in grid["data"]) == 2
    chart(show(at, "As lines"), "Lines from each query")
    assert any("match the model's own" in s.value for s in show(at, "Step by step").success)
    film = chart(show(at, "Over training"), "Attention over training")
    assert len(film["frames"]) == len(induction_run.snapshots)
    assert [s["label"] for s in film["layout"]["sliders"][0]["steps"]][-1] == str(induction_run.snapshots[-1].step)
    show(at, "Induction heads")
    no_exception(at)
    formed = [s.value for s in at.success if "formed at step" in s.value]
    assert formed and "D1 self · head 0" in formed[0]
    curves = chart(at, "induction score jumps")
    assert any(shape.get("x0") is not None for shape in curves["layout"]["shapes"])


@pytest.mark.slow
def test_training_time_is_scrubbed_in_the_browser_from_uniform_to_sharp(induction_run):
    """Every snapshot is a frame of one figure, so scrubbing needs no rerun (the page has no
    server-side step slider any more): the first frame is near uniform, the last sharp."""
    at = open_page("Over training", run=induction_run)
    no_exception(at)
    assert not at.select_slider  # no notch that reruns the page
    film = chart(at, "Attention over training")
    steps = [s.step for s in induction_run.snapshots]
    assert [s["label"] for s in film["layout"]["sliders"][0]["steps"]] == [str(s) for s in steps]
    assert [f["name"] for f in film["frames"]] == [str(s) for s in steps]
    first, last = (np.array(film["frames"][i]["data"][0]["z"], dtype=float) for i in (0, -1))
    # The induction head's rows in the second copy: nearly uniform before training, one key after.
    sharpness = [float(np.mean(np.nanmax(frame[8:], axis=1))) for frame in (first, last)]
    assert sharpness[0] < 0.5 < sharpness[1]
    marker = film["frames"][0]["data"][1]
    assert marker["x"] == [steps[0]]  # the loss marker moves with the frame


@pytest.mark.slow
def test_ablating_the_induction_head_breaks_the_task(induction_run):
    at = open_page("Switch heads off", run=induction_run)
    before = {m.label: m.value for m in at.metric}
    assert before["sequence accuracy on 24 held-out questions"] in ("100%", "96%", "92%")
    answer = [md.value for md in at.markdown if md.value.startswith("Model's answer")]
    at.multiselect(key="att.ablate").set_value([("decoder.1.self_attn", 0)]).run()
    no_exception(at)
    after = {m.label: m for m in at.metric}
    seq = after["sequence accuracy on 24 held-out questions"]
    assert int(seq.value.rstrip("%")) <= 20 and seq.delta.startswith("-")
    # Above the tabs: a note that says so, and the answer of the model without that head.
    assert any("1 head is switched off (D1 self · head 0)" in w.value for w in at.warning)
    assert [md.value for md in at.markdown if md.value.startswith("Model's answer")] != answer
    # Another tab keeps the head off (the note stays), and "Switch all on" brings it back.
    show(at, "One head")
    assert any("switched off" in w.value for w in at.warning)
    at.button(key="att.all_on").click().run()
    no_exception(at)
    assert not any("switched off" in w.value for w in at.warning)
    show(at, "Switch heads off")
    assert at.multiselect(key="att.ablate").value == []
    assert {m.label: m.value for m in at.metric} == before


@pytest.mark.slow
def test_ablation_resets_when_the_model_changes(induction_run):
    at = open_page("Switch heads off", run=induction_run)
    at.multiselect(key="att.ablate").set_value([("decoder.1.self_attn", 0)]).run()
    assert any("switched off" in w.value for w in at.warning)
    at.session_state["test.swap"] = tiny_checkpoint("reverse", length=6)
    at.run()
    no_exception(at)
    assert not any("switched off" in w.value for w in at.warning)
    assert at.multiselect(key="att.ablate").value == []
    assert any("reverse" in c.value for c in at.caption)


@pytest.mark.slow
def test_bad_input_gets_one_sentence(induction_run):
    at = open_page(run=induction_run)
    at.selectbox(key="att.example").set_value(CUSTOM).run()
    at.text_input(key="att.text").set_value("").run()
    assert at.error and at.error[0].value.startswith("The input is empty")
    at.text_input(key="att.text").set_value("abc1").run()
    assert "'1'" in at.error[0].value.replace("\\", "")  # (shown as text: Markdown's characters escaped)
    # The demo trains on 6 to 12 letters: a shorter input is refused, with the lengths it knows.
    at.text_input(key="att.text").set_value("abc").run()
    assert "trained only on inputs of 6 to 12 letters" in at.error[0].value
    at.text_input(key="att.text").set_value("abcdefghijklmn").run()  # 14 letters; the task takes 12
    no_exception(at)
    assert at.warning and "truncate" in at.warning[0].value
    at.button(key="att.truncate").click().run()
    no_exception(at)
    assert not at.warning and not at.error
    assert at.text_input(key="att.text").value == "abcdefghijkl"
    assert chart(at, "head 0:")


def test_a_pasted_megabyte_is_answered_with_a_sentence_at_once():
    """A long paste used to be parsed prefix by prefix (80,000 characters held the server for
    146 s); now the box keeps the first MAX_INPUT_CHARS characters (Streamlit cuts the rest on
    the server too) and the page answers with its sentence and the start that fits."""
    at = open_page(checkpoint=tiny_checkpoint("reverse"))
    at.selectbox(key="att.example").set_value(CUSTOM).run()
    assert at.text_input(key="att.text").max_chars == MAX_INPUT_CHARS
    at.text_input(key="att.text").set_value("a" * 1_000_000).run(timeout=30)
    no_exception(at)
    assert len(at.text_input(key="att.text").value) == MAX_INPUT_CHARS
    assert at.warning and f"got {MAX_INPUT_CHARS}" in at.warning[0].value
    at.button(key="att.truncate").click().run(timeout=30)
    assert at.text_input(key="att.text").value == "aaaaaaaa"
    assert not at.warning and not at.error


def test_encoder_decoder_checkpoint_shows_cross_attention():
    at = open_page(checkpoint=tiny_checkpoint("dates", "encoder-decoder"))
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
    assert any("no training history" in i.value for i in show(at, "Over training").info)
    show(at, "Every head")
    chart(at, "Every head of the cross-attention")
    chart(at, "Every head of the encoder self-attention")


@pytest.mark.parametrize("task_name, arch", [("sentiment", "encoder"), ("charlm", "decoder"),
                                             ("addition", "decoder"), ("parity", "encoder-decoder")])
def test_every_transformer_layout_opens_with_its_first_example(task_name, arch):
    """Classifier, text model, decoder and encoder-decoder: the default example fits and every
    view draws (an untrained model from a checkpoint is enough for that)."""
    at = open_page(checkpoint=tiny_checkpoint(task_name, arch))
    no_exception(at)
    assert not at.error and not at.warning
    heat = chart(at, "head 0:")
    assert len(heat["layout"]["xaxis"]["ticktext"]) >= 2
    chart(show(at, "Every head"), "Every head")
    assert any("match the model's own" in s.value for s in show(at, "Step by step").success)
    for view in ("As lines", "Over training", "Switch heads off", "Induction heads", "Limits"):
        show(at, view)
        no_exception(at)
