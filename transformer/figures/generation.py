"""Generation figures: the output layer with its real numbers, one step's candidates, the
beams of a beam search as a tree, and how sure the model was of each token it wrote.

Pure functions: numpy arrays and token lists in, `plotly.graph_objects.Figure` out; no
Streamlit. Tokens are drawn with `attention.token_label` (a space shows as "␣", "<eos>" as
written). Probabilities are on a fixed 0..1 axis so two steps can be compared by eye; signed
numbers (logits, weights) use the theme's blue-for-positive, red-for-negative bars.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .attention import escape, token_label
from .theme import (ACCENT_COLOUR, DARK_GREY, DIVERGING, FONT_SIZE, LIGHT_GREY, MUTED_COLOUR, NEGATIVE_COLOUR,
                    POSITIVE_COLOUR, TRAIN_COLOUR, VAL_COLOUR)

UIREVISION = "generation"
BAR_PX = 26  # one horizontal bar per candidate token


def _vector(values, name: str) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if not v.size:
        raise ValueError(f"{name} is empty.")
    return v


def _bars_height(n: float) -> int:
    return int(110 + BAR_PX * n)


def output_layer_bars(tokens: Sequence, logits, probs, *, true_token=None, title: str | None = None) -> go.Figure:
    """The top candidates' logits (left) and their probabilities after the softmax (right).

    tokens: [N] the candidates, most likely first; logits, probs: [N] their numbers.
    true_token: the token the data says comes next, outlined where it is among them.
    """
    z, p = _vector(logits, "logits"), _vector(probs, "probs")
    if not (len(tokens) == z.size == p.size):
        raise ValueError(f"{len(tokens)} tokens, {z.size} logits and {p.size} probabilities: give one each.")
    labels = [token_label(t) for t in tokens]
    y = list(range(len(labels)))
    truth = [t == true_token for t in tokens]
    outline = dict(color=[VAL_COLOUR if is_true else "rgba(0,0,0,0)" for is_true in truth], width=3)
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=("logit  z = h·W<sup>T</sup> + b", "probability  p = softmax(z)"))
    fig.add_trace(go.Bar(
        x=z, y=y, orientation="h", marker=dict(color=np.where(z >= 0, POSITIVE_COLOUR, NEGATIVE_COLOUR), line=outline),
        text=[f"{v:.2f}" for v in z], textposition="auto", customdata=labels,
        hovertemplate="%{customdata}: logit %{x:.4f}<extra></extra>", showlegend=False), row=1, col=1)
    fig.add_trace(go.Bar(
        x=p, y=y, orientation="h", marker=dict(color=TRAIN_COLOUR, line=outline),
        text=[f"{v:.1%}" for v in p], textposition="outside", cliponaxis=False, customdata=labels,
        hovertemplate="%{customdata}: p = %{x:.4f}<extra></extra>", showlegend=False), row=1, col=2)
    fig.update_yaxes(tickvals=y, ticktext=labels, autorange="reversed", row=1, col=1)
    fig.update_xaxes(title_text="logit (any real number)", zeroline=True, row=1, col=1)
    fig.update_xaxes(title_text="probability", range=[0, 1.18], tickformat=".0%", row=1, col=2)
    note = " · outlined: the true next token" if any(truth) else ""
    fig.update_layout(title=title or f"The {len(labels)} most likely next tokens{note}",
                      height=_bars_height(len(labels)), uirevision=UIREVISION, font=dict(size=FONT_SIZE),
                      margin=dict(l=10, r=30, t=80, b=40), bargap=0.25)
    return fig


def unembedding_figure(hidden, rows, tokens: Sequence, *, bias=None, title: str | None = None) -> go.Figure:
    """How the unembedding turns h [d] into the logits of the top tokens, one row per token.

    rows: W_v [N, d], the unembedding rows of `tokens`. Each cell is h_i · W_v,i, the share of
    dimension i in token v's logit: the row's sum plus the bias b_v is the logit, printed on the
    right. A dimension where h and W_v have the same sign pushes the token up (blue), opposite
    signs push it down (red). Hover gives h_i, W_v,i and their product.
    """
    h = _vector(hidden, "hidden")
    W = np.asarray(rows, dtype=np.float64)
    if W.ndim != 2 or W.shape[1] != h.size or W.shape[0] != len(tokens):
        raise ValueError(f"Expected rows [{len(tokens)}, {h.size}], got shape {W.shape}.")
    b = np.zeros(W.shape[0]) if bias is None else _vector(bias, "bias")
    terms = W * h[None, :]  # (N, d): h_i * W_v,i
    logits = terms.sum(axis=1) + b  # (N,)
    labels = [token_label(t) for t in tokens]
    bound = float(np.abs(terms).max()) or 1.0
    N, d = terms.shape
    hover = np.array([[f"{labels[v]} · dim {i}: h = {h[i]:.3f}, W = {W[v, i]:.3f}" for i in range(d)]
                      for v in range(N)], dtype=object)
    fig = go.Figure(go.Heatmap(
        z=terms, x=list(range(d)), y=list(range(N)), colorscale=DIVERGING, reversescale=True, zmid=0,
        zmin=-bound, zmax=bound, colorbar=dict(title="h_i·W_v,i", thickness=12, x=1.0, xpad=70),
        customdata=hover, hovertemplate="%{customdata}<br>product %{z:.4f}<extra></extra>", ygap=1))
    bias_note = " + b_v" if bias is not None else ""
    right = [f"{v:+.2f}" for v in logits]
    for i, text in enumerate(right):
        fig.add_annotation(x=1.0, xref="paper", xanchor="left", y=i, yref="y", text=text, showarrow=False,
                           xshift=8, font=dict(size=FONT_SIZE - 1, color=DARK_GREY))
    fig.add_annotation(x=1.0, xref="paper", xanchor="left", y=1.0, yref="paper", yanchor="bottom", showarrow=False,
                       xshift=8, text="logit", font=dict(size=FONT_SIZE - 1, color=DARK_GREY))
    fig.update_layout(
        title=title or f"The unembedding: each token's logit is the sum of its row h_i·W_v,i{bias_note}",
        height=max(220, 110 + 24 * N), uirevision=UIREVISION, font=dict(size=FONT_SIZE),
        xaxis=dict(title=f"dimension i of h (d_model = {d})"),
        yaxis=dict(tickvals=list(range(N)), ticktext=labels, autorange="reversed"),
        margin=dict(l=10, r=140, t=60, b=40))
    return fig


def loss_bars(loss: float, ln_v: float, *, token=None) -> go.Figure:
    """−log p of the true next token beside ln V, the loss of a model that guesses uniformly."""
    values = [float(loss), float(ln_v), 0.0]
    names = [f"this model: −log p({token_label(token)})" if token is not None else "this model: −log p",
             "untrained (uniform): ln V", "perfect: −log 1"]
    colours = [TRAIN_COLOUR, MUTED_COLOUR, ACCENT_COLOUR]
    fig = go.Figure(go.Bar(x=values, y=names, orientation="h", marker_color=colours,
                           text=[f"{v:.3f} nats" for v in values], textposition="outside", cliponaxis=False,
                           hovertemplate="%{y}: %{x:.4f} nats<extra></extra>"))
    top = max(values[:2]) if all(math.isfinite(v) for v in values[:2]) else ln_v
    fig.update_layout(title="The loss this position adds: lower is better",
                      height=200, uirevision=UIREVISION, font=dict(size=FONT_SIZE),
                      xaxis=dict(title="cross-entropy (nats)", range=[0, top * 1.35 + 0.1]),
                      yaxis=dict(autorange="reversed"), margin=dict(l=10, r=30, t=50, b=40))
    return fig


def candidates_figure(tokens: Sequence, raw_probs, probs=None, *, chosen=None,
                      title: str = "The candidates at this step", height: int | None = None) -> go.Figure:
    """One step's top candidates [N] as horizontal bars: the model's own probability (grey) and,
    when given, the probability after temperature / top-k / top-p (blue); the written token is
    marked "▶" and its bar drawn in the accent colour."""
    raw = _vector(raw_probs, "raw_probs")
    if len(tokens) != raw.size:
        raise ValueError(f"{len(tokens)} tokens and {raw.size} probabilities: give one each.")
    labels = [("▶ " if t == chosen else "") + token_label(t) for t in tokens]
    y = list(range(len(labels)))
    fig = go.Figure()
    series = [("the model's probability", raw, MUTED_COLOUR)]
    if probs is not None:
        series.append(("after temperature / top-k / top-p", _vector(probs, "probs"), TRAIN_COLOUR))
    for name, values, colour in series:
        colours = [VAL_COLOUR if t == chosen and colour == series[-1][2] else colour for t in tokens]
        fig.add_trace(go.Bar(x=values, y=y, orientation="h", name=name, marker_color=colours, customdata=labels,
                             text=[f"{v:.1%}" if v > 0 else "cut" for v in values], textposition="outside",
                             cliponaxis=False, hovertemplate="%{customdata}: p = %{x:.4f}<extra>" + name + "</extra>"))
    fig.update_layout(title=title, height=height or _bars_height(len(labels) * len(series) * 0.7 + 1),
                      uirevision=UIREVISION, font=dict(size=FONT_SIZE), bargap=0.2, barmode="group",
                      xaxis=dict(title="probability", range=[0, 1.18], tickformat=".0%"),
                      yaxis=dict(tickvals=y, ticktext=labels, autorange="reversed"),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0),
                      margin=dict(l=10, r=30, t=70, b=40))
    return fig


def confidence_figure(tokens: Sequence, chosen_probs, entropies_bits, *, title: str | None = None) -> go.Figure:
    """Per written token: the probability the model gave it (bars) and the entropy of its
    distribution (line, bits). Fluent nonsense shows as tall bars and a low line."""
    p = _vector(chosen_probs, "chosen_probs")
    H = _vector(entropies_bits, "entropies")
    if not (len(tokens) == p.size == H.size):
        raise ValueError("Give one probability and one entropy per token.")
    x = list(range(p.size))
    labels = [token_label(t) for t in tokens]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(x=x, y=p, name="p(written token)", marker_color=TRAIN_COLOUR, customdata=labels,
                         hovertemplate="%{customdata}: p = %{y:.3f}<extra></extra>"), secondary_y=False)
    fig.add_trace(go.Scatter(x=x, y=H, name="entropy (bits)", mode="lines+markers", line=dict(color=VAL_COLOUR),
                             customdata=labels, hovertemplate="%{customdata}: %{y:.2f} bits<extra></extra>"),
                  secondary_y=True)
    fig.update_yaxes(title_text="probability", range=[0, 1.05], tickformat=".0%", secondary_y=False)
    fig.update_yaxes(title_text="entropy (bits)", rangemode="tozero", showgrid=False, tickformat=".1f",
                     secondary_y=True)
    step = max(1, math.ceil(len(x) / 60))  # tick labels that fit: every character up to 60
    fig.update_xaxes(title_text="written token", tickvals=x[::step], ticktext=labels[::step], tickangle=0)
    fig.update_layout(title=title or "How sure the model was of each token it wrote",
                      height=300, uirevision=UIREVISION, font=dict(size=FONT_SIZE), bargap=0.1,
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0),
                      margin=dict(l=10, r=10, t=70, b=40))
    return fig


def beam_tree(steps: Sequence[Sequence[dict]], *, joiner: str = "", title: str | None = None) -> go.Figure:
    """The beams of a beam search as a tree: one column per step, one node per kept beam.

    steps[t] lists the beams kept after step t, best first, each a dict with
    ``token`` (the token it added), ``score`` (its total log-probability, nats) and
    ``parent`` (its index in steps[t - 1]; ignored at t = 0, whose parent is the prompt).
    The best final beam's path is drawn thick; hover gives each node's text so far and score.
    """
    if not steps or not all(steps):
        raise ValueError("The beam search has no steps to draw.")
    width = max(len(s) for s in steps)
    # The best final beam's path, walked back through the parents.
    best = [0] * len(steps)
    for t in range(len(steps) - 1, 0, -1):
        best[t - 1] = int(steps[t][best[t]]["parent"])
    texts: list[list[str]] = []
    fig = go.Figure()
    for t, beams in enumerate(steps):
        row = []
        for i, beam in enumerate(beams):
            parent = int(beam.get("parent", 0))
            before = texts[t - 1][parent] if t > 0 else ""
            row.append(before + (joiner if before else "") + str(beam["token"]))
            on_best = best[t] == i and (t == 0 or best[t - 1] == parent)
            x0, y0 = (t - 1, parent) if t > 0 else (-1, (width - 1) / 2)
            fig.add_trace(go.Scatter(x=[x0, t], y=[y0, i], mode="lines", hoverinfo="skip", showlegend=False,
                                     line=dict(color=VAL_COLOUR if on_best else LIGHT_GREY, width=4 if on_best else 2)))
        texts.append(row)
    xs = [t for t, beams in enumerate(steps) for _ in beams]
    ys = [i for beams in steps for i in range(len(beams))]
    scores = [float(b["score"]) for beams in steps for b in beams]
    labels = [token_label(b["token"]) for beams in steps for b in beams]
    hover = [escape(texts[t][i]) for t, beams in enumerate(steps) for i in range(len(beams))]
    fig.add_trace(go.Scatter(
        x=xs, y=ys, mode="markers+text", text=labels, textposition="middle center",
        textfont=dict(color="white", size=FONT_SIZE), showlegend=False,
        marker=dict(size=34, color=scores, colorscale="Viridis", cmax=0, line=dict(color=DARK_GREY, width=1),
                    colorbar=dict(title="log p", thickness=12)),
        customdata=np.array(list(zip(hover, scores)), dtype=object),
        hovertemplate="“%{customdata[0]}”<br>log p = %{customdata[1]:.3f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=[-1], y=[(width - 1) / 2], mode="markers+text", text=["prompt"], showlegend=False,
                             textposition="top center", marker=dict(size=14, color=MUTED_COLOUR), hoverinfo="skip"))
    # Each beam's score beside its node in the last column.
    last = len(steps) - 1
    for i, beam in enumerate(steps[-1]):
        fig.add_annotation(x=last, y=i, text=f"{float(beam['score']):.2f}", showarrow=False, xshift=24,
                           xanchor="left", font=dict(size=FONT_SIZE - 1, color=DARK_GREY))
    fig.update_layout(
        title=title or "Beam search: the kept beams at each step (thick: the best one), coloured by log p",
        height=max(220, 110 + 56 * width), uirevision=UIREVISION, font=dict(size=FONT_SIZE),
        xaxis=dict(title="step", tickvals=list(range(-1, len(steps))), ticktext=["start"] + [str(t + 1) for t in
                                                                                          range(len(steps))],
                   range=[-1.5, len(steps) - 0.2], zeroline=False, showgrid=False),
        yaxis=dict(title="beam (best on top)", tickvals=list(range(width)), zeroline=False,
                   showgrid=False, range=[width - 0.4, -0.6]),
        margin=dict(l=10, r=60, t=60, b=40))
    return fig
