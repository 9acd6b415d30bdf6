"""The lessons' own figures: the worked numbers are right and the builders refuse bad input."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from transformer.figures import lesson_figures as lf


def test_attention_by_hand_matches_the_library_attention():
    from transformer.attention import scaled_dot_product_attention

    steps = lf.attention_by_hand(lf.BY_HAND_Q, lf.BY_HAND_K, lf.BY_HAND_V)
    as_t = lambda m: torch.tensor(m, dtype=torch.float64)[None, None]      # (1, 1, T, d)
    out, weights = scaled_dot_product_attention(as_t(lf.BY_HAND_Q), as_t(lf.BY_HAND_K), as_t(lf.BY_HAND_V))
    np.testing.assert_allclose(steps["weights"], weights[0, 0].numpy(), atol=1e-9)
    np.testing.assert_allclose(steps["output"], out[0, 0].numpy(), atol=1e-9)
    np.testing.assert_allclose(steps["weights"].sum(-1), 1.0)


def test_the_worked_example_says_what_lesson_three_says():
    """Lesson 3 tells the class: sat·keys = 0, 4, 2; after /2 and softmax about .09, .67, .24."""
    steps = lf.attention_by_hand(lf.BY_HAND_Q, lf.BY_HAND_K, lf.BY_HAND_V)
    sat = lf.BY_HAND_TOKENS.index("sat")
    np.testing.assert_allclose(steps["scores"][sat], [0, 4, 2], atol=1e-12)  # float64 dot products
    np.testing.assert_allclose(steps["weights"][sat], [0.09, 0.67, 0.24], atol=0.005)
    assert lf.BY_HAND_TOKENS[int(steps["weights"][sat].argmax())] == "cat"


def test_switching_the_scaling_off_sharpens_the_weights():
    on = lf.attention_by_hand(lf.BY_HAND_Q, lf.BY_HAND_K, lf.BY_HAND_V, scaled=True)
    off = lf.attention_by_hand(lf.BY_HAND_Q, lf.BY_HAND_K, lf.BY_HAND_V, scaled=False)
    np.testing.assert_array_equal(off["scaled"], off["scores"])
    assert (off["weights"].max(-1) > on["weights"].max(-1)).all()


def test_attention_by_hand_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="d_k"):
        lf.attention_by_hand(np.ones((3, 4)), np.ones((3, 5)), np.ones((3, 4)))


def test_softmax_saturates_without_scaling_and_not_with_it():
    s = lf.softmax_saturation([4, 64, 256], trials=300, seed=1)
    assert s["unscaled"][0] < s["unscaled"][1] < s["unscaled"][2]
    assert s["unscaled"][-1] > 0.85
    assert max(s["scaled"]) - min(s["scaled"]) < 0.1


def test_block_parameter_counts_match_real_blocks():
    from transformer.blocks import EncoderBlock
    from transformer.config import ModelConfig

    cfg = ModelConfig(d_model=48, n_heads=4, d_ff=160, arch="encoder")
    block = EncoderBlock(cfg)
    counts = lf.block_parameter_counts(cfg.d_model, cfg.d_ff)
    assert sum(counts.values()) == sum(p.numel() for p in block.parameters())
    # What lesson 6 asks the class to predict: with d_ff = 4·d_model the FFN holds about 2/3.
    c = lf.block_parameter_counts(64, 256)
    assert 0.6 < c["feed-forward"] / sum(c.values()) < 0.7


@pytest.mark.parametrize("arch", ["decoder", "encoder", "encoder-decoder"])
@pytest.mark.parametrize("norm", ["pre", "post"])
def test_block_diagram_draws_every_variant(arch, norm):
    fig = lf.block_diagram_figure(norm, arch, d_model=64, d_ff=256)
    texts = " ".join(a.text for a in fig.layout.annotations)
    assert "LayerNorm" in texts and "Feed-forward" in texts and "33,088 weights" in texts
    assert ("Cross-attention" in texts) == (arch == "encoder-decoder")
    assert norm in fig.layout.title.text


def test_block_diagram_refuses_an_unknown_norm():
    with pytest.raises(ValueError, match="pre"):
        lf.block_diagram_figure("middle")


def test_rnn_unroll_has_one_cell_per_token():
    fig = lf.rnn_unroll_figure(["a", "b", "c", "d"], "gru")
    cells = [a for a in fig.layout.annotations if "GRU cell" in a.text]
    assert len(cells) == 4
    with pytest.raises(ValueError, match="cell"):
        lf.rnn_unroll_figure(["a"], "transformer")


@pytest.mark.parametrize("patch, tokens", [(4, 64), (8, 16), (16, 4)])
def test_image_patches_counts_tokens(patch, tokens):
    fig = lf.image_patches_figure(lf.demo_image(32), patch)
    assert f"= {tokens} tokens" in fig.layout.title.text
    assert sum(isinstance(t, go.Image) for t in fig.data) == 2


def test_image_patches_refuses_a_patch_that_does_not_divide_the_image():
    with pytest.raises(ValueError, match="divide"):
        lf.image_patches_figure(lf.demo_image(32), 6)


def test_attention_cost_reference_curve_is_quadratic_through_the_last_point():
    fig = lf.attention_cost_figure([100, 200, 400], [0.001, 0.003, 0.012], [1.0, 4.0, 16.0])
    ref = [t for t in fig.data if t.name == "∝ T² (reference)"]
    assert len(ref) == 2
    np.testing.assert_allclose(ref[1].y, [1.0, 4.0, 16.0])
    np.testing.assert_allclose(ref[0].y[-1], 12.0)


def test_qkv_and_steps_figures_write_the_numbers_in():
    steps = lf.attention_by_hand(lf.BY_HAND_Q, lf.BY_HAND_K, lf.BY_HAND_V)
    fig = lf.attention_steps_figure(lf.BY_HAND_TOKENS, steps, d_k=4)
    weights = fig.data[2]
    assert weights.zmin == 0 and weights.zmax == 1
    assert weights.text[2][1] == "0.67"
    assert len(lf.qkv_figure(lf.BY_HAND_TOKENS, lf.BY_HAND_Q, lf.BY_HAND_K, lf.BY_HAND_V).data) == 3
