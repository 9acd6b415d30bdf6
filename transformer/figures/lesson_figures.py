"""Figures made for the guided lessons: small, exact examples a class can check on paper.

Pure functions in the style of the other builders (numpy in, plotly Figure out, no Streamlit).
The few numpy helpers here (`attention_by_hand`, `softmax_saturation`, `demo_image`,
`block_parameter_counts`) compute the numbers a figure shows, so the figure and the lesson text
always agree.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .theme import ACCENT_COLOUR, DIVERGING, FONT_SIZE, MUTED_COLOUR, SEQUENTIAL, TRAIN_COLOUR, VAL_COLOUR

# --------------------------------------------------------------------------- attention by hand

# "the cat sat", d_k = 4. Chosen so the arithmetic is easy: the query of "sat" matches the key of
# "cat" best (4), itself next (2), "the" not at all (0); dividing by sqrt(4) = 2 keeps it exact.
BY_HAND_TOKENS = ("the", "cat", "sat")
BY_HAND_Q = np.array([[0, 2, 0, 0], [1, 0, 0, 2], [2, 0, 2, 0]], dtype=float)
BY_HAND_K = np.array([[0, 1, 0, 0], [1, 0, 1, 0], [0, 0, 1, 1]], dtype=float)
BY_HAND_V = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]], dtype=float)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax (subtracting the row maximum changes nothing mathematically)."""
    z = np.asarray(x, dtype=np.float64)
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def attention_by_hand(Q, K, V, scaled: bool = True) -> dict:
    """Every intermediate of softmax(Q Kᵀ / √d_k) V for one head.

    Q [T, d_k], K [S, d_k], V [S, d_v]. Returns scores [T, S] (Q Kᵀ), scaled [T, S] (divided by
    √d_k, or equal to scores when scaled=False), weights [T, S] (row softmax) and output [T, d_v].
    """
    Q, K, V = (np.asarray(m, dtype=np.float64) for m in (Q, K, V))
    if Q.shape[1] != K.shape[1] or K.shape[0] != V.shape[0]:
        raise ValueError("Q and K need the same width d_k, and K and V one row per key.")
    scores = Q @ K.T                                            # (T, S)
    divided = scores / np.sqrt(K.shape[1]) if scaled else scores
    weights = softmax(divided, axis=-1)
    return {"scores": scores, "scaled": divided, "weights": weights, "output": weights @ V}


def _number_panel(fig, m: np.ndarray, rows: Sequence[str], cols: Sequence[str], row: int, col: int,
                  colorscale, zmin: float, zmax: float, fmt: str) -> None:
    """A small matrix drawn as coloured cells with its numbers written in."""
    fig.add_trace(go.Heatmap(
        z=m, x=list(cols), y=list(rows), colorscale=colorscale, zmin=zmin, zmax=zmax, showscale=False,
        text=[[format(v, fmt) for v in r] for r in m], texttemplate="%{text}",
        textfont=dict(size=FONT_SIZE + 2), xgap=2, ygap=2,
        hovertemplate="row %{y}, column %{x}: %{z:.4f}<extra></extra>",
    ), row=row, col=col)
    fig.update_xaxes(type="category", row=row, col=col)
    fig.update_yaxes(type="category", autorange="reversed", row=row, col=col)


def qkv_figure(tokens: Sequence[str], Q, K, V) -> go.Figure:
    """The three inputs of the worked example, with their numbers written in each cell."""
    Q, K, V = (np.asarray(m, dtype=float) for m in (Q, K, V))
    fig = make_subplots(rows=1, cols=3, subplot_titles=("queries Q (what each token looks for)",
                                                        "keys K (what each token offers)",
                                                        "values V (what each token hands over)"),
                        horizontal_spacing=0.08)
    bound = float(max(np.abs(Q).max(), np.abs(K).max(), np.abs(V).max())) or 1.0
    for c, m in enumerate((Q, K, V), start=1):
        dims = [f"d{j}" for j in range(m.shape[1])]
        _number_panel(fig, m, tokens, dims, 1, c, "Blues", 0.0, bound, ".0f")
    fig.update_layout(title="The worked example: three tokens, d_k = %d" % Q.shape[1], height=260,
                      font=dict(size=FONT_SIZE), margin=dict(l=50, r=10, t=90, b=10), uirevision="by-hand-qkv")
    return fig


