"""Attention figure builders: shapes, labels, value ranges, duplicate tokens, masks, frames."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from transformer.figures.attention import (
    ATTENTION_SCALE,
    MASKED_COLOUR,
    attention_grid,
    attention_heatmap,
    attention_over_training,
    causal_mask_figure,
    head_score_curves,
    head_view,
    matrix_figure,
    score_bars,
    token_label,
    vector_figure,
)

TOKENS = ["<bos>", "a", "b", "a", "b", "<sep>"]  # duplicates on purpose


def causal_uniform(T):
    w = np.tril(np.ones((T, T)))
    return w / w.sum(1, keepdims=True)


def test_heatmap_fixed_scale_and_hover_values():
    fig = attention_heatmap(causal_uniform(6), TOKENS)
    heat = fig.data[0]
    assert isinstance(heat, go.Heatmap)
    assert (heat.zmin, heat.zmax) == (0.0, 1.0)
    assert heat.colorscale == go.Heatmap(colorscale=ATTENTION_SCALE).colorscale
    assert "%{z:.4f}" in heat.hovertemplate
    assert np.asarray(heat.z).shape == (6, 6)


def test_duplicate_tokens_keep_one_column_and_row_per_position():
    fig = attention_heatmap(causal_uniform(6), TOKENS)
    xs, ys = fig.layout.xaxis, fig.layout.yaxis
    # numeric positions, so "a" twice is two columns, not one merged category
    assert list(xs.tickvals) == list(range(6)) and list(ys.tickvals) == list(range(6))
    assert list(xs.ticktext) == [token_label(t) for t in TOKENS]
    assert list(xs.ticktext).count("a") == 2
    assert ys.autorange == "reversed"  # first query on top
    # hover names the position too, so the two "a"s are told apart
    custom = np.asarray(fig.data[0].customdata)
    assert custom[1, 1, 1] != custom[1, 3, 1]


def test_labels_escape_angle_brackets_and_show_spaces():
    assert token_label("<bos>") == "&lt;bos&gt;"
    assert token_label(" ") == "␣"


def test_cross_attention_heatmap_uses_key_tokens_on_x():
    w = np.full((3, 5), 0.2)
    fig = attention_heatmap(w, ["<bos>", "2", "0"], list("22Nov"))
    assert list(fig.layout.xaxis.ticktext) == list("22Nov")
    assert len(fig.layout.yaxis.ticktext) == 3


def test_masked_cells_are_drawn_apart_from_zero_weight():
    T = 5
    allowed = np.tril(np.ones((T, T), dtype=bool))
    fig = attention_heatmap(causal_uniform(T), list("abcde"), allowed=allowed)
    weights_z = np.asarray(fig.data[0].z, dtype=float)
    grey_z = np.asarray(fig.data[1].z, dtype=float)
    assert np.isnan(weights_z[~allowed]).all() and not np.isnan(weights_z[allowed]).any()
    assert not np.isnan(grey_z[~allowed]).any() and np.isnan(grey_z[allowed]).all()
    assert "masked" in fig.data[1].hovertemplate
    assert "masked" in fig.layout.xaxis.title.text


def test_heatmap_rejects_a_stack_of_heads():
    with pytest.raises(ValueError, match=r"\[T, S\]"):
        attention_heatmap(np.zeros((2, 3, 3)), list("abc"))


def test_grid_has_one_panel_per_layer_and_head_with_descriptions():
    layers = {"decoder.0.self_attn": np.stack([causal_uniform(4)] * 3),
              "decoder.1.self_attn": np.stack([np.eye(4)] * 3)}
    desc = {name: [f"{name} h{h}" for h in range(3)] for name in layers}
    fig = attention_grid(layers, list("abab"), descriptions=desc)
    heats = [t for t in fig.data if isinstance(t, go.Heatmap)]
    assert len(heats) == 6
    assert all(t.coloraxis == "coloraxis" for t in heats)
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (0.0, 1.0)
    texts = [a.text for a in fig.layout.annotations]
    assert "decoder.1.self_attn h2" in texts
    assert texts.count("head 0") == 2
    # Each layer's row is named once, by its first panel's axis title, clear of the panels.
    assert [a.title.text for a in fig.select_yaxes() if a.title.text] == ["decoder layer 0", "decoder layer 1"]


def _grid_geometry(fig, width_px):
    """Panels of a grid in pixels: [(x0, x1, y0, y1, xaxis, yaxis)], y from the top."""
    m = fig.layout.margin
    plot_w, plot_h = width_px - m.l - m.r, fig.layout.height - m.t - m.b
    panels = []
    for xa in fig.select_xaxes(selector=lambda a: a.visible is not False):
        ya = fig.layout[xa.anchor.replace("y", "yaxis")]
        (x0, x1), (y0, y1) = xa.domain, ya.domain
        panels.append((m.l + x0 * plot_w, m.l + x1 * plot_w, m.t + (1 - y1) * plot_h, m.t + (1 - y0) * plot_h, xa, ya))
    return panels


@pytest.mark.parametrize("large", [False, True])
@pytest.mark.parametrize("n_heads, tokens", [(4, ["<bos>"] + list("hgfedcba") + ["<sep>"] + list("abcdefgh")),
                                             (8, list("abcdefghijkl")), (2, list("the cat sat on the mat ") * 3)])
def test_grid_panels_and_their_labels_do_not_overlap(large, n_heads, tokens):
    """The reviewer's grid: labels ran into the next panel, rotated ticks printed over the
    captions, 8 px ticks. Checked in pixels at the width the grid is drawn for."""
    T = len(tokens)
    rng = np.random.default_rng(0)
    w = rng.random((n_heads, T, T))
    w /= w.sum(-1, keepdims=True)
    layers = {"decoder.0.self_attn": w, "decoder.1.self_attn": w}
    desc = {n: ["first token (sink) 87% · 1.2 bits"] * n_heads for n in layers}
    fig = attention_grid(layers, tokens, descriptions=desc, allowed=np.tril(np.ones((T, T), bool)), large=large)
    width = 1125 if large else 900
    panels = _grid_geometry(fig, width)
    assert len(panels) >= 2 * n_heads
    font = fig.layout.font.size
    for x0, x1, y0, y1, xa, ya in panels:
        assert x1 - x0 >= 150 and y1 - y0 >= 150  # every panel big enough to read
        assert xa.tickangle == 0 and xa.tickfont.size >= 12 and ya.tickfont.size >= 12
        cell = (x1 - x0) / T * (xa.tickvals[1] - xa.tickvals[0] if len(xa.tickvals) > 1 else 1)
        widths = [len(str(t).replace("&lt;", "<").replace("&gt;", ">")) * 0.62 * xa.tickfont.size for t in xa.ticktext]
        assert max(widths) <= cell * 2  # neighbouring labels do not touch
    # Panels side by side leave a gap; rows leave room for tick labels and a two-line caption.
    captions = [ann for ann in fig.layout.annotations if "bits" in str(ann.text)]
    assert len(captions) == 2 * n_heads
    n_lines = max(len(str(ann.text).split("<br>")) for ann in captions)
    rows = sorted({(round(p[2]), round(p[3])) for p in panels})
    for (top0, bottom0), (top1, _) in zip(rows, rows[1:]):
        assert top1 - bottom0 >= (font + 10) + n_lines * (font + 4) + (font + 10)
    for ann in captions:
        lines = str(ann.text).split("<br>")
        assert max(len(line) for line in lines) * 0.55 * ann.font.size <= panels[0][1] - panels[0][0]
        assert ann.yshift <= -(font + 10)  # under the tick labels, not over them
    # Masked cells grey, as on the single heatmap; the grid leaves presenter mode's enlarging alone.
    assert any(t.colorscale and t.colorscale[0][1] == MASKED_COLOUR for t in fig.data if isinstance(t, go.Heatmap))
    assert bool((fig.layout.meta or {}).get("for_projector")) == large


def test_long_inputs_keep_the_heatmap_a_screen_tall_with_readable_ticks():
    tokens = list("the quick brown fox jumps over the lazy dog and the cat sat on the mat ok")[:64]
    w = causal_uniform(64)
    fig = attention_heatmap(w, tokens, allowed=np.tril(np.ones((64, 64), bool)))
    assert fig.layout.height <= 800
    y_ticks = fig.layout.yaxis.ticktext
    assert 8 <= len(y_ticks) < 64 and y_ticks[1].startswith(str(fig.layout.yaxis.tickvals[1]) + " ")
    assert fig.data[0].xgap == 0  # no white grid between cells this small
    short = attention_heatmap(causal_uniform(6), TOKENS)
    assert list(short.layout.xaxis.ticktext) == ["&lt;bos&gt;", "a", "b", "a", "b", "&lt;sep&gt;"]
    assert short.data[0].xgap == 1


def test_causal_mask_figure_marks_future_cells():
    fig = causal_mask_figure(list("abcd"))
    z = np.asarray(fig.data[0].z)
    assert z.shape == (4, 4)
    assert np.array_equal(z, np.tril(np.ones((4, 4))))
    text = np.asarray(fig.data[0].text)
    assert text[0, 3] == "−∞" and text[3, 0] == ""


def test_head_view_lines_and_opacity_follow_weights():
    w = np.zeros((2, 4, 4))
    w[0] = np.eye(4)                      # head 0: itself, weight 1
    w[1, :, 0] = 0.55                     # head 1: half on the first token
    w[1, :, 1] = 0.45
    fig = head_view(w, list("abcd"), heads=[0, 1])
    lines = [t for t in fig.data if t.mode == "lines" and t.x and t.x[0] is not None]
    by_head = {}
    for t in lines:
        by_head.setdefault(t.name, []).append(t)
    assert set(by_head) == {"head 0", "head 1"}
    assert len({t.line.color for t in lines}) == 2  # one colour per head
    head0 = by_head["head 0"]
    assert [t.opacity for t in head0] == [1.0]
    assert len([x for x in head0[0].x if x is not None]) == 8  # 4 lines, two ends each
    assert sorted(t.opacity for t in by_head["head 1"]) == [0.5, 0.6]
    text_traces = [t for t in fig.data if t.mode == "text"]
    assert list(text_traces[0].text) == list("abcd")


def test_head_view_one_query_and_threshold():
    w = np.stack([causal_uniform(5)])
    fig = head_view(w, list("abcde"), heads=[0], query=4)
    lines = [t for t in fig.data if t.mode == "lines" and t.x[0] is not None]
    segs = sum(len([x for x in t.x if x is not None]) // 2 for t in lines)
    assert segs == 5  # only the last query's lines
    with pytest.raises(ValueError, match="heads 0 to 0"):
        head_view(w, list("abcde"), heads=[3])


def test_step_figures():
    assert len(vector_figure(np.arange(8) - 4.0, "q").data[0].y) == 8
    m = matrix_figure(np.random.default_rng(0).normal(size=(5, 4)), list("abcab"), "keys")
    assert m.data[0].zmid == 0 and list(m.layout.yaxis.ticktext) == list("abcab")
    allowed = np.array([True, True, False])
    bars = score_bars(np.array([0.3, 0.7, -np.inf]), list("abc"), "softmax", allowed=allowed, probability=True)
    assert list(bars.data[0].y) == [0.3, 0.7, 0.0]
    assert bars.data[0].text[2] == "−∞"
    assert any("masked" in a.text for a in bars.layout.annotations)
    assert tuple(bars.layout.yaxis.range) == (0, 1.15)


def test_animation_frames_move_heatmap_and_loss_marker_together():
    N, T = 4, 5
    frames = np.stack([causal_uniform(T)] * N)
    frames[-1] = np.eye(T)
    steps = [0, 100, 200, 300]
    loss_steps, losses = np.arange(0, 301, 10), np.linspace(3, 0.5, 31)
    allowed = np.tril(np.ones((T, T), dtype=bool))
    fig = attention_over_training(frames, steps, list("abcde"), loss_steps=loss_steps, losses=losses, allowed=allowed)
    assert [f.name for f in fig.frames] == ["0", "100", "200", "300"]
    marker_index = fig.frames[0].traces[1]
    assert fig.data[marker_index].mode == "markers"
    assert [f.data[1].x[0] for f in fig.frames] == steps
    assert fig.frames[2].data[1].y[0] == pytest.approx(np.interp(200, loss_steps, losses))
    z0 = fig.frames[0].data[0].z
    assert isinstance(z0, tuple) and z0[0][4] is None  # masked stays masked; plain lists, see the builder
    assert [s.label for s in fig.layout.sliders[0].steps] == ["0", "100", "200", "300"]
    play = fig.layout.updatemenus[0].buttons[0]
    assert play.method == "animate" and list(play.args[0]) == ["0", "100", "200", "300"]  # from the first frame
    with pytest.raises(ValueError, match="4 snapshots but 3 steps"):
        attention_over_training(frames, steps[:3], list("abcde"))


def test_score_curves():
    curves = head_score_curves([0, 10, 20], [3, 2, 1], [0, 10, 20],
                               {"L1 H0": [0.1, 0.2, 0.9], "L1 H1": [0.1, 0.1, 0.1]}, formation_step=10)
    names = [t.name for t in curves.data]
    assert names == ["loss", "L1 H0", "L1 H1"]
    assert tuple(curves.layout.yaxis2.range) == (0, 1.05)
    assert any("step 10" in a.text for a in curves.layout.annotations)
    assert any(s.x0 == 10 for s in curves.layout.shapes)
