"""Attention figures: heatmaps, all heads at once, the causal mask, the head view, one query
step by step, attention over training time, and per-head scores under the loss curve.

Pure functions: numpy arrays and token lists in, `plotly.graph_objects.Figure` out; no
Streamlit. Conventions shared by every figure here:

* Query positions are rows (y, top to bottom), key positions are columns (x).
* Axes are numeric (position 0..T-1) with the tokens as tick text. Plotly merges equal category
  labels, so a categorical axis would fold "a b a" into two columns; numeric axes keep every
  position and the hover names both the token and its position.
* Attention weights use the sequential, colour-blind-safe `Viridis` scale fixed to 0..1, so two
  heatmaps can be compared by colour. Signed values (q, k, v, dot products) use `RdBu` centred
  on 0. Lines for several heads use the Okabe-Ito palette.
* Masked cells (a query may not see a future key) are drawn in flat grey, not as weight 0, and
  their hover says why.
"""
from __future__ import annotations

import html
from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from transformer.figures.theme import (ALLOWED_COLOUR, DARK_GREY, DIVERGING, MASKED_COLOUR, NEGATIVE_COLOUR,
                                       PALETTE, POSITIVE_COLOUR, SEQUENTIAL, TRAIN_COLOUR, VAL_COLOUR, YELLOW)

ATTENTION_SCALE = SEQUENTIAL  # fixed to 0..1: weights are probabilities
SIGNED_SCALE = DIVERGING
# Okabe & Ito (2008), colour-blind safe; yellow last because it is faint on white.
HEAD_COLOURS = PALETTE[:7] + (YELLOW,)
UIREVISION = "attention"


def token_label(token) -> str:
    """Make a token printable in a Plotly label: escape '<' (Plotly reads '<bos>' as a tag) and
    show whitespace, which would otherwise be an invisible tick."""
    text = str(token).replace(" ", "␣").replace("\n", "↵").replace("\t", "⇥")
    return escape(text)


