"""The Generate page through Streamlit's AppTest: the output layer's real numbers, going back and
writing a different token, seeded sampling, beam search, free text, attention of the token being
written, an encoder-decoder, and bad input."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from conftest import fresh_session, plotly_array

from transformer import build_model
from transformer.checkpoint import checkpoint_bytes
from transformer.decoding import generation_trace, output_layer
from transformer.runs.snapshot import as_question
from transformer.tasks import get_task

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "generate.py")
K = "gen."
CUSTOM = "✎ type your own…"


def tiny_model(task_name: str, arch: str = "decoder", seed: int = 0, **task_params):
    task = get_task(task_name, **task_params)
    torch.manual_seed(seed)
    model = build_model(task.model_config(arch, d_model=16, n_heads=2, n_layers=1, d_ff=32)).eval()
    return model, task


def open_page(model, task, view: str | None = None) -> AppTest:
    at = AppTest.from_function(fresh_session, args=(PAGE,), kwargs={"checkpoint": checkpoint_bytes(model, task)},
                               default_timeout=120)
    if view:
        at.query_params["view"] = view
    return at.run()


def show(at: AppTest, view: str) -> AppTest:
    at.query_params["view"] = view  # AppTest cannot click a tab; a link with ?view=... opens it
    return at.run()


def charts(at: AppTest) -> dict:
    """Every drawn chart's spec by its element key."""
    out = {}
    for c in at.get("plotly_chart"):
        out[c.proto.id] = json.loads(c.proto.spec)
    return out


def chart(at: AppTest, title_part: str) -> dict:
    for spec in charts(at).values():
        if title_part in json.dumps(spec.get("layout", {}).get("title", ""), ensure_ascii=False):
            return spec
    raise AssertionError(f"no chart titled '{title_part}'")


def no_exception(at: AppTest) -> None:
    assert not at.exception, at.exception[0].value


def written_html(at: AppTest) -> str:
    return next(m.value for m in at.markdown if "tlab-g-written" in m.value)


@pytest.fixture(scope="module")
def charlm():
    return tiny_model("charlm")


def test_output_layer_shows_the_models_own_numbers_and_the_loss(charlm):
    model, task = charlm
    at = open_page(model, task)
    no_exception(at)
    src = as_question(task, task.examples(6, seed=7, split="val")[0])
    trace = generation_trace(model, task, src.src, max_new_tokens=40)
    # Step 1 is being written: its h, W and logits are the model's, and the truth is the text's next character.
    out = output_layer(model, task, src.src, [], true_token=src.tgt[0])
    bars = chart(at, "most likely next tokens")
    top = torch.sort(out["probs"], descending=True, stable=True).indices[:12]
    assert np.allclose(plotly_array(bars["data"][0]["x"]), out["logits"][top].numpy(), atol=1e-5)
    assert np.allclose(plotly_array(bars["data"][1]["x"]), out["probs"][top].numpy(), atol=1e-6)
    assert np.allclose(trace[0].logits.numpy(), out["model_logits"].numpy(), atol=1e-5)
    hidden = chart(at, "last hidden vector")
    assert np.allclose(plotly_array(hidden["data"][0]["y"]), out["h"].numpy(), atol=1e-5)
    text = " ".join(m.value for m in at.markdown)
    assert f"{out['loss']:.3f}" in text and f"{math.log(len(task.vocab)):.3f}" in text
    assert any("matches the model's own output" in c.value for c in at.caption)
    assert any("ModelConfig.tie_weights" in c.value for c in at.caption)


def test_writing_a_different_token_changes_the_continuation_and_clearing_restores_it(charlm):
    model, task = charlm
    at = open_page(model, task, view="Step by step")
    no_exception(at)
    before = written_html(at)
    src = as_question(task, task.examples(6, seed=7, split="val")[0]).src
    greedy = generation_trace(model, task, src, max_new_tokens=40)
    pills = at.pills[0]
    other = next(c.token for c in greedy[0].candidates if c.token != greedy[0].token)
    pills.set_value(other).run()
    no_exception(at)
    after = written_html(at)
    assert "tlab-g-forced" in after and after != before
    expected = generation_trace(model, task, src, max_new_tokens=40, forced=[other])
    assert at.session_state[K + "forced"] == [other]
    shown = [s.token for s in expected]
    assert [s.token for s in at.session_state[K + "memo"][next(k for k in at.session_state[K + "memo"]
                                                              if k[0] == "trace" and k[-1] == (other,))]] == shown
    at.button(key=K + "clear").click().run()
    assert written_html(at) == before


