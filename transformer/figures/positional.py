"""Figures for positional encodings: waves, the position × dimension table, similarity, rotations.

Pure functions: numpy arrays in, `plotly.graph_objects.Figure` out (no streamlit, no torch).
Signed values use the diverging `RdBu` scale centred on 0; every figure's title says what to
notice and sets `uirevision` so zoom survives a page refresh.
"""
from __future__ import annotations

import math
import textwrap

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from transformer.figures.attention import escape
from transformer.figures.theme import DIVERGING, FONT_SIZE, LIGHT_GREY, PALETTE

LINE_COLOURS = PALETTE[:8]


def wavelength(dim: int, d_model: int, base: float = 10000.0) -> float:
    """Wavelength in positions of column `dim` of the sinusoidal table: 2π · base^(2i/d), i = dim // 2."""
    return 2 * math.pi * base ** (2 * (dim // 2) / d_model)


def _layout(fig: go.Figure, title: str, height: int = 420, key: str = "positional") -> go.Figure:
    fig.update_layout(title=dict(text=title, x=0.0, xanchor="left", font=dict(size=FONT_SIZE + 2)),
                      font=dict(size=FONT_SIZE), height=height, uirevision=key,
                      margin=dict(l=60, r=20, t=70, b=50))
    return fig


def _symmetric_range(values) -> float:
    m = float(np.nanmax(np.abs(values))) if np.size(values) else 1.0
    return m if m > 0 else 1.0


def encoding_curves_figure(pe, dims, base: float = 10000.0) -> go.Figure:
    """Chosen columns of a sinusoidal table pe [P, d] against position, wavelengths in the legend."""
    pe = np.asarray(pe, dtype=float)
    n_pos, d_model = pe.shape
    fig = go.Figure()
    positions = np.arange(n_pos)
    for j, dim in enumerate(dims):
        if not 0 <= dim < d_model:
            raise ValueError(f"Dimension {dim} is outside 0..{d_model - 1}: pick a column of the table.")
        kind = "sin" if dim % 2 == 0 else "cos"
        lam = wavelength(dim, d_model, base)
        fig.add_trace(go.Scatter(
            x=positions, y=pe[:, dim], mode="lines", name=f"dim {dim} ({kind}), wavelength {lam:,.1f}",
            line=dict(color=LINE_COLOURS[j % len(LINE_COLOURS)], width=2),
            hovertemplate=f"dim {dim}<br>position %{{x}}<br>value %{{y:.3f}}<extra></extra>",
        ))
    fig.update_xaxes(title_text="position (token index)")
    fig.update_yaxes(title_text="encoding value", range=[-1.1, 1.1])
    fig.update_layout(legend=dict(orientation="h", y=-0.2))
    return _layout(fig, "Each pair of dimensions is a wave: low dimensions turn fast, high ones slowly",
                   height=440, key="pe-curves")


def _for_display(values: np.ndarray) -> np.ndarray:
    """float32 for a heatmap's cells: half the bytes of float64 to send and decode on every
    slider move, and still far more digits than a colour or a 3-decimal hover shows. (Rows and
    columns need no x and y arrays: Plotly numbers them 0, 1, 2, ... itself.)"""
    return values.astype(np.float32)


def encoding_heatmap_figure(pe, title: str | None = None) -> go.Figure:
    """The whole table pe [P, d]: position down, dimension across, RdBu centred on 0."""
    pe = np.asarray(pe, dtype=float)
    m = _symmetric_range(pe)
    fig = go.Figure(go.Heatmap(
        z=_for_display(pe), colorscale=DIVERGING,
        zmid=0.0, zmin=-m, zmax=m, colorbar=dict(title="value"),
        hovertemplate="position %{y}<br>dimension %{x}<br>value %{z:.3f}<extra></extra>",
    ))
    fig.update_xaxes(title_text="dimension (column of the encoding)")
    fig.update_yaxes(title_text="position (token index)", autorange="reversed")
    return _layout(fig, title or "Left columns flicker, right columns barely change",
                   height=460, key="pe-heatmap")


def position_similarity_figure(sim, title: str | None = None, colorbar: str = "dot product",
                               symmetric: bool = True, x_title: str = "position j",
                               y_title: str = "position i") -> go.Figure:
    """A [P, P] position-to-position similarity matrix (rows: position i, columns: position j)."""
    sim = np.asarray(sim, dtype=float)
    m = _symmetric_range(sim) if symmetric else None
    fig = go.Figure(go.Heatmap(
        z=_for_display(sim), colorscale=DIVERGING,
        zmid=0.0, zmin=-m if m else None, zmax=m, colorbar=dict(title=colorbar),
        hovertemplate="position %{y} vs %{x}<br>" + colorbar + " %{z:.3f}<extra></extra>",
    ))
    fig.update_xaxes(title_text=x_title, constrain="domain")
    fig.update_yaxes(title_text=y_title, autorange="reversed", scaleanchor="x", constrain="domain")
    return _layout(fig, title or "Similarity depends only on the distance |i − j|",
                   height=460, key="pe-similarity")


def same_word_figure(word_vec, pe_a, pe_b, pos_a: int, pos_b: int, word: str = "word") -> go.Figure:
    """Rows: a token's embedding, embedding + PE[pos_a], embedding + PE[pos_b], and their difference.

    All vectors [d]. The first row is what a model without positions sees at both places.
    """
    word_vec, pe_a, pe_b = (np.asarray(v, dtype=float) for v in (word_vec, pe_a, pe_b))
    rows = np.stack([word_vec, word_vec + pe_a, word_vec + pe_b, pe_a - pe_b])
    word = escape(word)  # typed by a person: Plotly would read '<a href=...>' in a label as a link
    labels = [f"'{word}' alone (both places)", f"'{word}' + PE({pos_a})", f"'{word}' + PE({pos_b})",
              f"difference PE({pos_a}) - PE({pos_b})"]
    m = _symmetric_range(rows)
    fig = go.Figure(go.Heatmap(
        z=rows, y=labels, x=np.arange(rows.shape[1]), colorscale=DIVERGING, zmid=0.0, zmin=-m, zmax=m,
        colorbar=dict(title="value"), hovertemplate="%{y}<br>dimension %{x}<br>value %{z:.3f}<extra></extra>",
    ))
    fig.update_xaxes(title_text="dimension")
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, f"The same word at positions {pos_a} and {pos_b}: identical alone, different with position",
                   height=320, key="pe-same-word")


def relative_rotation_figure(pe, k: int, pairs, positions=None) -> go.Figure:
    """For each pair i in `pairs`, the points (PE[pos, 2i], PE[pos, 2i+1]) on the unit circle and an
    arc from pos to pos + k for a few positions: every arc spans the same angle, whatever pos is.

    The angles are read off the table itself, not from the formula. Arcs are drawn at slightly
    smaller radii (1, 0.9, 0.8, ...) so that arcs of different positions do not hide each other.
    """
    pe = np.asarray(pe, dtype=float)
    n_pos, d_model = pe.shape
    if not 0 < k < n_pos:
        raise ValueError(f"The offset k must be between 1 and {n_pos - 1}.")
    if positions is None:
        positions = list(range(0, n_pos - k, max(1, (n_pos - k) // 4)))[:4]
    pairs = list(pairs)
    for i in pairs:
        if not 0 <= 2 * i + 1 < d_model:
            raise ValueError(f"Pair {i} does not exist for d_model {d_model}: pick 0..{d_model // 2 - 1}.")
    # Angle of each position on the circle of pair i: x = sin(θ), y = cos(θ).
    theta = {i: np.arctan2(pe[:, 2 * i], pe[:, 2 * i + 1]) for i in pairs}  # (n_pos,) each
    turn = {i: float((theta[i][k] - theta[i][0]) % (2 * np.pi)) for i in pairs}
    titles = [f"pair {i}: turn {math.degrees(turn[i]):.1f}°" for i in pairs]
    fig = make_subplots(rows=1, cols=len(pairs), subplot_titles=titles)
    circle = np.linspace(0, 2 * np.pi, 181)
    t = np.linspace(0.0, 1.0, 40)
    for c, i in enumerate(pairs, start=1):
        fig.add_trace(go.Scatter(x=np.sin(circle), y=np.cos(circle), mode="lines", showlegend=False,
                                 line=dict(color=LIGHT_GREY, width=1), hoverinfo="skip"), row=1, col=c)
        for j, p in enumerate(positions):
            colour = LINE_COLOURS[j % len(LINE_COLOURS)]
            r = 1.0 - 0.1 * (j % 5)
            start = theta[i][p]
            # The arc the table actually takes from p to p + k (same turn for every p).
            step = (theta[i][p + k] - start) % (2 * np.pi)
            angles = start + t * step
            text = [str(p)] + [""] * (len(t) - 2) + [str(p + k)]
            fig.add_trace(go.Scatter(
                x=r * np.sin(angles), y=r * np.cos(angles), mode="lines+markers+text", text=text,
                textposition="top center",
                marker=dict(size=[8] + [0] * (len(t) - 2) + [12], color=colour,
                            symbol=["circle"] + ["circle"] * (len(t) - 2) + ["arrow"], angleref="previous"),
                line=dict(color=colour, width=2.5), showlegend=c == 1, legendgroup=f"pos{p}",
                name=f"pos {p} → {p + k}",
                hovertemplate=f"pos {p} → {p + k}<br>turn {math.degrees(step):.1f}°<extra></extra>",
            ), row=1, col=c)
        axis = "" if c == 1 else str(c)
        # constrain="domain": keep the circle round by shrinking the plot, not by widening a range.
        fig.update_xaxes(range=[-1.25, 1.25], title_text=f"dim {2 * i} (sin)", row=1, col=c, constrain="domain")
        fig.update_yaxes(range=[-1.25, 1.25], title_text=f"dim {2 * i + 1} (cos)", row=1, col=c,
                         scaleanchor=f"x{axis}", scaleratio=1)
    return _layout(fig, f"PE(pos + {k}) is PE(pos) rotated: every arc in a pair turns by the same angle",
                   height=420, key="pe-rotation")


def rotation_matrix_figure(R) -> go.Figure:
    """The matrix R_k [d, d] that maps PE[pos] to PE[pos + k]: 2x2 blocks on the diagonal, zeros elsewhere."""
    R = np.asarray(R, dtype=float)
    fig = go.Figure(go.Heatmap(
        z=R, colorscale=DIVERGING, zmid=0.0, zmin=-1, zmax=1, colorbar=dict(title="entry"),
        hovertemplate="row %{y}, column %{x}<br>%{z:.3f}<extra></extra>",
    ))
    fig.update_xaxes(title_text="input dimension (PE[pos])")
    fig.update_yaxes(title_text="output dimension (PE[pos + k])", autorange="reversed", scaleanchor="x")
    return _layout(fig, "R_k: one 2×2 rotation per pair, no 'pos' in it",
                   height=420, key="pe-rotation-matrix")


def offset_lines_figure(scores, rows=None) -> go.Figure:
    """Lines of scores[m, n] against the offset m - n, one per query position m.

    For RoPE they lie on top of each other: the score depends on the offset only.
    """
    scores = np.asarray(scores, dtype=float)
    n = scores.shape[0]
    rows = sorted({0, n // 3, 2 * n // 3, n - 1}) if rows is None else list(rows)
    fig = go.Figure()
    for j, m in enumerate(rows):
        offsets = m - np.arange(scores.shape[1])
        # Rings shrinking from the first query position to the last: where the scores coincide,
        # the rings are concentric, so every position stays visible.
        fig.add_trace(go.Scatter(
            x=offsets, y=scores[m], mode="markers", name=f"query at position {m}",
            marker=dict(symbol="circle-open", size=5 + 4 * (len(rows) - 1 - j), line=dict(width=2),
                        color=LINE_COLOURS[j % len(LINE_COLOURS)]),
            hovertemplate=f"query position {m}<br>offset %{{x}}<br>q·k %{{y:.3f}}<extra></extra>",
        ))
    fig.update_xaxes(title_text="offset m − n (query minus key position)")
    fig.update_yaxes(title_text="q·k after rotation")
    fig.update_layout(legend=dict(orientation="h", y=-0.25))
    return _layout(fig, "Same offset → same q·k, at every position",
                   height=420, key="rope-offsets")


def scheme_similarity_figure(matrices: dict, notes: dict | None = None) -> go.Figure:
    """Side by side cosine-similarity matrices [P, P] per scheme; a None matrix shows its note
    instead (plain text, wrapped here to fit a quarter of the figure)."""
    notes = notes or {}
    names = list(matrices)
    last = next((n for n in reversed(names) if matrices[n] is not None), None)  # carries the colour bar
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, horizontal_spacing=0.04)
    for c, name in enumerate(names, start=1):
        sim = matrices[name]
        axis = "" if c == 1 else str(c)
        if sim is None:
            fig.add_trace(go.Heatmap(z=[[np.nan]], showscale=False, hoverinfo="skip"), row=1, col=c)
            note = "<br>".join(textwrap.wrap(notes.get(name, "not available"), width=24))
            fig.add_annotation(text=note, xref=f"x{axis} domain",
                               yref=f"y{axis} domain", x=0.5, y=0.5, showarrow=False, align="center",
                               font=dict(size=12))
            fig.update_xaxes(visible=False, row=1, col=c)
            fig.update_yaxes(visible=False, row=1, col=c)
            continue
        sim = np.asarray(sim, dtype=float)
        fig.add_trace(go.Heatmap(
            z=sim, colorscale=DIVERGING, zmid=0.0, zmin=-1, zmax=1, showscale=name == last,
            colorbar=dict(title="cosine"), name=name,
            hovertemplate=f"{name}<br>position %{{y}} vs %{{x}}<br>cosine %{{z:.3f}}<extra></extra>",
        ), row=1, col=c)
        fig.update_xaxes(title_text="position j", row=1, col=c, constrain="domain")
        fig.update_yaxes(autorange="reversed", scaleanchor=f"x{axis}", row=1, col=c, constrain="domain",
                         title_text="position i" if c == 1 else None)
    return _layout(fig, "Four ways to encode position: how alike does each scheme make positions i and j?",
                   height=400, key="pe-schemes")


def scheme_curves_figure(histories: dict, metric: str = "token_acc", title: str | None = None) -> go.Figure:
    """One line per scheme: `metric` from each history (a list of eval rows with 'step')."""
    fig = go.Figure()
    for j, (name, rows) in enumerate(histories.items()):
        rows = [r for r in rows if metric in r and r.get(metric) is not None]
        fig.add_trace(go.Scatter(
            x=[r["step"] for r in rows], y=[r[metric] for r in rows], mode="lines+markers", name=name,
            line=dict(color=LINE_COLOURS[j % len(LINE_COLOURS)], width=2),
            hovertemplate=f"{name}<br>step %{{x}}<br>{metric} %{{y:.3f}}<extra></extra>",
        ))
    label = {"token_acc": "token accuracy (0-1)", "seq_acc": "sequence accuracy (0-1)",
             "val_loss": "validation loss (nats/token)", "loss": "training loss (nats/token)"}.get(metric, metric)
    fig.update_xaxes(title_text="training step")
    fig.update_yaxes(title_text=label, range=[0, 1.02] if metric.endswith("acc") else None)
    return _layout(fig, title or "Which positional encoding learns order fastest?",
                   height=420, key="pe-experiment")