def attention_steps_figure(tokens: Sequence[str], steps: dict, d_k: int, scaled: bool = True) -> go.Figure:
    """Scores → divided by √d_k → softmax weights → output, each as a small annotated matrix.

    steps: the dict from `attention_by_hand`. Rows are queries, columns keys (or value dims).
    """
    div = f"÷ √{d_k} = ÷ {np.sqrt(d_k):.3g}" if scaled else "not divided (scaling off)"
    titles = ("1. scores Q·Kᵀ", f"2. {div}", "3. softmax along each row", "4. output = weights · V")
    fig = make_subplots(rows=1, cols=4, subplot_titles=titles, horizontal_spacing=0.06)
    smax = float(np.abs(steps["scores"]).max()) or 1.0
    _number_panel(fig, steps["scores"], tokens, tokens, 1, 1, "Blues", 0.0, smax, ".2g")
    _number_panel(fig, steps["scaled"], tokens, tokens, 1, 2, "Blues", 0.0, smax, ".3g")
    _number_panel(fig, steps["weights"], tokens, tokens, 1, 3, SEQUENTIAL, 0.0, 1.0, ".2f")
    out = steps["output"]
    _number_panel(fig, out, tokens, [f"d{j}" for j in range(out.shape[1])], 1, 4, SEQUENTIAL, 0.0, 1.0, ".2f")
    fig.update_layout(title="Row by row: each query's scores become weights that sum to 1, then mix the values",
                      height=300, font=dict(size=FONT_SIZE), margin=dict(l=50, r=10, t=100, b=10),
                      uirevision="by-hand-steps")
    return fig


# --------------------------------------------------------------------------- why scale by sqrt(d_k)


def softmax_saturation(d_ks: Sequence[int], n_keys: int = 8, trials: int = 200, seed: int = 0) -> dict:
    """Average largest softmax weight over random queries and keys (entries ~ N(0, 1)).

    Returns {"d_k": [...], "unscaled": [...], "scaled": [...]}: without the division the largest
    weight creeps to 1 (one-hot) as d_k grows; with it, it stays put.
    """
    rng = np.random.default_rng(seed)
    out = {"d_k": list(d_ks), "unscaled": [], "scaled": []}
    for d in d_ks:
        q = rng.standard_normal((trials, 1, d))
        k = rng.standard_normal((trials, n_keys, d))
        s = (q * k).sum(-1)                                     # (trials, n_keys)
        out["unscaled"].append(float(softmax(s).max(-1).mean()))
        out["scaled"].append(float(softmax(s / np.sqrt(d)).max(-1).mean()))
    return out