def test_seeded_sampling_uses_the_sampling_settings_and_is_reproducible(charlm):
    model, task = charlm
    at = AppTest.from_function(fresh_session, args=(PAGE,), kwargs={"checkpoint": checkpoint_bytes(model, task)},
                               default_timeout=120)
    at.session_state[K + "settings"] = {"temperature": 1.5, "top_k": 5, "top_p": 0.9}
    at.query_params["view"] = "Step by step"
    at.run()
    at.segmented_control(key=K + "method").set_value("sample").run()
    at.number_input(key=K + "seed").set_value(3).run()
    no_exception(at)
    src = as_question(task, task.examples(6, seed=7, split="val")[0]).src
    want = generation_trace(model, task, src, max_new_tokens=40, temperature=1.5, top_k=5, top_p=0.9, seed=3)
    html = written_html(at)
    assert all(f"p = {s.prob:.3f}" in html for s in want[:10])
    again = written_html(at.run())
    assert again == html


def test_free_text_says_what_the_run_shows(charlm):
    model, task = charlm
    at = open_page(model, task, view="Free text")
    no_exception(at)
    notes = [m.value for m in at.markdown if "never occur in its training text" in m.value
             or "occurs in its training text" in m.value or "no whole words" in m.value]
    assert notes, "the free text has no note on what it wrote"
    assert chart(at, "How sure the model was")


def test_attention_of_the_token_being_written_has_one_row_per_head(charlm):
    model, task = charlm
    at = open_page(model, task, view="Attention")
    no_exception(at)
    spec = chart(at, "where each head looks while writing")
    z = plotly_array(spec["data"][0]["z"])
    assert z.shape[0] == model.cfg.n_heads
    assert np.allclose(np.nansum(z, axis=1), 1.0, atol=1e-4)


def test_beam_search_width_one_is_greedy_on_a_decoder_task():
    model, task = tiny_model("reverse", length=4)
    at = open_page(model, task, view="Beam search")
    no_exception(at)
    at.slider(key=K + "beam_width").set_value(1).run()
    no_exception(at)
    src = task.examples(6, seed=7, split="val")[0].src
    greedy = generation_trace(model, task, src)
    table = at.dataframe[0].value
    assert len(table) == 1
    assert table["answer"][0] == task.format_tgt([s.token for s in greedy if s.token != "<eos>"])
    assert chart(at, "Beam search")


def test_encoder_decoder_shows_cross_attention_and_its_output_layer():
    model, task = tiny_model("dates", arch="encoder-decoder")
    at = open_page(model, task, view="Attention")
    no_exception(at)
    titles = " ".join(json.dumps(s["layout"].get("title", "")) for s in charts(at).values())
    assert "cross-attention to the input" in titles and "self-attention" in titles
    at = open_page(model, task)  # the first tab, Output layer
    no_exception(at)
    assert chart(at, "most likely next tokens")
    assert any("−ln p" in m.value for m in at.markdown)  # the answer's first token is known


def test_bad_input_gets_one_sentence(charlm):
    model, task = charlm
    at = open_page(model, task)
    at.selectbox(key=K + "example").set_value(CUSTOM).run()
    at.text_input(key=K + "text").input("héllo ☃").run()
    no_exception(at)
    assert at.error and "☃" in at.error[0].value
    assert not at.get("plotly_chart")
    at.text_input(key=K + "text").input("the model").run()
    no_exception(at)
    assert chart(at, "most likely next tokens")
    assert any("needs a true next token" in m.value for m in at.markdown)


def _widget_script(checkpoint, params):
    """The lesson part "output_layer" on the session's current model (a checkpoint)."""
    import streamlit as st

    from transformer.ui.lesson_widgets import WidgetContext, render_widget
    from transformer.ui.session import load_checkpoint_bytes

    if "test.fresh" not in st.session_state:
        st.session_state["test.fresh"] = True
        st.cache_resource.clear()
        load_checkpoint_bytes(checkpoint, "test.pt")
    ctx = WidgetContext(params=params, seed=0, key="lw")
    st.session_state["test.ok"] = render_widget("output_layer", ctx)
    st.session_state["test.values"] = dict(ctx.values)


