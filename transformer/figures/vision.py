"""Figures of the Vision Transformer: arrays in, Plotly figures out (no Streamlit, no torch).

    patch_figure(image, patch)                  the picture cut into numbered patches
    sequence_figure(image, patch)               the same patches laid out as the token sequence
    attention_overlay_grid(image, maps, patch)  one row of attention (from [CLS] or a patch) per
                                                layer and head, over the picture
    overlay_figure(image, weights, patch)       one such map (attention rollout, say) larger
    position_similarity_figure(pos, grid)       the ViT paper's Figure 7 (centre): the cosine
                                                similarity of each patch's position embedding
                                                with every other, each laid out on the grid
    filters_figure(filters)                     the patch embedding's first filters as pictures

Pictures are [H, W] arrays in [0, 1] shown in grey with row 0 at the top, as they are drawn.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .theme import DIVERGING, FONT_SIZE, SEQUENTIAL

GREYS = [[0.0, "#000000"], [1.0, "#ffffff"]]


def _picture_axes(fig: go.Figure, **where) -> None:
    """Square pixels, row 0 at the top, no ticks: a picture, not a chart."""
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, constrain="domain", **where)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, autorange="reversed",
                     scaleanchor=where and f"x{_axis_suffix(fig, **where)}" or "x", constrain="domain", **where)


def _axis_suffix(fig: go.Figure, row: int, col: int) -> str:
    ref = fig.get_subplot(row, col).xaxis.plotly_name  # "xaxis3"
    return ref.replace("xaxis", "")


def _finish(fig: go.Figure, title: str, height: int, key: str) -> go.Figure:
    fig.update_layout(title=dict(text=title, x=0.0, xanchor="left", font=dict(size=FONT_SIZE + 2)),
                      font=dict(size=FONT_SIZE), height=height, margin=dict(l=10, r=10, t=70, b=10),
                      plot_bgcolor="white", uirevision=key)
    return fig


def _image(image: np.ndarray) -> go.Heatmap:
    return go.Heatmap(z=image, colorscale=GREYS, zmin=0, zmax=1, showscale=False, hoverinfo="skip")


def patch_figure(image: np.ndarray, patch: int, title: str = "The picture, cut into patches") -> go.Figure:
    """The picture with its patch borders and each patch's number (1 = top left, row by row)."""
    image = np.asarray(image, dtype=float)
    side, grid = image.shape[0], image.shape[0] // patch
    fig = go.Figure(_image(image))
    for k in range(1, grid):  # borders between patches, in pixel coordinates (cells are centred on integers)
        edge = k * patch - 0.5
        fig.add_shape(type="line", x0=edge, x1=edge, y0=-0.5, y1=side - 0.5, line=dict(color="#E69F00", width=2))
        fig.add_shape(type="line", y0=edge, y1=edge, x0=-0.5, x1=side - 0.5, line=dict(color="#E69F00", width=2))
    for n in range(grid * grid):
        r, c = divmod(n, grid)
        fig.add_annotation(x=c * patch + patch / 2 - 0.5, y=r * patch + patch / 2 - 0.5, text=str(n + 1),
                           showarrow=False, font=dict(color="#E69F00", size=FONT_SIZE + 2), bgcolor="rgba(0,0,0,0.45)")
    _picture_axes(fig)
    return _finish(fig, title, 420, "vit-patches")