def softmax_scaling_figure(example_unscaled, example_scaled, d_k: int, saturation: dict) -> go.Figure:
    """Left: one query's weights over 8 keys with and without ÷√d_k. Right: the largest weight
    (averaged over many random queries) against d_k."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=(f"one random query, d_k = {d_k}: weights over 8 keys",
                                        "average largest weight against d_k"))
    keys = [f"k{j}" for j in range(len(example_unscaled))]
    fig.add_trace(go.Bar(x=keys, y=example_unscaled, name="without ÷√d_k", marker_color=VAL_COLOUR,
                         hovertemplate="%{x}: %{y:.3f}<extra>without scaling</extra>"), row=1, col=1)
    fig.add_trace(go.Bar(x=keys, y=example_scaled, name="with ÷√d_k", marker_color=TRAIN_COLOUR,
                         hovertemplate="%{x}: %{y:.3f}<extra>with scaling</extra>"), row=1, col=1)
    for name, key, colour in (("without ÷√d_k", "unscaled", VAL_COLOUR), ("with ÷√d_k", "scaled", TRAIN_COLOUR)):
        fig.add_trace(go.Scatter(x=saturation["d_k"], y=saturation[key], mode="lines+markers", name=name,
                                 showlegend=False, line=dict(color=colour, width=3),
                                 hovertemplate="d_k %{x}: %{y:.3f}<extra>" + name + "</extra>"), row=1, col=2)
    fig.update_yaxes(title_text="attention weight", range=[0, 1.05], row=1, col=1)
    fig.update_yaxes(title_text="largest weight (1 = one-hot)", range=[0, 1.05], row=1, col=2)
    fig.update_xaxes(title_text="key", row=1, col=1)
    fig.update_xaxes(title_text="d_k (dimensions per head, log scale)", type="log", tickvals=saturation["d_k"],
                     row=1, col=2)
    fig.update_layout(title="Without the division, bigger heads make the softmax nearly one-hot",
                      barmode="group", height=420, font=dict(size=FONT_SIZE), uirevision="softmax-scaling",
                      margin=dict(l=50, r=10, t=90, b=40), legend=dict(orientation="h", y=-0.25, x=0))
    return fig


# --------------------------------------------------------------------------- diagrams


def _box(fig, x0, y0, x1, y1, text, fill, size=FONT_SIZE):
    fig.add_shape(type="rect", x0=x0, y0=y0, x1=x1, y1=y1, line=dict(color="#333", width=1.5),
                  fillcolor=fill, layer="below")
    fig.add_annotation(x=(x0 + x1) / 2, y=(y0 + y1) / 2, text=text, showarrow=False, font=dict(size=size))


def _arrow(fig, x0, y0, x1, y1, colour="#333", text=""):
    fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y", text=text,
                       showarrow=True, arrowhead=2, arrowsize=1.2, arrowwidth=2, arrowcolor=colour)


def _diagram_layout(fig, title, width_units, height_units, height):
    fig.update_xaxes(visible=False, range=[0, width_units])
    fig.update_yaxes(visible=False, range=[0, height_units], scaleanchor="x")
    fig.update_layout(title=title, height=height, font=dict(size=FONT_SIZE), plot_bgcolor="white",
                      margin=dict(l=10, r=10, t=60, b=10), uirevision=title, showlegend=False)
    return fig


def block_parameter_counts(d_model: int, d_ff: int) -> dict:
    """Weights of one block by part: attention 4·d² + 4·d, FFN 2·d·d_ff + d_ff + d, each norm 2·d."""
    return {"attention": 4 * d_model * d_model + 4 * d_model,
            "feed-forward": 2 * d_model * d_ff + d_ff + d_model,
            "layer norms": 2 * 2 * d_model}


_SUBLAYER_COLOURS = {"attn": "#cfe3f5", "cross": "#d9f0e3", "ffn": "#fde3c8", "norm": "#eeeeee"}


def _stack(fig, x, parts, norm, counts=None, y_start=0.5):
    """Draw one block's sub-layers bottom to top at column x; returns (top y, centre y of each)."""
    y = y_start
    centres = []
    _arrow(fig, x + 1.5, y, x + 1.5, y + 0.6)
    y += 0.6
    for label, kind in parts:
        branch_x = x + 3.6                                          # the residual path on the right
        top = y + (3.0 if norm == "pre" else 2.0)
        if norm == "pre":
            _box(fig, x, y, x + 3, y + 0.8, "LayerNorm", _SUBLAYER_COLOURS["norm"])
            _arrow(fig, x + 1.5, y + 0.8, x + 1.5, y + 1.1)
            y_sub = y + 1.1
        else:
            y_sub = y
        text = label if counts is None or kind not in counts else f"{label}<br><i>{counts[kind]:,} weights</i>"
        _box(fig, x, y_sub, x + 3, y_sub + 1.2, text, _SUBLAYER_COLOURS[kind])
        centres.append(y_sub + 0.6)
        _arrow(fig, x + 1.5, y_sub + 1.2, x + 1.5, top - 0.35)
        fig.add_shape(type="circle", x0=x + 1.15, y0=top - 0.35, x1=x + 1.85, y1=top + 0.35,
                      line=dict(color="#333", width=1.5), fillcolor="white")
        fig.add_annotation(x=x + 1.5, y=top, text="<b>+</b>", showarrow=False, font=dict(size=FONT_SIZE + 2))
        # the residual: around the sub-layer, straight into the addition
        fig.add_shape(type="path", path=f"M {x + 1.5} {y - 0.3} L {branch_x} {y - 0.3} L {branch_x} {top} "
                      f"L {x + 1.85} {top}", line=dict(color=ACCENT_COLOUR, width=3))
        y = top + 0.35
        if norm == "post":
            _arrow(fig, x + 1.5, y, x + 1.5, y + 0.3)
            _box(fig, x, y + 0.3, x + 3, y + 1.1, "LayerNorm", _SUBLAYER_COLOURS["norm"])
            y += 1.1
        _arrow(fig, x + 1.5, y, x + 1.5, y + 0.6)
        y += 0.6
    return y, centres


