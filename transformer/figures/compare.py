"""Figures for the race between recurrent models and the transformer.

Pure functions: plain lists / numpy arrays in, `plotly.graph_objects.Figure` out; no Streamlit,
no torch. Each model keeps one colour in every figure (Okabe-Ito, colour-blind safe), so the
eye can follow "the LSTM" from the race to the gradient plot. Models are keyed by a display
name; `colour_for` picks the family colour from the name ("LSTM", "lstm-…", "Transformer", …).
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from transformer.figures.attention import token_label
from transformer.figures.theme import (BLACK, BLUE, DIVERGING, FONT_SIZE, GREEN, GREY, ORANGE, PURPLE, SKY,
                                       TABLE_HEADER_COLOUR, VERMILLION)

FAMILY_COLOURS = {"transformer": BLUE, "decoder": BLUE, "lstm": PURPLE, "gru": GREEN, "rnn": VERMILLION}
ATTENTION_COLOUR = ORANGE
OTHER_COLOURS = (SKY, BLACK, GREY)
METRIC_LABELS = {
    "seq_acc": "sequence accuracy (0-1)",
    "token_acc": "token accuracy (0-1)",
    "val_loss": "validation loss (nats/token)",
    "loss": "training loss (nats/token)",
}
X_LABELS = {
    "step": "training step",
    "train_s": "seconds of the model's own training compute",
    "elapsed_s": "seconds of the model's own compute (training + evaluation)",
}


def colour_for(name: str, index: int = 0) -> str:
    """The family colour for a model name, matched case-insensitively ("lstm" is tried before
    "rnn", which it does not contain anyway); a recurrent model with attention gets its own."""
    key = name.lower()
    if "attention" in key:  # e.g. "LSTM enc-dec + attention", drawn beside the plain LSTM
        return ATTENTION_COLOUR
    for family in ("transformer", "decoder", "lstm", "gru", "rnn"):
        if family in key:
            return FAMILY_COLOURS[family]
    return OTHER_COLOURS[index % len(OTHER_COLOURS)]


def _finish(fig: go.Figure, title: str, key: str, height: int) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0.0, xanchor="left", font=dict(size=FONT_SIZE + 2)),
        font=dict(size=FONT_SIZE), height=height, uirevision=key,
        margin=dict(l=60, r=20, t=80, b=110),
        # At the foot of the figure: above the plot it collides with long titles and subplot
        # titles, and placed under the plot (paper coordinates) it ran into the x-axis title.
        legend=dict(orientation="h", yref="container", yanchor="bottom", y=0.02, xanchor="center", x=0.5),
    )
    return fig


def race_curves(
    histories: Mapping[str, Sequence[dict]],
    x: str = "step",
    acc_metric: str = "seq_acc",
    loss_metric: str = "val_loss",
    title: Optional[str] = None,
) -> go.Figure:
    """Loss (left, log scale) and accuracy (right) of every model on shared axes.

    histories: {model name: evaluation rows}, each row a dict with `x` ("step", "train_s" or
    "elapsed_s") and the metrics. Plotting against seconds of each model's own compute shows
    who learns faster per second rather than per update.
    """
    if x not in X_LABELS:
        raise ValueError(f"x must be one of {', '.join(X_LABELS)} (got {x!r}).")
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=(METRIC_LABELS.get(loss_metric, loss_metric),
                                        METRIC_LABELS.get(acc_metric, acc_metric)))
    for j, (name, rows) in enumerate(histories.items()):
        colour = colour_for(name, j)
        for col, metric in ((1, loss_metric), (2, acc_metric)):
            pts = [r for r in rows if r.get(metric) is not None and r.get(x) is not None]
            fig.add_trace(go.Scatter(
                x=[r[x] for r in pts], y=[r[metric] for r in pts], mode="lines+markers", name=name,
                legendgroup=name, showlegend=col == 1, line=dict(color=colour, width=3), marker=dict(size=5),
                hovertemplate=f"{name}<br>{X_LABELS[x]} %{{x:.4~g}}<br>{metric} %{{y:.3f}}<extra></extra>",
            ), row=1, col=col)
    fig.update_xaxes(title_text=X_LABELS[x])
    # 1-2-5 ticks read as plain numbers whether the loss spans one decade or four.
    ticks = [m * 10.0 ** e for e in range(-4, 2) for m in (1, 2, 5)]
    fig.update_yaxes(type="log", tickvals=ticks, ticktext=[f"{t:g}" for t in ticks], title_text="nats/token (log)",
                     row=1, col=1)
    fig.update_yaxes(range=[0, 1.02], title_text="fraction correct", row=1, col=2)
    default = ("Per update: who learns from each step?" if x == "step"
               else "Per second of compute: who gets there first on this machine?")
    return _finish(fig, title or default, f"race-{x}", 420)


def accuracy_by_length_figure(
    results: Mapping[str, Sequence[dict]],
    train_length: Optional[int] = None,
    metric: str = "seq_acc",
    length_label: str = "sequence length (tokens)",
    title: Optional[str] = None,
) -> go.Figure:
    """Accuracy of each trained model at several lengths.

    results: {model name: rows {"length", metric} (rows with "error" instead are skipped)}.
    train_length: the length the models were trained on; longer lengths are shaded as
    "never seen in training" (length generalisation).
    """
    fig = go.Figure()
    longest = 0
    for j, (name, rows) in enumerate(results.items()):
        pts = sorted((r for r in rows if r.get(metric) is not None), key=lambda r: r["length"])
        longest = max([longest] + [r["length"] for r in pts])
        fig.add_trace(go.Scatter(
            x=[r["length"] for r in pts], y=[r[metric] for r in pts], mode="lines+markers", name=name,
            line=dict(color=colour_for(name, j), width=3), marker=dict(size=8),
            hovertemplate=f"{name}<br>length %{{x}}<br>{metric} %{{y:.3f}}<extra></extra>",
        ))
    if train_length is not None and longest > train_length:
        fig.add_vrect(x0=train_length + 0.5, x1=longest + 0.5, fillcolor=GREY, opacity=0.15, line_width=0,
                      annotation_text="longer than training", annotation_position="top left")
    fig.update_xaxes(title_text=length_label)
    fig.update_yaxes(title_text=METRIC_LABELS.get(metric, metric), range=[0, 1.02])
    return _finish(fig, title or "Accuracy against length: where does each model's memory run out?",
                   "acc-length", 400)


def step_time_figure(
    results: Mapping[str, dict],
    attention_mb: Optional[Mapping[str, Sequence[float]]] = None,
    recurrent: Optional[Sequence[str]] = None,
    title: Optional[str] = None,
) -> go.Figure:
    """Against sequence length: sequential steps per layer (when `recurrent` is given),
    milliseconds per training step, and activation memory.

    results: {model name: {"lengths", "seconds", "activation_mb"}} as measured by
    `transformer.analysis.compare.step_time_by_length`. recurrent: the names of the recurrent models
    (T dependent steps per layer; attention needs 1). attention_mb: optional {name: MB per
    length}, the size of the T×T attention maps, drawn dashed (what un-fused attention stores).
    """
    panels = (["sequential steps per layer"] if recurrent is not None else []) + [
        "time per training step (ms)", "activations kept for backward (MB)"]
    fig = make_subplots(rows=1, cols=len(panels), horizontal_spacing=0.08, subplot_titles=panels)
    col_ms, col_mb = len(panels) - 1, len(panels)
    for j, (name, r) in enumerate(results.items()):
        colour = colour_for(name, j)
        if recurrent is not None:
            steps = list(r["lengths"]) if name in recurrent else [1] * len(r["lengths"])
            fig.add_trace(go.Scatter(
                x=r["lengths"], y=steps, mode="lines+markers", name=name, legendgroup=name, showlegend=False,
                line=dict(color=colour, width=3),
                hovertemplate=f"{name}<br>length %{{x}}<br>%{{y}} steps one after another<extra></extra>",
            ), row=1, col=1)
        fig.add_trace(go.Scatter(
            x=r["lengths"], y=[1000 * s for s in r["seconds"]], mode="lines+markers", name=name, legendgroup=name,
            line=dict(color=colour, width=3), hovertemplate=f"{name}<br>length %{{x}}<br>%{{y:.1f}} ms<extra></extra>",
        ), row=1, col=col_ms)
        fig.add_trace(go.Scatter(
            x=r["lengths"], y=r["activation_mb"], mode="lines+markers", name=name, legendgroup=name,
            showlegend=False, line=dict(color=colour, width=3),
            hovertemplate=f"{name}<br>length %{{x}}<br>%{{y:.2f}} MB<extra></extra>",
        ), row=1, col=col_mb)
    for j, (name, mb) in enumerate((attention_mb or {}).items()):
        lengths = results[name]["lengths"] if name in results else list(range(1, len(mb) + 1))
        fig.add_trace(go.Scatter(
            x=lengths, y=list(mb), mode="lines", name=f"{name}: attention maps T² (if stored)",
            line=dict(color=colour_for(name, j), width=2, dash="dash"),
            hovertemplate=f"{name} attention maps<br>length %{{x}}<br>%{{y:.2f}} MB<extra></extra>",
        ), row=1, col=col_mb)
    fig.update_xaxes(title_text="sequence length (tokens)")
    if recurrent is not None:
        fig.update_yaxes(title_text="steps", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="ms per step", rangemode="tozero", row=1, col=col_ms)
    fig.update_yaxes(title_text="MB", rangemode="tozero", row=1, col=col_mb)
    return _finish(fig, title or "What grows with the length: sequential steps, time, memory", "step-time", 420)


def gradient_distance_figure(
    gradients: Mapping[str, Sequence[float]],
    title: Optional[str] = None,
) -> go.Figure:
    """‖∂loss/∂input‖ against distance from the output, log scale (one line per model).

    gradients: {model name: g} with g[k] the gradient norm k tokens before the output.
    Exact zeros (a path that does not exist) cannot sit on a log axis and are left out.
    """
    fig = go.Figure()
    for j, (name, g) in enumerate(gradients.items()):
        g = np.asarray(g, dtype=float)
        y = np.where(g > 0, g, np.nan)
        fig.add_trace(go.Scatter(
            x=np.arange(len(g)), y=y, mode="lines+markers", name=name, connectgaps=False,
            line=dict(color=colour_for(name, j), width=3), marker=dict(size=5),
            hovertemplate=f"{name}<br>%{{x}} tokens back<br>gradient %{{y:.2e}}<extra></extra>",
        ))
    fig.update_xaxes(title_text="distance from the output (tokens back)")
    fig.update_yaxes(type="log", dtick=1, exponentformat="power", title_text="gradient norm (log scale)")
    return _finish(fig, title or "How far back does the loss reach? A straight fall on a log axis is a vanishing gradient",
                   "grad-distance", 400)


def hidden_state_heatmap(
    states,
    tokens: Sequence,
    title: str = "Hidden state over time: each column is the memory after reading that token",
    max_units: int = 64,
    value_label: str = "activation",
) -> go.Figure:
    """A recurrent state over time: units (rows) × positions (columns), diverging colours at 0.

    states: [T, H] (one sequence). tokens: the T input tokens, for the column labels. Only the
    first `max_units` units are drawn so the rows stay readable; the colour range is symmetric.
    """
    s = np.asarray(states, dtype=float)
    if s.ndim != 2:
        raise ValueError(f"Expected states of one sequence [T, H], got shape {s.shape}.")
    T, H = s.shape
    shown = s[:, :max_units].T                               # (units, T)
    labels = [token_label(t) for t in list(tokens)[:T]] + ["·"] * max(0, T - len(tokens))
    bound = float(np.nanmax(np.abs(shown))) if shown.size else 1.0
    fig = go.Figure(go.Heatmap(
        z=shown, x=list(range(T)), y=list(range(shown.shape[0])), colorscale=DIVERGING, zmid=0.0,
        zmin=-bound or -1, zmax=bound or 1, colorbar=dict(title=value_label),
        customdata=np.tile(np.array(labels, dtype=object), (shown.shape[0], 1)),  # (units, T) token labels
        hovertemplate="unit %{y}<br>after %{customdata} (pos %{x})<br>%{z:.3f}<extra></extra>",
    ))
    fig.update_xaxes(title_text="input token", tickmode="array", tickvals=list(range(T)), ticktext=labels,
                     showgrid=False)
    fig.update_yaxes(title_text=f"unit (first {shown.shape[0]} of {H})", autorange="reversed", showgrid=False)
    return _finish(fig, title, f"hidden-{value_label}", max(320, 60 + 6 * shown.shape[0] + 90))


def complexity_table_figure(rows: Sequence[dict], title: str = "Cost per layer (Vaswani et al. 2017, Table 1)") -> go.Figure:
    """A plain table from a list of dicts with the same keys (column headers = the keys)."""
    if not rows:
        raise ValueError("The table needs at least one row.")
    columns = list(rows[0].keys())
    fig = go.Figure(go.Table(
        header=dict(values=[f"<b>{c}</b>" for c in columns], align="left", fill_color=TABLE_HEADER_COLOUR,
                    font=dict(size=FONT_SIZE)),
        cells=dict(values=[[str(r.get(c, "")) for r in rows] for c in columns], align="left",
                   font=dict(size=FONT_SIZE), height=30),
    ))
    fig.update_layout(title=dict(text=title, x=0.0, xanchor="left"), height=80 + 34 * (len(rows) + 1),
                      margin=dict(l=10, r=10, t=50, b=10), uirevision="complexity")
    return fig