def sequence_figure(image: np.ndarray, patch: int,
                    title: str = "…read as a sequence: [CLS], then patch 1, 2, 3, … as tokens") -> go.Figure:
    """[CLS] and the patches side by side, in the order the encoder reads them."""
    image = np.asarray(image, dtype=float)
    grid = image.shape[0] // patch
    n = grid * grid
    strip = np.full((patch, (n + 1) * (patch + 1) - 1), np.nan)  # one blank column between tokens
    for k in range(n):
        r, c = divmod(k, grid)
        x0 = (k + 1) * (patch + 1)
        strip[:, x0:x0 + patch] = image[r * patch:(r + 1) * patch, c * patch:(c + 1) * patch]
    fig = go.Figure(go.Heatmap(z=strip, colorscale=GREYS, zmin=0, zmax=1, showscale=False, hoverinfo="skip"))
    fig.add_shape(type="rect", x0=-0.5, x1=patch - 0.5, y0=-0.5, y1=patch - 0.5, fillcolor="#56B4E9",
                  line=dict(width=0))
    centres = [k * (patch + 1) + patch / 2 - 0.5 for k in range(n + 1)]
    fig.update_xaxes(tickvals=centres, ticktext=["CLS"] + [str(k + 1) for k in range(n)], showgrid=False,
                     zeroline=False, constrain="domain", tickfont=dict(size=FONT_SIZE - 1))
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, autorange="reversed", scaleanchor="x")
    return _finish(fig, title, 170, "vit-sequence")


def _upsample(weights: np.ndarray, grid: int, patch: int) -> np.ndarray:
    """[N] weights over patches -> [H, W]: each patch's weight over its pixels."""
    return np.kron(np.asarray(weights, dtype=float).reshape(grid, grid), np.ones((patch, patch)))


def _overlay(weights: np.ndarray, grid: int, patch: int, zmax: float, showscale: bool, what: str) -> go.Heatmap:
    cells = np.asarray(weights, dtype=float)
    numbers = np.kron(np.arange(1, grid * grid + 1).reshape(grid, grid), np.ones((patch, patch), dtype=int))
    return go.Heatmap(z=_upsample(cells, grid, patch), customdata=numbers, colorscale=SEQUENTIAL, zmin=0, zmax=zmax,
                      opacity=0.6, showscale=showscale, colorbar=dict(title=dict(text=what), thickness=12),
                      hovertemplate="patch %{customdata}: %{z:.3f}<extra></extra>")


def overlay_figure(image: np.ndarray, weights: np.ndarray, patch: int, title: str,
                   what: str = "weight") -> go.Figure:
    """One map over the patches ([N] weights, e.g. [CLS]'s attention rollout) over the picture."""
    image = np.asarray(image, dtype=float)
    grid = image.shape[0] // patch
    weights = np.asarray(weights, dtype=float)
    fig = go.Figure([_image(image), _overlay(weights, grid, patch, float(weights.max()) or 1.0, True, what)])
    _picture_axes(fig)
    return _finish(fig, title, 420, "vit-overlay")


def attention_overlay_grid(image: np.ndarray, maps: Mapping[str, np.ndarray], patch: int, query: int = 0,
                           title: str | None = None) -> go.Figure:
    """Row `query` of each attention map (0 = [CLS], k = patch k) over the picture: one panel
    per layer (rows) and head (columns), the weight on [CLS] itself left out.

    maps: {layer name: [H, 1+N, 1+N]} for ONE picture. The colour scale is shared, 0 to the
    largest weight shown, so panels compare.
    """
    image = np.asarray(image, dtype=float)
    grid = image.shape[0] // patch
    names = list(maps)
    heads = np.asarray(maps[names[0]]).shape[0]
    rows = [np.asarray(maps[name])[:, query, 1:] for name in names]  # each (H, N)
    zmax = float(max(r.max() for r in rows)) or 1.0
    fig = make_subplots(rows=len(names), cols=heads, horizontal_spacing=0.02, vertical_spacing=0.06,
                        subplot_titles=[f"layer {i} · head {h}" for i in range(len(names)) for h in range(heads)])
    for i, row in enumerate(rows):
        for h in range(heads):
            fig.add_trace(_image(image), row=i + 1, col=h + 1)
            fig.add_trace(_overlay(row[h], grid, patch, zmax, i == 0 and h == 0, "attention"), row=i + 1, col=h + 1)
            _picture_axes(fig, row=i + 1, col=h + 1)
    who = "[CLS]" if query == 0 else f"patch {query}"
    title = title or f"Where {who} looks, per layer and head — bright patches get its attention"
    fig = _finish(fig, title, 90 + 230 * len(names), f"vit-attention-{query}")
    fig.update_layout(margin=dict(t=100))  # room for a title on two lines above the subplot titles
    return fig