def block_diagram_figure(norm: str = "pre", arch: str = "decoder", d_model: int | None = None,
                         d_ff: int | None = None) -> go.Figure:
    """A transformer block drawn as boxes and arrows, residual paths in green.

    norm: "pre" (LayerNorm before each sub-layer) or "post" (after the addition, the 2017 paper).
    arch: "decoder" / "encoder" (one block) or "encoder-decoder" (an encoder block beside a decoder
    block, whose cross-attention reads the encoder's output). With d_model and d_ff, each box
    also shows its number of weights.
    """
    if norm not in ("pre", "post"):
        raise ValueError(f"norm must be 'pre' or 'post' (got {norm!r}).")
    counts = None
    if d_model and d_ff:
        c = block_parameter_counts(d_model, d_ff)
        counts = {"attn": c["attention"], "cross": c["attention"], "ffn": c["feed-forward"]}
    self_attn = ("Masked multi-head<br>self-attention", "attn") if arch != "encoder" else \
        ("Multi-head<br>self-attention", "attn")
    ffn = ("Feed-forward<br>(per token)", "ffn")
    where = "before" if norm == "pre" else "after"
    if arch == "encoder-decoder":
        fig = go.Figure()
        top_enc, _ = _stack(fig, 0.5, [("Multi-head<br>self-attention", "attn"), ffn], norm, counts)
        top_dec, centres = _stack(fig, 6.5, [("Masked multi-head<br>self-attention", "attn"),
                                             ("Cross-attention<br>K, V: encoder", "cross"), ffn], norm, counts)
        cross_y = centres[1]
        fig.add_annotation(x=2.0, y=top_enc + 0.3, text="<b>encoder block</b> → memory", showarrow=False)
        fig.add_annotation(x=8.0, y=top_dec + 0.3, text="<b>decoder block</b> → next token", showarrow=False)
        # the memory feeds every decoder block's cross-attention
        fig.add_shape(type="path", path=f"M 2.0 {top_enc} L 5.2 {top_enc} L 5.2 {cross_y} L 6.5 {cross_y}",
                      line=dict(color=VAL_COLOUR, width=3, dash="dot"))
        title = f"Encoder and decoder blocks ({norm}-norm: LayerNorm {where} each sub-layer)"
        return _diagram_layout(fig, title, 12, max(top_enc, top_dec) + 1, 640)
    fig = go.Figure()
    top, _ = _stack(fig, 0.5, [self_attn, ffn], norm, counts)
    fig.add_annotation(x=2.0, y=0.2, text="input: T vectors of size d_model", showarrow=False)
    fig.add_annotation(x=2.0, y=top + 0.3, text="output: T vectors of size d_model", showarrow=False)
    fig.add_annotation(x=4.4, y=top / 2, text="green: residual<br>connections", showarrow=False,
                       xanchor="left", font=dict(color=ACCENT_COLOUR))
    title = f"One {arch} block ({norm}-norm: LayerNorm {where} each sub-layer)"
    return _diagram_layout(fig, title, 7, top + 1, 560)