def test_lesson_widget_draws_the_output_layer_and_reports_its_numbers(charlm):
    model, task = charlm
    at = AppTest.from_function(_widget_script, args=(checkpoint_bytes(model, task), {"task": "charlm"}),
                               default_timeout=120).run()
    no_exception(at)
    assert at.session_state["test.ok"]
    q = as_question(task, task.examples(1, seed=7)[0])
    out = output_layer(model, task, q.src, [], true_token=q.tgt[0])
    values = at.session_state["test.values"]
    assert values["loss"] == pytest.approx(out["loss"], abs=1e-5)
    assert values["ln_vocab"] == pytest.approx(math.log(len(task.vocab)))
    assert values["p_true_pct"] == pytest.approx(100 * math.exp(-out["loss"]), rel=1e-4)
    assert chart(at, "The unembedding") and chart(at, "The loss this position adds")


def test_lesson_widget_refuses_a_bad_prompt_in_one_sentence(charlm):
    model, task = charlm
    at = AppTest.from_function(_widget_script, args=(checkpoint_bytes(model, task), {"prompt": "☃☃"}),
                               default_timeout=120).run()
    no_exception(at)
    assert at.session_state["test.ok"] is False
    assert at.warning and "☃" in at.warning[0].value


def test_a_tied_model_says_its_unembedding_is_the_embedding():
    task = get_task("charlm")
    torch.manual_seed(0)
    model = build_model(task.model_config("decoder", d_model=16, n_heads=2, n_layers=1, d_ff=32, tie_weights=True))
    assert model.lm_head.weight is model.tok_emb.weight
    at = open_page(model, task)
    no_exception(at)
    assert any("Weight tying" in c.value and "stored once" in c.value for c in at.caption)
    assert any("token-embedding table itself" in m.value for m in at.markdown)


def test_a_prompt_too_long_for_the_context_offers_its_start(charlm):
    model, task = charlm
    at = open_page(model, task)
    at.selectbox(key=K + "example").set_value(CUSTOM).run()
    at.text_input(key=K + "text").input("the model " * 10).run()  # 100 characters, the window holds 64
    no_exception(at)
    assert at.warning and not at.get("plotly_chart")
    at.button(key=K + "truncate").click().run()
    no_exception(at)
    assert len(at.text_input(key=K + "text").value) < model.cfg.max_len
    assert chart(at, "most likely next tokens")


def test_the_tabs_follow_the_step_being_written(charlm):
    model, task = charlm
    at = open_page(model, task)
    src = as_question(task, task.examples(6, seed=7, split="val")[0]).src
    trace = generation_trace(model, task, src, max_new_tokens=40)
    at.select_slider(key=K + "at").set_value(3).run()
    no_exception(at)
    out = output_layer(model, task, src, [s.token for s in trace[:3]])
    hidden = chart(at, "last hidden vector")
    assert np.allclose(plotly_array(hidden["data"][0]["y"]), out["h"].numpy(), atol=1e-5)
    assert 'class="tlab-g-tok tlab-g-at"' in written_html(at)
    assert written_html(at).count("tlab-g-at") == 2  # the CSS rule and the one highlighted token


def test_beam_steps_link_every_kept_beam_to_its_parent():
    from transformer.beam import beam_search
    from transformer.ui.generation import beam_steps

    model, task = tiny_model("reverse", length=4)
    history: list = []
    beams = beam_search(model, task, list("abcd"), width=3, history=history)
    steps = beam_steps(history)
    assert [len(row) for row in steps] == [len(pool) for pool in history]
    # Walking the parents back from each final beam spells out its tokens (finished ones end in ✓ or <eos>).
    for rank, beam in enumerate(beams):
        tokens, i = [], rank
        for t in range(len(steps) - 1, -1, -1):
            tokens.append(steps[t][i]["token"])
            i = steps[t][i]["parent"]
        written = [tok for tok in reversed(tokens) if tok != "✓"]
        assert written == [s[0] for s in beam.steps]
        assert steps[-1][rank]["score"] == pytest.approx(beam.log_prob)


def test_a_typed_prompt_is_shown_as_text_never_as_html():
    text = "<img src=x onerror=alert(1)> **bold** [link](http://example.com) " * 8
    task = get_task("charlm", text=text)
    torch.manual_seed(0)
    model = build_model(task.model_config("decoder", d_model=16, n_heads=2, n_layers=1, d_ff=32)).eval()
    at = open_page(model, task)
    at.selectbox(key=K + "example").set_value(CUSTOM).run()
    at.text_input(key=K + "text").input("<img src=x> **b**").run()
    no_exception(at)
    html = written_html(at)
    assert "&lt;img src=x&gt; **b**" in html and "<img" not in html
    assert all("<img" not in m.value for m in at.markdown if "tlab-g-written" not in m.value)
