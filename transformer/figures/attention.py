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

from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

ATTENTION_SCALE = "Viridis"
SIGNED_SCALE = "RdBu"
MASKED_COLOUR = "#c8c8c8"
# Okabe & Ito (2008), colour-blind safe; yellow last because it is faint on white.
HEAD_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
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


def _position_axis(labels: list[str], title: str, show_ticks: bool = True, font_size: int | None = None) -> dict:
    """A numeric position axis labelled with tokens (or with positions when there are too many)."""
    axis = dict(title=title, showgrid=False, zeroline=False)
    if show_ticks:
        axis.update(tickmode="array", tickvals=list(range(len(labels))), ticktext=labels)
    if font_size:
        axis["tickfont"] = dict(size=font_size)
    return axis


def _hover_labels(q_labels: list[str], k_labels: list[str]) -> np.ndarray:
    """customdata [T, S, 2]: the query and key label with its position, for the hover box."""
    T, S = len(q_labels), len(k_labels)
    data = np.empty((T, S, 2), dtype=object)
    for i in range(T):
        for j in range(S):
            data[i, j, 0] = f"{q_labels[i]} (pos {i})"
            data[i, j, 1] = f"{k_labels[j]} (pos {j})"
    return data


def _heatmap_traces(w: np.ndarray, q_labels, k_labels, allowed=None, coloraxis=None, showscale=True):
    """The weights trace plus, when a mask is given, a grey trace over the masked cells."""
    z = w.copy()
    custom = _hover_labels(q_labels, k_labels)
    traces = []
    heat = dict(
        z=z, x=list(range(w.shape[1])), y=list(range(w.shape[0])), customdata=custom,
        hovertemplate="query %{customdata[0]}<br>key %{customdata[1]}<br>weight %{z:.4f}<extra></extra>",
        xgap=1, ygap=1,
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
            colorscale=[[0, MASKED_COLOUR], [1, MASKED_COLOUR]], showscale=False, xgap=1, ygap=1,
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
    fig = go.Figure(_heatmap_traces(w, q_labels, k_labels, allowed))
    masked = allowed is not None and not np.asarray(allowed, dtype=bool).all()
    x_title = "key (attended to)" + (" · grey = masked: a token cannot look ahead" if masked else "")
    fig.update_layout(
        title=title, uirevision=UIREVISION, height=height or max(340, 60 + 28 * T),
        xaxis=_position_axis(k_labels, x_title),
        yaxis=dict(_position_axis(q_labels, "query (attending)"), autorange="reversed"),
        margin=dict(l=60, r=20, t=90, b=60),
    )
    return fig


def attention_grid(layers: dict, q_tokens: Sequence, k_tokens: Sequence | None = None, *,
                   descriptions: dict | None = None, allowed=None,
                   title: str = "Every head at once: which one looks where?") -> go.Figure:
    """Small multiples: one heatmap per layer (rows) and head (columns).

    layers: ordered {layer name: weights [H, T, S]}; descriptions: {layer name: [one line per
    head]} written under each panel. All panels share one colour bar fixed to 0..1.
    """
    names = list(layers)
    if not names:
        raise ValueError("No attention layers to draw.")
    arrays = [np.asarray(layers[n], dtype=np.float64) for n in names]
    H = max(a.shape[0] for a in arrays)
    T, S = arrays[0].shape[1:]
    k_tokens = q_tokens if k_tokens is None else k_tokens
    q_labels, k_labels = _labels(q_tokens, T), _labels(k_tokens, S)
    titles = [f"{name} · head {h}" if h < a.shape[0] else "" for name, a in zip(names, arrays) for h in range(H)]
    fig = make_subplots(rows=len(names), cols=H, subplot_titles=titles,
                        horizontal_spacing=0.04, vertical_spacing=min(0.14, 0.6 / len(names)))
    show_ticks = max(T, S) <= 32  # beyond that the panels show positions, not tokens
    tick_size = 11 if max(T, S) <= 12 else 10 if max(T, S) <= 24 else 8
    for r, (name, a) in enumerate(zip(names, arrays), start=1):
        for h in range(a.shape[0]):
            for trace in _heatmap_traces(a[h], q_labels, k_labels, allowed, coloraxis="coloraxis"):
                fig.add_trace(trace, row=r, col=h + 1)
            fig.update_xaxes(_position_axis(k_labels, "", show_ticks, tick_size), row=r, col=h + 1)
            fig.update_yaxes(dict(_position_axis(q_labels, "", show_ticks, tick_size), autorange="reversed"),
                             row=r, col=h + 1)
            lines = (descriptions or {}).get(name)
            if lines and h < len(lines):
                n = (r - 1) * H + h + 1
                suffix = "" if n == 1 else str(n)
                fig.add_annotation(text=escape(lines[h]), showarrow=False, xref=f"x{suffix} domain",
                                   yref=f"y{suffix} domain", x=0.5, y=0, yshift=-30, xanchor="center",
                                   yanchor="top", font=dict(size=12))
    fig.update_layout(
        title=title, uirevision=UIREVISION, height=60 + 300 * len(names),
        coloraxis=dict(colorscale=ATTENTION_SCALE, cmin=0.0, cmax=1.0, colorbar=dict(title="weight")),
        margin=dict(l=30, r=20, t=80, b=40),
    )
    return fig


def causal_mask_figure(tokens: Sequence, title: str = "The causal mask: a token may look at itself "
                       "and earlier tokens, never ahead") -> go.Figure:
    """The decoder's mask as a matrix: allowed cells coloured, masked cells grey with '−∞'."""
    T = len(tokens)
    labels = _labels(tokens, T)
    allowed = np.tril(np.ones((T, T), dtype=bool))
    text = np.where(allowed, "", "−∞")
    fig = go.Figure(go.Heatmap(
        z=allowed.astype(float), x=list(range(T)), y=list(range(T)), text=text, texttemplate="%{text}",
        colorscale=[[0, MASKED_COLOUR], [1, "#21918c"]], zmin=0, zmax=1, showscale=False, xgap=1, ygap=1,
        customdata=_hover_labels(labels, labels),
        hovertemplate="query %{customdata[0]}<br>key %{customdata[1]}<br>%{z:.0f} = may attend (1) "
                      "or masked (0)<extra></extra>",
    ))
    fig.update_layout(
        title=title, uirevision=UIREVISION, height=max(300, 40 + 28 * T),
        xaxis=_position_axis(labels, "key"), yaxis=dict(_position_axis(labels, "query"), autorange="reversed"),
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
    fig.add_trace(go.Scatter(x=[-0.02] * T, y=list(range(T)), mode="text", text=q_labels, textposition="middle left",
                             hovertext=q_hover, hoverinfo="text", showlegend=False, textfont=dict(size=14)))
    fig.add_trace(go.Scatter(x=[1.02] * S, y=list(range(S)), mode="text", text=k_labels, textposition="middle right",
                             hovertext=k_hover, hoverinfo="text", showlegend=False, textfont=dict(size=14)))
    fig.update_layout(
        title=title, uirevision=UIREVISION, height=max(320, 60 + 26 * max(T, S)),
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
    fig = go.Figure(go.Bar(x=x, y=v, marker_color=np.where(v >= 0, "#2166ac", "#b2182b"),
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
    fig.update_layout(title=title, uirevision=UIREVISION, height=height or max(220, 40 + 22 * m.shape[0]),
                      xaxis=dict(title="dimension"), yaxis=dict(_position_axis(labels, "key position"),
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
            colours.append("#2166ac" if shown[j] >= 0 else "#b2182b")
    text = ["−∞" if not allowed[j] else f"{v[j]:.2f}" for j in range(S)]
    fig = go.Figure(go.Bar(
        x=list(range(S)), y=shown, marker_color=colours, text=text, textposition="outside", cliponaxis=False,
        customdata=[f"{labels[j]} (pos {j})" for j in range(S)],
        hovertemplate="key %{customdata}: %{text}<extra></extra>",
    ))
    if not allowed.all():
        fig.add_annotation(text="−∞ = masked (weight 0 after the softmax)", showarrow=False, xref="paper",
                           yref="paper", x=1, y=1.02, xanchor="right", yanchor="bottom",
                           font=dict(size=11, color="#555"))
    yaxis = dict(title="weight" if probability else "value")
    if probability:
        yaxis["range"] = [0, 1.15]
    fig.update_layout(title=title, height=height, uirevision=UIREVISION, yaxis=yaxis,
                      xaxis=_position_axis(labels, "key"), margin=dict(l=40, r=10, t=40, b=40),
                      uniformtext=dict(minsize=10, mode="show"))  # keep "−∞" legible on empty bars
    return fig


def _viridis(x: float) -> str:
    from plotly.colors import sample_colorscale
    return sample_colorscale(ATTENTION_SCALE, [min(max(float(x), 0.0), 1.0)])[0]


# ---------------------------------------------------------------------------------------------
# Over training time.
# ---------------------------------------------------------------------------------------------

def loss_with_marker(loss_steps, losses, step: int | None = None, *, title: str = "Training loss",
                     height: int = 300) -> go.Figure:
    """The loss curve with a marker at `step` (the snapshot being looked at)."""
    fig = go.Figure(go.Scatter(x=list(loss_steps), y=list(losses), mode="lines", name="loss",
                               line=dict(color="#0072B2"), hovertemplate="step %{x}: loss %{y:.4f}<extra></extra>"))
    if step is not None and len(losses):
        y = float(np.interp(step, np.asarray(loss_steps, dtype=float), np.asarray(losses, dtype=float)))
        fig.add_trace(go.Scatter(x=[step], y=[y], mode="markers", name="this snapshot",
                                 marker=dict(size=14, color="#D55E00", symbol="diamond"),
                                 hovertemplate="snapshot at step %{x}<extra></extra>"))
        fig.add_vline(x=step, line=dict(color="#D55E00", dash="dot"))
    fig.update_layout(title=title, height=height, uirevision=UIREVISION, showlegend=False,
                      xaxis=dict(title="training step"), yaxis=dict(title="loss (cross-entropy, nats)"),
                      margin=dict(l=50, r=10, t=50, b=40))
    return fig


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
    heat = _heatmap_traces(frames[-1], q_labels, k_labels, allowed)
    for trace in heat:
        fig.add_trace(trace, row=1, col=1)
    n_heat = len(heat)
    marker_y = []
    if has_loss:
        ls, lv = np.asarray(loss_steps, dtype=float), np.asarray(losses, dtype=float)
        marker_y = [float(np.interp(s, ls, lv)) for s in steps]
        fig.add_trace(go.Scatter(x=ls, y=lv, mode="lines", line=dict(color="#0072B2"), name="loss",
                                 hovertemplate="step %{x}: loss %{y:.4f}<extra></extra>"), row=1, col=2)
        fig.add_trace(go.Scatter(x=[steps[-1]], y=[marker_y[-1]], mode="markers", name="this snapshot",
                                 marker=dict(size=14, color="#D55E00", symbol="diamond"),
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
        title=title, uirevision=UIREVISION, height=max(420, 80 + 28 * T), margin=dict(l=60, r=20, t=80, b=110),
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
    fig.update_xaxes(_position_axis(k_labels, "key"), row=1, col=1)
    fig.update_yaxes(dict(_position_axis(q_labels, "query"), autorange="reversed"), row=1, col=1)
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
                             line=dict(color="#555555"), hovertemplate="step %{x}: loss %{y:.4f}<extra></extra>"),
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
        fig.add_vline(x=formation_step, line=dict(color="#D55E00", width=2, dash="dash"), row="all", col=1)
        fig.add_annotation(text=f" induction head forms (step {formation_step})", x=formation_step, y=0.97,
                           xref="x", yref="y domain", showarrow=False, xanchor="left", yanchor="top",
                           font=dict(color="#D55E00"))
    if loss_drop_step is not None and loss_drop_step != formation_step:
        fig.add_vline(x=loss_drop_step, line=dict(color="#555555", width=1, dash="dot"), row=1, col=1)
        fig.add_annotation(text=f"loss halfway down (step {loss_drop_step}) ", x=loss_drop_step, y=0.03,
                           xref="x", yref="y domain", showarrow=False, xanchor="right", yanchor="bottom",
                           font=dict(color="#555555", size=11))
    fig.update_yaxes(title="loss (nats)", row=1, col=1)
    fig.update_yaxes(title=score_name, range=[0, 1.05], row=2, col=1)
    fig.update_xaxes(title="training step", row=2, col=1)
    fig.update_layout(title=title, height=560, uirevision=UIREVISION, margin=dict(l=60, r=20, t=80, b=50),
                      legend=dict(orientation="h", y=-0.15))
    return fig