def escape(text: str) -> str:
    """Plotly renders a small HTML subset in labels; escape so '<eos>' shows as written."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _labels(tokens: Sequence, n: int) -> list[str]:
    tokens = list(tokens)[:n]
    return [token_label(t) for t in tokens] + ["·"] * (n - len(tokens))


def _check_matrix(weights) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2:
        raise ValueError(f"Expected one attention matrix [T, S], got shape {w.shape}.")
    return w


# A long input (a character model's 64-character window) keeps every figure a screen tall: the
# cells shrink to fit MOST_ROWS_PX and the tick labels are thinned to the ones that fit. The
# width a figure is drawn at is a guess (the wide layout beside the sidebar at 1280 px).
ROW_PX = 28
MOST_ROWS_PX = 560
PLOT_WIDTH_PX = 780


def rows_px(n: int, per_row: int = ROW_PX, most: int = MOST_ROWS_PX) -> int:
    """Pixels for n rows of a matrix: `per_row` each, shrunk to fit `most` when there are many."""
    return int(min(n * per_row, max(most, per_row)))


def _position_axis(labels: list[str], title: str, length_px: float, horizontal: bool = True) -> dict:
    """A numeric position axis labelled with tokens, keeping only the labels that fit its
    `length_px` pixels (`thinned_ticks`)."""
    return dict(title=title, showgrid=False, zeroline=False, **thinned_ticks(labels, length_px, 12, horizontal))


def _hover_labels(q_labels: list[str], k_labels: list[str]) -> np.ndarray:
    """customdata [T, S, 2]: the query and key label with its position, for the hover box."""
    T, S = len(q_labels), len(k_labels)
    data = np.empty((T, S, 2), dtype=object)
    for i in range(T):
        for j in range(S):
            data[i, j, 0] = f"{q_labels[i]} (pos {i})"
            data[i, j, 1] = f"{k_labels[j]} (pos {j})"
    return data


def _heatmap_traces(w: np.ndarray, q_labels, k_labels, allowed=None, coloraxis=None, showscale=True, gap: int = 1):
    """The weights trace plus, when a mask is given, a grey trace over the masked cells.
    `gap`: white pixels between cells (0 for tiny cells, which gaps would turn grey)."""
    z = w.copy()
    custom = _hover_labels(q_labels, k_labels)
    traces = []
    heat = dict(
        z=z, x=list(range(w.shape[1])), y=list(range(w.shape[0])), customdata=custom,
        hovertemplate="query %{customdata[0]}<br>key %{customdata[1]}<br>weight %{z:.4f}<extra></extra>",
        xgap=gap, ygap=gap,
    )
    if allowed is not None:
        allowed = np.asarray(allowed, dtype=bool)
        z[~allowed] = np.nan  # masked cells get no colour from the weight scale
        heat["z"] = z
    if coloraxis:
        traces.append(go.Heatmap(coloraxis=coloraxis, **heat))
    else:
        traces.append(go.Heatmap(colorscale=ATTENTION_SCALE, zmin=0.0, zmax=1.0, showscale=showscale,
                                 colorbar=dict(title="weight", tickvals=[0, 0.25, 0.5, 0.75, 1]), **heat))
    if allowed is not None and (~allowed).any():
        grey = np.where(allowed, np.nan, 1.0)
        traces.append(go.Heatmap(
            z=grey, x=list(range(w.shape[1])), y=list(range(w.shape[0])), customdata=custom,
            colorscale=[[0, MASKED_COLOUR], [1, MASKED_COLOUR]], showscale=False, xgap=gap, ygap=gap,
            hovertemplate="query %{customdata[0]}<br>key %{customdata[1]}<br>masked: a token may not "
                          "look ahead, so its score is set to −∞ and its weight is 0<extra></extra>",
        ))
    return traces


def attention_heatmap(weights, q_tokens: Sequence, k_tokens: Sequence | None = None, *, allowed=None,
                      title: str = "Each row shows where one query token looks (rows sum to 1)",
                      height: int | None = None) -> go.Figure:
    """One head's attention weights [T, S] as a heatmap.

    q_tokens label the rows (queries), k_tokens the columns (keys; defaults to q_tokens for
    self-attention). allowed: optional bool [T, S], False where the mask hides a key; those
    cells are grey.
    """
    w = _check_matrix(weights)
    T, S = w.shape
    k_tokens = q_tokens if k_tokens is None else k_tokens
    q_labels, k_labels = _labels(q_tokens, T), _labels(k_tokens, S)
    rows = rows_px(T)
    fig = go.Figure(_heatmap_traces(w, q_labels, k_labels, allowed, gap=_gap(rows / T, PLOT_WIDTH_PX / S)))
    masked = allowed is not None and not np.asarray(allowed, dtype=bool).all()
    x_title = "key (attended to)" + (" · grey = masked: a token cannot look ahead" if masked else "")
    fig.update_layout(
        title=title, uirevision=UIREVISION, height=height or max(340, 150 + rows),
        xaxis=_position_axis(k_labels, x_title, length_px=PLOT_WIDTH_PX),
        yaxis=dict(_position_axis(q_labels, "query (attending)", length_px=rows, horizontal=False),
                   autorange="reversed"),
        margin=dict(l=60, r=20, t=90, b=60),
    )
    return fig


def _gap(*cell_px: float) -> int:
    """White pixels between heatmap cells: 1, or 0 when a cell is under 9 px (gaps would grey it)."""
    return 1 if min(cell_px) >= 9 else 0


# The grid is sized in pixels for the width a page gives it (Streamlit's wide layout beside the
# sidebar at 1280 px: about 900 px), so nothing in it overlaps: a panel is at least
# GRID_MIN_PANEL_PX wide (more heads than fit wrap onto another row of the same layer), tick
# labels lie flat and are thinned to what fits, and a caption sits under its panel's labels.
GRID_WIDTH_PX = 900
GRID_MIN_PANEL_PX = 150


def _label_px(label: str, font_size: float) -> float:
    """About how wide a tick label is drawn (HTML entities count as the one character they are)."""
    return len(html.unescape(str(label))) * 0.62 * font_size + 6


def thinned_ticks(labels: list[str], length_px: float, font_size: int, horizontal: bool = True) -> dict:
    """Tick settings for a position axis of `length_px` pixels: every token when neighbouring
    labels fit side by side at `font_size`, else every k-th one, prefixed with its position
    ("12 t") so the reader still knows where it is."""
    n = max(1, len(labels))
    cell = length_px / n

    def fits(texts: list[str], step: int) -> bool:
        if not horizontal:
            return font_size * 1.25 <= step * cell
        widths = [_label_px(t, font_size) for t in texts]
        return all((a + b) / 2 <= step * cell for a, b in zip(widths, widths[1:]))

    if fits(list(labels), 1):
        return dict(tickmode="array", tickvals=list(range(n)), ticktext=list(labels), tickangle=0)
    for step in range(2, n + 1):
        vals = list(range(0, n, step))
        texts = [f"{i} {labels[i]}" for i in vals]
        if fits(texts, step):
            break
    return dict(tickmode="array", tickvals=vals, ticktext=texts, tickangle=0)


def _wrap(text: str, width: int) -> str:
    """Break a caption into lines of at most about `width` characters, at " · " first."""
    lines = []
    for part in str(text).split(" · "):
        line = ""
        for word in part.split(" "):
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return "<br>".join(escape(line) for line in lines)


def grid_layer_label(name: str) -> str:
    """"decoder.1.self_attn" -> "decoder layer 1"; other names are kept."""
    parts = str(name).split(".")
    return f"{parts[0]} layer {parts[1]}" if len(parts) == 3 and parts[1].isdigit() else str(name)


def attention_grid(layers: dict, q_tokens: Sequence, k_tokens: Sequence | None = None, *,
                   descriptions: dict | None = None, allowed=None, large: bool = False,
                   width_px: int | None = None,
                   title: str = "Every head at once: which one looks where?") -> go.Figure:
    """Small multiples: one heatmap per layer and head, a row of panels per layer.

    layers: ordered {layer name: weights [H, T, S]}; descriptions: {layer name: [one line per
    head]} written under each panel; allowed: bool [T, S], False where the mask hides a key
    (grey, as in `attention_heatmap`). All panels share one colour bar fixed to 0..1, and the
    query tokens are labelled once per row (every panel of a layer has the same rows).

    large=True draws it for a projector (bigger type, taller panels) and marks it so that
    `figures.for_projector` leaves it as it is: enlarging the type of a grid sized in pixels
    would make neighbouring labels collide. width_px: the width it is drawn at (a guess is
    enough; it sets how many heads share a row and how many tick labels fit).
    """
    names = list(layers)
    if not names:
        raise ValueError("No attention layers to draw.")
    arrays = [np.asarray(layers[n], dtype=np.float64) for n in names]
    if any(a.ndim != 3 for a in arrays):
        raise ValueError("Expected weights [H, T, S] for every layer.")
    H = max(a.shape[0] for a in arrays)
    T, S = arrays[0].shape[1:]
    k_tokens = q_tokens if k_tokens is None else k_tokens
    q_labels, k_labels = _labels(q_tokens, T), _labels(k_tokens, S)

    font = 17 if large else 13
    width = width_px or (int(GRID_WIDTH_PX * 1.25) if large else GRID_WIDTH_PX)
    panel_h = (260 if large else 200) if T > 1 else 60
    y_ticks = thinned_ticks(q_labels, panel_h, font - 1, horizontal=False)
    y_label_px = max(_label_px(t, font - 1) for t in y_ticks["ticktext"]) + 2 * font + 16  # ticks + row title
    margin = dict(l=int(y_label_px), r=90, t=48 if not large else 60)  # the title's line
    gap_x = 16
    cols = max(1, min(H, int((width - margin["l"] - margin["r"] + gap_x) // (GRID_MIN_PANEL_PX + gap_x))))
    per_layer = -(-H // cols)  # rows of panels per layer
    n_rows = len(names) * per_layer
    panel_w = (width - margin["l"] - margin["r"] - (cols - 1) * gap_x) / cols
    # Captions wrapped to the panel's width; the rows leave room for the longest.
    wrap = max(10, int(panel_w / (0.55 * (font - 1))))
    captions = {(n, h): _wrap(line, wrap) for n, lines in (descriptions or {}).items() for h, line in enumerate(lines)}
    caption_lines = max((c.count("<br>") + 1 for c in captions.values()), default=0)
    below = font + 10 + caption_lines * (font + 5) + 8  # x tick labels, then the caption
    above = font + 10  # each panel's "head h"
    margin["b"] = int(below + 10)
    gap_y = below + above
    plot_h = n_rows * panel_h + (n_rows - 1) * gap_y
    height = int(plot_h + margin["t"] + margin["b"] + above)
    margin["t"] += above

    cells = []  # (row, col, layer index, head)
    for i, a in enumerate(arrays):
        for h in range(a.shape[0]):
            cells.append((i * per_layer + h // cols + 1, h % cols + 1, i, h))
    titles = [""] * (n_rows * cols)
    for r, c, i, h in cells:
        titles[(r - 1) * cols + (c - 1)] = f"head {h}"
    fig = make_subplots(rows=n_rows, cols=cols, subplot_titles=titles,
                        horizontal_spacing=gap_x / max(1.0, width - margin["l"] - margin["r"]),
                        vertical_spacing=gap_y / plot_h if n_rows > 1 else 0.0)
    used = {(r, c) for r, c, _, _ in cells}
    for r in range(1, n_rows + 1):
        for c in range(1, cols + 1):
            if (r, c) not in used:  # the end of a wrapped row of heads: no empty axes
                fig.update_xaxes(visible=False, row=r, col=c)
                fig.update_yaxes(visible=False, row=r, col=c)
    gap = _gap(panel_w / max(S, 1), panel_h / max(T, 1))
    x_ticks = thinned_ticks(k_labels, panel_w, font - 1, horizontal=True)
    for r, c, i, h in cells:
        for trace in _heatmap_traces(arrays[i][h], q_labels, k_labels, allowed, coloraxis="coloraxis", gap=gap):
            fig.add_trace(trace, row=r, col=c)
        fig.update_xaxes(dict(showgrid=False, zeroline=False, tickfont=dict(size=font - 1), **x_ticks),
                         row=r, col=c)
        first = c == 1 and (r - 1) % per_layer == 0
        fig.update_yaxes(dict(showgrid=False, zeroline=False, autorange="reversed", tickfont=dict(size=font - 1),
                              showticklabels=c == 1, **y_ticks,
                              title=dict(text=grid_layer_label(names[i]) if first else "",
                                         font=dict(size=font))), row=r, col=c)
        if (names[i], h) in captions:
            n = (r - 1) * cols + c
            suffix = "" if n == 1 else str(n)
            fig.add_annotation(text=captions[names[i], h], showarrow=False, xref=f"x{suffix} domain",
                               yref=f"y{suffix} domain", x=0.5, y=0, yshift=-(font + 12), xanchor="center",
                               yanchor="top", font=dict(size=font - 1, color="#333"))
    for ann in fig.layout.annotations:
        if str(ann.text).startswith("head "):
            ann.font = dict(size=font)
    fig.update_layout(
        title=dict(text=title, font=dict(size=font + 3), x=0, xanchor="left", y=1, yref="container",
                   yanchor="top", pad=dict(t=10)),
        uirevision=UIREVISION, height=height, font=dict(size=font),
        coloraxis=dict(colorscale=ATTENTION_SCALE, cmin=0.0, cmax=1.0,
                       colorbar=dict(title="weight", len=min(1.0, 420 / plot_h), y=1, yanchor="top")),
        margin=margin, meta={"for_projector": True} if large else None,
    )
    return fig


def causal_mask_figure(tokens: Sequence, title: str = "The causal mask: a token may look at itself "
                       "and earlier tokens, never ahead") -> go.Figure:
    """The decoder's mask as a matrix: allowed cells coloured, masked cells grey with '−∞'."""
    T = len(tokens)
    labels = _labels(tokens, T)
    allowed = np.tril(np.ones((T, T), dtype=bool))
    rows = rows_px(T)
    text = np.where(allowed, "", "−∞" if rows / T >= 18 else "")  # no room for the text in tiny cells
    gap = _gap(rows / T)
    fig = go.Figure(go.Heatmap(
        z=allowed.astype(float), x=list(range(T)), y=list(range(T)), text=text, texttemplate="%{text}",
        colorscale=[[0, MASKED_COLOUR], [1, ALLOWED_COLOUR]], zmin=0, zmax=1, showscale=False, xgap=gap, ygap=gap,
        customdata=_hover_labels(labels, labels),
        hovertemplate="query %{customdata[0]}<br>key %{customdata[1]}<br>%{z:.0f} = may attend (1) "
                      "or masked (0)<extra></extra>",
    ))
    fig.update_layout(
        title=title, uirevision=UIREVISION, height=max(300, 130 + rows),
        xaxis=_position_axis(labels, "key", length_px=PLOT_WIDTH_PX),
        yaxis=dict(_position_axis(labels, "query", length_px=rows, horizontal=False), autorange="reversed"),
        margin=dict(l=60, r=20, t=60, b=60),
    )
    return fig