def position_similarity(pos: np.ndarray) -> np.ndarray:
    """Cosine similarity of the patches' position vectors: pos [1+N, d] ([CLS] first) -> [N, N]."""
    p = np.asarray(pos, dtype=float)[1:]
    p = p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12)
    return p @ p.T


def position_similarity_figure(pos: np.ndarray, grid: int, title: str | None = None) -> go.Figure:
    """Tile (r, c) shows how similar patch (r, c)'s position embedding is to every patch's,
    laid out on the grid: a bright spot around the tile's own place means nearby patches have
    similar positions, and stripes mean row and column were learned (Dosovitskiy et al., Fig. 7)."""
    sim = position_similarity(pos)  # (N, N)
    n = grid * grid
    if sim.shape != (n, n):
        raise ValueError(f"The position table has {sim.shape[0]} patch rows, not the {n} of a {grid}x{grid} grid.")
    size = grid * (grid + 1) - 1  # grid tiles of grid cells, one blank cell between tiles
    big, hover = np.full((size, size), np.nan), np.full((size, size), "", dtype=object)
    for i in range(n):
        r, c = divmod(i, grid)
        y0, x0 = r * (grid + 1), c * (grid + 1)
        big[y0:y0 + grid, x0:x0 + grid] = sim[i].reshape(grid, grid)
        for j in range(n):
            hover[y0 + j // grid, x0 + j % grid] = f"patch {i + 1} · patch {j + 1}"
    fig = go.Figure(go.Heatmap(z=big, customdata=hover, colorscale=DIVERGING, zmid=0, zmin=-1, zmax=1,
                               colorbar=dict(title=dict(text="cosine"), thickness=12),
                               hovertemplate="%{customdata}: %{z:.2f}<extra></extra>"))
    _picture_axes(fig)
    title = title or "Position embedding similarity — each tile: one patch's position against all others"
    return _finish(fig, title, 440, "vit-positions")


def filters_figure(filters: np.ndarray, count: int = 16, per_row: int = 8,
                   title: str = "The patch embedding's first filters — what each dimension looks for in a patch") -> go.Figure:
    """filters [d, C, P, P] (channel 0 shown): the first `count`, each scaled to its own range."""
    f = np.asarray(filters, dtype=float)[:count, 0]  # (count, P, P)
    P = f.shape[-1]
    rows = -(-len(f) // per_row)
    tile = np.full((rows * (P + 1) - 1, per_row * (P + 1) - 1), np.nan)
    for k, w in enumerate(f):
        r, c = divmod(k, per_row)
        scale = np.abs(w).max() or 1.0
        tile[r * (P + 1):r * (P + 1) + P, c * (P + 1):c * (P + 1) + P] = w / scale
    fig = go.Figure(go.Heatmap(z=tile, colorscale=DIVERGING, zmid=0, zmin=-1, zmax=1,
                               colorbar=dict(title=dict(text="weight / max"), thickness=12),
                               hovertemplate="%{z:.2f}<extra></extra>"))
    _picture_axes(fig)
    return _finish(fig, title, 120 + 70 * rows, "vit-filters")


def accuracy_by_size_figure(rows: Sequence[dict], title: str = "Held-out accuracy against training-set size") -> go.Figure:
    """rows: {"arch", "train_size", "val_acc"}; one line per architecture, log-scale sizes."""
    fig = go.Figure()
    for arch, colour in (("ViT", "#0072B2"), ("CNN", "#D55E00")):
        pts = sorted((r["train_size"], r["val_acc"]) for r in rows if r["arch"] == arch)
        if pts:
            fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], name=arch, mode="lines+markers",
                                     line=dict(color=colour, width=3),
                                     hovertemplate=f"{arch}: %{{x}} pictures → %{{y:.1%}}<extra></extra>"))
    fig.update_xaxes(type="log", title_text="training pictures (fixed set, reused)")
    fig.update_yaxes(range=[0, 1.02], title_text="held-out accuracy", tickformat=".0%")
    return _finish(fig, title, 360, "vit-sizes")