def rnn_unroll_figure(tokens: Sequence[str], cell: str = "rnn") -> go.Figure:
    """A recurrent cell unrolled over the tokens: the same weights at every step, state passed on.

    cell: "rnn" | "gru" (one state h) or "lstm" (a cell state c on top of h).
    """
    if cell not in ("rnn", "gru", "lstm"):
        raise ValueError(f"cell must be rnn, gru or lstm (got {cell!r}).")
    fig = go.Figure()
    T = len(tokens)
    label = {"rnn": "RNN cell<br>W_h, W_x", "gru": "GRU cell<br>2 gates", "lstm": "LSTM cell<br>f, i, o gates"}[cell]
    for t, tok in enumerate(tokens):
        x = 1.0 + 3.0 * t
        _box(fig, x, 1.5, x + 2, 3.0, label, "#cfe3f5")
        fig.add_annotation(x=x + 1, y=0.5, text=f"x<sub>{t + 1}</sub> = “{tok}”", showarrow=False)
        _arrow(fig, x + 1, 0.8, x + 1, 1.5)
        _arrow(fig, x + 1, 3.0, x + 1, 3.8)
        fig.add_annotation(x=x + 1, y=4.1, text=f"h<sub>{t + 1}</sub>", showarrow=False)
        prev = f"h<sub>{t}</sub>" + (f", c<sub>{t}</sub>" if cell == "lstm" else "")
        _arrow(fig, x - 1.0, 2.25, x, 2.25, colour=VAL_COLOUR)
        fig.add_annotation(x=x - 0.5, y=2.7, text=prev, showarrow=False, font=dict(size=FONT_SIZE - 2, color=VAL_COLOUR))
        if cell == "lstm":
            fig.add_shape(type="line", x0=x - 1.0, y0=3.3, x1=x + 2, y1=3.3, line=dict(color=ACCENT_COLOUR, width=3))
    if cell == "lstm":
        fig.add_annotation(x=1.0 + 3.0 * T - 0.5, y=3.3, text="cell state c: updated by adding", showarrow=False,
                           xanchor="left", font=dict(color=ACCENT_COLOUR))
    fig.add_annotation(x=1.0 + 1.5 * 3.0 * T / 2, y=5.0, showarrow=False, font=dict(size=FONT_SIZE),
                       text="the <b>same</b> weights at every step; step t must wait for step t − 1")
    return _diagram_layout(fig, f"An {cell.upper()} unrolled over {T} tokens", 3.0 * T + 6, 5.6, 300)


# --------------------------------------------------------------------------- cost


def attention_cost_figure(lengths: Sequence[int], seconds: Sequence[float], megabytes: Sequence[float]) -> go.Figure:
    """Measured time and memory of attention against length, each with a dashed T² reference
    drawn through the last point (if the points hug it, the cost is quadratic)."""
    L = np.asarray(lengths, dtype=float)
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=("time of one attention call (ms, measured)",
                                        "memory of the attention weights (MB)"))
    for col, (values, unit, colour) in enumerate(((np.asarray(seconds) * 1000, "ms", TRAIN_COLOUR),
                                                  (np.asarray(megabytes), "MB", VAL_COLOUR)), start=1):
        fig.add_trace(go.Scatter(x=L, y=values, mode="lines+markers", name="measured" if col == 1 else "computed",
                                 line=dict(color=colour, width=3), marker=dict(size=8),
                                 hovertemplate="T = %{x}<br>%{y:.3g} " + unit + "<extra></extra>"), row=1, col=col)
        ref = values[-1] * (L / L[-1]) ** 2
        fig.add_trace(go.Scatter(x=L, y=ref, mode="lines", name="∝ T² (reference)", showlegend=col == 1,
                                 line=dict(color=MUTED_COLOUR, width=2, dash="dash"), hoverinfo="skip"), row=1, col=col)
        fig.update_yaxes(title_text=unit, rangemode="tozero", row=1, col=col)
        fig.update_xaxes(title_text="sequence length T (tokens)", row=1, col=col)
    fig.update_layout(title="Double the length, four times the cost: attention grows with T²", height=400,
                      font=dict(size=FONT_SIZE), uirevision="attention-cost", margin=dict(l=50, r=10, t=90, b=40),
                      legend=dict(orientation="h", y=1.14, x=0))
    return fig


# --------------------------------------------------------------------------- images as patches