def head_view(weights, q_tokens: Sequence, k_tokens: Sequence | None = None, *, heads: Sequence[int] = (0,),
              query: int | None = None, threshold: float = 0.02, opacity_levels: int = 10,
              title: str = "Lines from each query (left) to the keys it attends to (right); darker = more weight",
              ) -> go.Figure:
    """The BertViz-style head view: two columns of tokens joined by lines whose opacity is the
    attention weight, one colour per head.

    weights [H, T, S]; heads: which heads to overlay; query: draw only that query's lines.
    Lines below `threshold` are left out. Plotly sets opacity per trace, not per segment, so
    lines are grouped into `opacity_levels` bins of weight: a handful of traces, not T*S*H.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 3:
        raise ValueError(f"Expected weights [H, T, S], got shape {w.shape}.")
    H, T, S = w.shape
    bad = [h for h in heads if not 0 <= h < H]
    if bad:
        raise ValueError(f"Head {bad[0]} does not exist: this layer has heads 0 to {H - 1}.")
    k_tokens = q_tokens if k_tokens is None else k_tokens
    q_labels, k_labels = _labels(q_tokens, T), _labels(k_tokens, S)
    fig = go.Figure()
    rows = range(T) if query is None else [query]
    for h in heads:
        colour = HEAD_COLOURS[h % len(HEAD_COLOURS)]
        for level in range(1, opacity_levels + 1):
            lo, hi = (level - 1) / opacity_levels, level / opacity_levels
            xs, ys = [], []
            for i in rows:
                for j in range(S):
                    v = min(float(w[h, i, j]), 1.0)
                    if v >= threshold and (lo < v <= hi or (level == 1 and v <= hi)):
                        xs += [0, 1, None]
                        ys += [i, j, None]
            if not xs:
                continue
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=colour, width=3),
                                     opacity=hi, name=f"head {h}", legendgroup=f"head {h}",
                                     showlegend=False, hoverinfo="skip"))
        # The legend entry at full opacity (a faint first bin would make a faint legend line).
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(color=colour, width=3),
                                 name=f"head {h}", legendgroup=f"head {h}"))
    # Token columns, with each head's weights in the hover of the key tokens when one query is chosen.
    q_hover = [f"query {q_labels[i]} (pos {i})" for i in range(T)]
    k_hover = []
    for j in range(S):
        parts = [f"key {k_labels[j]} (pos {j})"]
        if query is not None:
            parts += [f"head {h}: {w[h, query, j]:.4f}" for h in heads]
        k_hover.append("<br>".join(parts))
    rows = rows_px(max(T, S), 26, 700)
    size = int(min(14, max(9, rows / max(T, S) - 2)))  # long inputs: smaller type, still one row each
    fig.add_trace(go.Scatter(x=[-0.02] * T, y=list(range(T)), mode="text", text=q_labels, textposition="middle left",
                             hovertext=q_hover, hoverinfo="text", showlegend=False, textfont=dict(size=size)))
    fig.add_trace(go.Scatter(x=[1.02] * S, y=list(range(S)), mode="text", text=k_labels, textposition="middle right",
                             hovertext=k_hover, hoverinfo="text", showlegend=False, textfont=dict(size=size)))
    fig.update_layout(
        title=title, uirevision=UIREVISION, height=max(320, 100 + rows),
        xaxis=dict(range=[-0.6, 1.6], showticklabels=False, showgrid=False, zeroline=False,
                   tickvals=[0, 1], title="query → key"),
        yaxis=dict(autorange="reversed", showticklabels=False, showgrid=False, zeroline=False),
        plot_bgcolor="white", margin=dict(l=20, r=20, t=60, b=40),
    )
    return fig


# ---------------------------------------------------------------------------------------------
# One query, step by step (small figures; the page writes the formula beside each).
# ---------------------------------------------------------------------------------------------

def vector_figure(vec, title: str, *, labels: Sequence | None = None, height: int = 220) -> go.Figure:
    """A vector [d] as bars over its dimensions (blue positive, red negative)."""
    v = np.asarray(vec, dtype=np.float64).reshape(-1)
    x = list(range(v.size))
    fig = go.Figure(go.Bar(x=x, y=v, marker_color=np.where(v >= 0, POSITIVE_COLOUR, NEGATIVE_COLOUR),
                           hovertemplate="dim %{x}: %{y:.4f}<extra></extra>"))
    fig.update_layout(title=title, height=height, uirevision=UIREVISION, margin=dict(l=40, r=10, t=40, b=30),
                      xaxis=dict(title="dimension", tickvals=x if v.size <= 16 else None,
                                 ticktext=[token_label(t) for t in labels] if labels is not None else None),
                      yaxis=dict(title="value", zeroline=True))
    return fig


def matrix_figure(mat, row_tokens: Sequence, title: str, *, height: int | None = None) -> go.Figure:
    """A matrix [S, d] (one key or value vector per row) on a diverging scale centred on 0."""
    m = np.asarray(mat, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"Expected a matrix [S, d], got shape {m.shape}.")
    labels = _labels(row_tokens, m.shape[0])
    bound = float(np.abs(m).max()) or 1.0
    fig = go.Figure(go.Heatmap(
        z=m, x=list(range(m.shape[1])), y=list(range(m.shape[0])), colorscale=SIGNED_SCALE, zmid=0,
        zmin=-bound, zmax=bound, reversescale=True, colorbar=dict(title="value"),
        customdata=np.array([[f"{labels[i]} (pos {i})"] * m.shape[1] for i in range(m.shape[0])], dtype=object),
        hovertemplate="%{customdata}, dim %{x}: %{z:.4f}<extra></extra>",
    ))
    rows = rows_px(m.shape[0], 22, 440)
    fig.update_layout(title=title, uirevision=UIREVISION, height=height or max(220, 80 + rows),
                      xaxis=dict(title="dimension"),
                      yaxis=dict(_position_axis(labels, "key position", length_px=rows, horizontal=False),
                                 autorange="reversed"),
                      margin=dict(l=60, r=10, t=40, b=30))
    return fig


def score_bars(values, key_tokens: Sequence, title: str, *, allowed=None, probability: bool = False,
               height: int = 240) -> go.Figure:
    """One number per key [S] as bars; masked keys are grey bars marked '−∞ (masked)'.

    probability=True fixes the axis to 0..1 and colours bars on the attention scale.
    """
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    S = v.size
    labels = _labels(key_tokens, S)
    allowed = np.ones(S, dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool)
    shown = np.where(allowed & np.isfinite(v), v, 0.0)
    colours = []
    for j in range(S):
        if not allowed[j]:
            colours.append(MASKED_COLOUR)
        elif probability:
            colours.append(_viridis(shown[j]))
        else:
            colours.append(POSITIVE_COLOUR if shown[j] >= 0 else NEGATIVE_COLOUR)
    # Numbers over the bars while they fit; beyond 16 keys they would overprint (hover has them).
    text = ["−∞" if not allowed[j] else f"{v[j]:.2f}" for j in range(S)] if S <= 16 else None
    fig = go.Figure(go.Bar(
        x=list(range(S)), y=shown, marker_color=colours, text=text, textposition="outside", cliponaxis=False,
        customdata=[[f"{labels[j]} (pos {j})", "−∞" if not allowed[j] else f"{v[j]:.4f}"] for j in range(S)],
        hovertemplate="key %{customdata[0]}: %{customdata[1]}<extra></extra>",
    ))
    if not allowed.all():
        fig.add_annotation(text="−∞ = masked (weight 0 after the softmax)", showarrow=False, xref="paper",
                           yref="paper", x=1, y=1.02, xanchor="right", yanchor="bottom",
                           font=dict(size=11, color=DARK_GREY))
    yaxis = dict(title="weight" if probability else "value")
    if probability:
        yaxis["range"] = [0, 1.15]
    fig.update_layout(title=title, height=height, uirevision=UIREVISION, yaxis=yaxis,
                      xaxis=_position_axis(labels, "key", length_px=PLOT_WIDTH_PX * 0.65),
                      margin=dict(l=40, r=10, t=40, b=40),
                      uniformtext=dict(minsize=10, mode="show"))  # keep "−∞" legible on empty bars
    return fig


def _viridis(x: float) -> str:
    from plotly.colors import sample_colorscale
    return sample_colorscale(ATTENTION_SCALE, [min(max(float(x), 0.0), 1.0)])[0]


# ---------------------------------------------------------------------------------------------
# Over training time.
# ---------------------------------------------------------------------------------------------

def attention_over_training(frames, steps: Sequence[int], q_tokens: Sequence, k_tokens: Sequence | None = None, *,
                            loss_steps=None, losses=None, allowed=None, frame_ms: int = 400,
                            title: str = "Attention over training: press play and watch it sharpen from uniform",
                            ) -> go.Figure:
    """One head's weights at every snapshot [N, T, S], animated, next to the loss curve whose
    marker moves with the frame. A slider and a play/pause button drive both together."""
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim != 3:
        raise ValueError(f"Expected snapshots of one head [N, T, S], got shape {frames.shape}.")
    N, T, S = frames.shape
    steps = [int(s) for s in steps]
    if len(steps) != N:
        raise ValueError(f"{N} snapshots but {len(steps)} steps.")
    k_tokens = q_tokens if k_tokens is None else k_tokens
    q_labels, k_labels = _labels(q_tokens, T), _labels(k_tokens, S)
    has_loss = loss_steps is not None and losses is not None and len(losses) > 0
    fig = make_subplots(rows=1, cols=2 if has_loss else 1, column_widths=[0.55, 0.45] if has_loss else None,
                        subplot_titles=("attention (query rows, key columns)", "training loss") if has_loss else None,
                        horizontal_spacing=0.12)
    rows = rows_px(T)
    heat = _heatmap_traces(frames[-1], q_labels, k_labels, allowed, gap=_gap(rows / T, PLOT_WIDTH_PX * 0.5 / S))
    for trace in heat:
        fig.add_trace(trace, row=1, col=1)
    n_heat = len(heat)
    marker_y = []
    if has_loss:
        ls, lv = np.asarray(loss_steps, dtype=float), np.asarray(losses, dtype=float)
        marker_y = [float(np.interp(s, ls, lv)) for s in steps]
        fig.add_trace(go.Scatter(x=ls, y=lv, mode="lines", line=dict(color=TRAIN_COLOUR), name="loss",
                                 hovertemplate="step %{x}: loss %{y:.4f}<extra></extra>"), row=1, col=2)
        fig.add_trace(go.Scatter(x=[steps[-1]], y=[marker_y[-1]], mode="markers", name="this snapshot",
                                 marker=dict(size=14, color=VAL_COLOUR, symbol="diamond"),
                                 hovertemplate="snapshot at step %{x}<extra></extra>"), row=1, col=2)
        fig.update_xaxes(title="training step", row=1, col=2)
        fig.update_yaxes(title="loss (nats)", row=1, col=2)
    shown = np.ones((T, S), dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool)
    anim_frames = []
    for n, s in enumerate(steps):
        # Nested lists, not a numpy array: Plotly 6 ships arrays as base64 typed arrays, and
        # plotly.js leaves a heatmap blank while it plays a sequence of frames holding those.
        values = np.asarray(frames[n], dtype=float)
        z = values.astype(object)  # Python floats, and None where a cell is masked: left blank
        z[~shown | np.isnan(values)] = None
        z = z.tolist()
        data, traces = [go.Heatmap(z=z)], [0]
        if has_loss:
            data.append(go.Scatter(x=[s], y=[marker_y[n]]))
            traces.append(n_heat + 1)
        anim_frames.append(go.Frame(data=data, traces=traces, name=str(s)))
    fig.frames = anim_frames
    # Play runs every frame from the first: the figure opens on the last (trained) frame, where
    # "from the current frame" would have nothing left to play.
    play = dict(frame=dict(duration=frame_ms, redraw=True), mode="immediate", transition=dict(duration=0))
    fig.update_layout(
        title=title, uirevision=UIREVISION, height=max(420, 190 + rows), margin=dict(l=60, r=20, t=80, b=110),
        showlegend=False,
        updatemenus=[dict(type="buttons", direction="left", x=0, y=-0.12, xanchor="left", yanchor="top",
                          buttons=[dict(label="▶ play", method="animate", args=[[str(s) for s in steps], play]),
                                   dict(label="❚❚ pause", method="animate",
                                        args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")])])],
        sliders=[dict(active=N - 1, x=0.12, y=-0.08, len=0.88, currentvalue=dict(prefix="step ", xanchor="right"),
                      steps=[dict(label=str(s), method="animate",
                                  args=[[str(s)], dict(mode="immediate", frame=dict(duration=0, redraw=True),
                                                       transition=dict(duration=0))]) for s in steps])],
    )
    fig.update_xaxes(_position_axis(k_labels, "key", length_px=PLOT_WIDTH_PX * (0.5 if has_loss else 1)), row=1, col=1)
    fig.update_yaxes(dict(_position_axis(q_labels, "query", length_px=rows, horizontal=False), autorange="reversed"),
                     row=1, col=1)
    return fig


def head_score_curves(loss_steps, losses, steps, scores: dict, *, formation_step: int | None = None,
                      loss_drop_step: int | None = None, score_name: str = "score",
                      title: str = "The loss drops when a head's induction score jumps") -> go.Figure:
    """Loss curve on top, per-head score curves (0..1) underneath, on a shared step axis.

    scores: {"L1 H0 induction": [N], ...}; formation_step marks the automatic detection.
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.45, 0.55], vertical_spacing=0.08,
                        subplot_titles=("training loss", f"per-head {score_name} (0 = never, 1 = always)"))
    fig.add_trace(go.Scatter(x=list(loss_steps), y=list(losses), mode="lines", name="loss",
                             line=dict(color=DARK_GREY), hovertemplate="step %{x}: loss %{y:.4f}<extra></extra>"),
                  row=1, col=1)
    dashes = ["solid", "dash", "dot", "dashdot"]
    for n, (label, series) in enumerate(scores.items()):
        fig.add_trace(go.Scatter(x=list(steps), y=np.asarray(series, dtype=float), mode="lines+markers",
                                 name=str(label), line=dict(color=HEAD_COLOURS[n % len(HEAD_COLOURS)],
                                                            dash=dashes[(n // len(HEAD_COLOURS)) % len(dashes)]),
                                 marker=dict(size=4),
                                 hovertemplate=f"{label}<br>step %{{x}}: %{{y:.3f}}<extra></extra>"),
                      row=2, col=1)
    if formation_step is not None:
        fig.add_vline(x=formation_step, line=dict(color=VAL_COLOUR, width=2, dash="dash"), row="all", col=1)
        fig.add_annotation(text=f" induction head forms (step {formation_step})", x=formation_step, y=0.97,
                           xref="x", yref="y domain", showarrow=False, xanchor="left", yanchor="top",
                           font=dict(color=VAL_COLOUR))
    if loss_drop_step is not None and loss_drop_step != formation_step:
        fig.add_vline(x=loss_drop_step, line=dict(color=DARK_GREY, width=1, dash="dot"), row=1, col=1)
        fig.add_annotation(text=f"loss halfway down (step {loss_drop_step}) ", x=loss_drop_step, y=0.03,
                           xref="x", yref="y domain", showarrow=False, xanchor="right", yanchor="bottom",
                           font=dict(color=DARK_GREY, size=11))
    fig.update_yaxes(title="loss (nats)", row=1, col=1)
    fig.update_yaxes(title=score_name, range=[0, 1.05], row=2, col=1)
    fig.update_xaxes(title="training step", row=2, col=1)
    fig.update_layout(title=title, height=560, uirevision=UIREVISION, margin=dict(l=60, r=20, t=80, b=50),
                      legend=dict(orientation="h", y=-0.15))
    return fig
