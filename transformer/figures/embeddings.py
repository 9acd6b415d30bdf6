"""Figures for embedding spaces: labelled 2-D/3-D scatters, films over training, cosine matrices.

Pure functions: numpy arrays in, `plotly.graph_objects.Figure` out (no streamlit, no torch).
The coordinates come from `transformer.analysis.projection` (one fixed PCA basis), so a film's axes are
fixed too: every frame shares one axis range and the points move, the axes do not.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from transformer.figures.theme import (BLACK, BLUE, DARK_GREY, DIVERGING, FONT_SIZE, GREEN, GREY, ORANGE, PALETTE,
                                       PURPLE, SKY, VERMILLION, YELLOW)
from transformer.analysis.projection import GROUP_ORDER

# Okabe-Ito (colour-blind safe), with a brown and greys for the groups that matter least.
GROUP_COLOURS = {
    "special": GREY, "digit": BLUE, "letter": GREEN, "month": ORANGE,
    "positive": SKY, "negative": VERMILLION, "negation": PURPLE, "word": BLACK,
    "punctuation": "#8C6D31", "space": "#666666", "label": YELLOW, "other": "#BBBBBB",
}
_EXTRA_COLOURS = PALETTE[:7]


def _group_order(groups) -> list[str]:
    present = list(dict.fromkeys(groups))
    return [g for g in GROUP_ORDER if g in present] + [g for g in present if g not in GROUP_ORDER]


def _colour(group: str, j: int) -> str:
    return GROUP_COLOURS.get(group, _EXTRA_COLOURS[j % len(_EXTRA_COLOURS)])


def _display(token: str) -> str:
    """Make whitespace tokens visible as labels."""
    return {" ": "␣", "\n": "↵", "\t": "⇥"}.get(token, token)


def _title(text: str) -> dict:
    return dict(text=text, x=0.0, xanchor="left", font=dict(size=FONT_SIZE + 2))


def _check(coords, labels, groups) -> np.ndarray:
    coords = np.asarray(coords, dtype=float)
    if coords.ndim != 2 or coords.shape[1] not in (2, 3):
        raise ValueError("Embedding coordinates must be [points, 2] or [points, 3]: choose 2-D or 3-D.")
    if len(labels) != coords.shape[0] or len(groups) != coords.shape[0]:
        raise ValueError("Give one label and one group per point.")
    return coords


def _traces(coords, labels, groups, order, show_text=True):
    """One trace per group (so the legend toggles groups), in the fixed `order`."""
    three_d = coords.shape[1] == 3
    traces = []
    groups = np.asarray(groups, dtype=object)
    for j, g in enumerate(order):
        idx = np.flatnonzero(groups == g)
        text = [_display(labels[i]) for i in idx]
        common = dict(
            mode="markers+text" if show_text else "markers", name=g, text=text,
            textposition="top center", marker=dict(size=6 if three_d else 9, color=_colour(g, j)),
            customdata=[g] * len(idx),
            hovertemplate="<b>%{text}</b> (%{customdata})<br>PC1 %{x:.3f}<br>PC2 %{y:.3f}"
            + ("<br>PC3 %{z:.3f}" if three_d else "") + "<extra></extra>",
        )
        if three_d:
            traces.append(go.Scatter3d(x=coords[idx, 0], y=coords[idx, 1], z=coords[idx, 2], **common))
        else:
            traces.append(go.Scatter(x=coords[idx, 0], y=coords[idx, 1], **common))
    return traces


def _axis_titles(explained, n) -> list[str]:
    if explained is None:
        return [f"PC{i + 1}" for i in range(n)]
    return [f"PC{i + 1} ({100 * float(explained[i]):.0f}% of variance)" for i in range(n)]


def _ranges(all_coords: np.ndarray) -> list[list[float]]:
    lo, hi = all_coords.min(axis=0), all_coords.max(axis=0)
    pad = np.maximum((hi - lo) * 0.08, 1e-3)
    return [[float(a), float(b)] for a, b in zip(lo - pad, hi + pad)]


def _apply_axes(fig, n, titles, ranges):
    if n == 3:
        fig.update_layout(scene=dict(
            xaxis=dict(title=dict(text=titles[0]), range=ranges[0]),
            yaxis=dict(title=dict(text=titles[1]), range=ranges[1]),
            zaxis=dict(title=dict(text=titles[2]), range=ranges[2]), aspectmode="cube",
        ))
    else:
        fig.update_xaxes(title_text=titles[0], range=ranges[0])
        fig.update_yaxes(title_text=titles[1], range=ranges[1])


def embedding_scatter_figure(coords, labels, groups, explained=None, title: str | None = None) -> go.Figure:
    """Points coords [N, 2|3] labelled by token and coloured by group (one legend entry per group)."""
    coords = _check(coords, labels, groups)
    n = coords.shape[1]
    fig = go.Figure(_traces(coords, list(labels), list(groups), _group_order(groups)))
    _apply_axes(fig, n, _axis_titles(explained, n), _ranges(coords))
    fig.update_layout(title=_title(title or "Tokens the model treats alike end up close together"),
                      font=dict(size=FONT_SIZE),
                      height=560, uirevision="embedding-scatter", legend=dict(title=dict(text="group")),
                      margin=dict(l=60, r=20, t=70, b=50))
    return fig


def embedding_animation_figure(frames, frame_names, labels, groups, explained=None, title: str | None = None,
                               start: int = -1, frame_label: str = "step") -> go.Figure:
    """A film of coords [N, 2|3] per frame (same points, same basis) with a play button and a slider.

    Axis ranges cover every frame so the axes never rescale; the figure opens on frame `start`
    (the last by default) and Play runs the film from the first frame.
    """
    frames = [_check(f, labels, groups) for f in frames]
    if not frames:
        raise ValueError("There are no frames to show yet: train for a few steps first.")
    if len(frame_names) != len(frames):
        raise ValueError("Give one name per frame.")
    labels, groups = list(labels), list(groups)
    n = frames[0].shape[1]
    order = _group_order(groups)
    start = start % len(frames)
    names = [str(s) for s in frame_names]
    redraw = n == 3  # 3-D scenes only update on a full redraw
    fig = go.Figure(
        data=_traces(frames[start], labels, groups, order),
        frames=[go.Frame(data=_traces(f, labels, groups, order), name=name) for f, name in zip(frames, names)],
    )
    _apply_axes(fig, n, _axis_titles(explained, n), _ranges(np.concatenate(frames)))
    play = dict(frame=dict(duration=450, redraw=redraw), transition=dict(duration=300, easing="cubic-in-out"),
                fromcurrent=False, mode="immediate")
    pause = dict(frame=dict(duration=0, redraw=False), transition=dict(duration=0), mode="immediate")
    fig.update_layout(
        title=_title(title or "Watch the space form: one fixed set of axes, points move as training goes on"),
        font=dict(size=FONT_SIZE), height=620, uirevision="embedding-film", legend=dict(title=dict(text="group")),
        margin=dict(l=60, r=20, t=70, b=50),
        updatemenus=[dict(type="buttons", direction="left", x=0.0, y=-0.08, xanchor="left", yanchor="top",
                          showactive=False, pad=dict(r=10, t=10),
                          buttons=[dict(label="▶ Play", method="animate", args=[None, play]),
                                   dict(label="❚❚ Pause", method="animate", args=[[None], pause])])],
        sliders=[dict(active=start, x=0.18, len=0.82, y=-0.05, yanchor="top",
                      currentvalue=dict(prefix=f"{frame_label}: ", xanchor="right"), pad=dict(t=30),
                      steps=[dict(label=name, method="animate",
                                  args=[[name], dict(frame=dict(duration=0, redraw=redraw),
                                                     transition=dict(duration=0), mode="immediate")])
                             for name in names])],
    )
    return fig


def cosine_matrix_figure(sim, labels, title: str | None = None) -> go.Figure:
    """Cosine similarity [N, N] between chosen tokens, RdBu fixed to -1..1 and centred on 0."""
    sim = np.asarray(sim, dtype=float)
    shown = [_display(t) for t in labels]
    if sim.shape != (len(shown), len(shown)):
        raise ValueError("The similarity matrix must be square with one label per row.")
    fig = go.Figure(go.Heatmap(
        z=sim, x=shown, y=shown, colorscale=DIVERGING, zmid=0.0, zmin=-1, zmax=1,
        colorbar=dict(title="cosine"), text=np.round(sim, 2), texttemplate="%{text}" if len(shown) <= 16 else None,
        hovertemplate="%{y} vs %{x}<br>cosine %{z:.3f}<extra></extra>",
    ))
    fig.update_xaxes(title_text="token", type="category")
    fig.update_yaxes(title_text="token", type="category", autorange="reversed")
    fig.update_layout(title=_title(title or "Which tokens point the same way? (cosine)"),
                      font=dict(size=FONT_SIZE),
                      height=max(360, 28 * len(shown) + 140), uirevision="embedding-cosine",
                      margin=dict(l=60, r=20, t=70, b=50))
    return fig


def neighbours_figure(query: str, neighbours) -> go.Figure:
    """Horizontal bars: the nearest tokens to `query` and their cosine similarity, best on top."""
    tokens = [_display(t) for t, _ in neighbours]
    sims = [s for _, s in neighbours]
    fig = go.Figure(go.Bar(
        x=sims, y=tokens, orientation="h", marker=dict(color=BLUE),
        text=[f"{s:.2f}" for s in sims], textposition="auto",
        hovertemplate="%{y}<br>cosine %{x:.3f}<extra></extra>",
    ))
    fig.update_xaxes(title_text="cosine similarity to " + repr(_display(query)), range=[-1, 1])
    fig.update_yaxes(title_text="neighbour", type="category", autorange="reversed")
    fig.update_layout(title=_title(f"Nearest neighbours of '{_display(query)}'"),
                      font=dict(size=FONT_SIZE),
                      height=max(260, 32 * len(tokens) + 120), uirevision="embedding-neighbours",
                      margin=dict(l=60, r=20, t=70, b=50))
    return fig


def polarity_figure(scores, labels, groups, separation: float | None = None) -> go.Figure:
    """Words placed along one axis (scores [N], e.g. from `projection.polarity_axis`), one row per group.

    If positive and negative words fall on opposite sides of 0, one direction of the space
    carries sentiment.
    """
    scores = np.asarray(scores, dtype=float)
    if len(labels) != scores.shape[0] or len(groups) != scores.shape[0]:
        raise ValueError("Give one label and one group per score.")
    order = _group_order(groups)
    groups_arr = np.asarray(groups, dtype=object)
    fig = go.Figure()
    for j, g in enumerate(order):
        idx = np.flatnonzero(groups_arr == g)
        idx = idx[np.argsort(scores[idx], kind="stable")]
        # Labels alternate above and below the row so that neighbours do not print on each other.
        fig.add_trace(go.Scatter(
            x=scores[idx], y=[g] * len(idx), mode="markers+text", name=g,
            text=[_display(labels[i]) for i in idx],
            textposition=["top center" if n % 2 == 0 else "bottom center" for n in range(len(idx))],
            marker=dict(size=10, color=_colour(g, j)),
            hovertemplate="<b>%{text}</b><br>score %{x:.3f}<extra></extra>",
        ))
    fig.add_vline(x=0, line=dict(color=DARK_GREY, dash="dash"))
    fig.update_xaxes(title_text="position along the negative → positive direction (embedding units)")
    fig.update_yaxes(title_text="group", type="category")
    title = "One direction of the space separates positive from negative words"
    if separation is not None:
        title += f" ({100 * separation:.0f}% on their own side)"
    fig.update_layout(title=_title(title), font=dict(size=FONT_SIZE), showlegend=False,
                      height=max(320, 95 * len(order) + 150), uirevision="embedding-polarity",
                      margin=dict(l=60, r=20, t=70, b=50))
    return fig