def demo_image(size: int = 32) -> np.ndarray:
    """A small RGB picture (uint8 [size, size, 3]): a sun over hills, drawn with numpy."""
    y, x = np.mgrid[0:size, 0:size] / size
    img = np.zeros((size, size, 3))
    img[...] = np.stack([0.55 + 0.3 * (1 - y), 0.75 + 0.2 * (1 - y), np.ones_like(y)], -1)   # sky
    sun = (x - 0.72) ** 2 + (y - 0.28) ** 2 < 0.03
    img[sun] = (1.0, 0.8, 0.1)
    hills = y > 0.62 + 0.12 * np.sin(6 * x)
    img[hills] = np.stack([0.2 + 0.2 * x, 0.55 + 0.2 * y, 0.25 * np.ones_like(x)], -1)[hills]
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def image_patches_figure(image: np.ndarray, patch: int, per_row: int = 8) -> go.Figure:
    """Left: the image with its patch grid. Right: the same patches as a sequence of tokens,
    read row by row (numbered), the way a vision transformer reads them."""
    img = np.asarray(image)
    H, W = img.shape[:2]
    if patch < 1 or H % patch or W % patch:
        raise ValueError(f"The patch size must divide the image size ({H}×{W}): try 4, 8 or 16.")
    rows, cols = H // patch, W // patch
    n = rows * cols
    patches = [img[r * patch:(r + 1) * patch, c * patch:(c + 1) * patch] for r in range(rows) for c in range(cols)]
    per_row = min(per_row, n)
    strip_rows = -(-n // per_row)
    gap = max(1, patch // 4)
    strip = np.full((strip_rows * (patch + gap), per_row * (patch + gap), 3), 255, dtype=np.uint8)
    for i, p in enumerate(patches):
        r, c = divmod(i, per_row)
        strip[r * (patch + gap): r * (patch + gap) + patch, c * (patch + gap): c * (patch + gap) + patch] = p
    fig = make_subplots(rows=1, cols=2, column_widths=[0.35, 0.65], horizontal_spacing=0.05,
                        subplot_titles=(f"the image, {H}×{W} pixels, cut into {patch}×{patch} patches",
                                        f"the sequence the transformer reads: {n} tokens"))
    fig.add_trace(go.Image(z=img, hoverinfo="skip"), row=1, col=1)
    fig.add_trace(go.Image(z=strip, hoverinfo="skip"), row=1, col=2)
    for k in range(1, rows):
        fig.add_shape(type="line", x0=-0.5, x1=W - 0.5, y0=k * patch - 0.5, y1=k * patch - 0.5,
                      line=dict(color="white", width=2), row=1, col=1)
    for k in range(1, cols):
        fig.add_shape(type="line", y0=-0.5, y1=H - 0.5, x0=k * patch - 0.5, x1=k * patch - 0.5,
                      line=dict(color="white", width=2), row=1, col=1)
    if n <= 64:
        for i in range(n):
            r, c = divmod(i, per_row)
            fig.add_annotation(x=c * (patch + gap) + patch / 2, y=r * (patch + gap) + patch + gap / 2,
                               text=str(i + 1), showarrow=False, font=dict(size=10), xref="x2", yref="y2")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(title=f"Images as patches: {rows} × {cols} = {n} tokens, each a flattened "
                            f"{patch}×{patch}×3 = {patch * patch * 3} numbers",
                      height=380, font=dict(size=FONT_SIZE), margin=dict(l=10, r=10, t=90, b=10),
                      uirevision="patches")
    return fig


# --------------------------------------------------------------------------- vectors side by side


def vectors_figure(rows, labels: Sequence[str], title: str) -> go.Figure:
    """Vectors [N, d] as rows of coloured cells on a diverging scale centred on 0 (RdBu).

    Used to put the same word's vector from two sentences, and their difference, one above
    the other: identical rows look identical, and a zero difference is a white row.
    """
    m = np.asarray(rows, dtype=float)
    if m.ndim != 2 or m.shape[0] != len(labels):
        raise ValueError("Give one label per row of a 2-D array of vectors.")
    bound = float(np.abs(m).max()) or 1.0
    fig = go.Figure(go.Heatmap(
        z=m, y=list(labels), x=list(range(m.shape[1])), colorscale=DIVERGING, reversescale=True, zmid=0.0,
        zmin=-bound, zmax=bound, colorbar=dict(title="value"), xgap=1, ygap=3,
        hovertemplate="%{y}<br>dimension %{x}: %{z:.4f}<extra></extra>",
    ))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(title_text="dimension of the output vector")
    fig.update_layout(title=title, height=120 + 50 * m.shape[0], font=dict(size=FONT_SIZE),
                      margin=dict(l=10, r=10, t=60, b=40), uirevision="vectors")
    return fig
