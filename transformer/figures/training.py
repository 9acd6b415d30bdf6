"""Training curves: loss, accuracy, learning rate and gradient norm against the optimizer step.

Inputs are plain sequences (lists or numpy arrays) of equal length; rows of a trainer's history
become columns with `columns(rows, "step", "loss")`. Long histories are averaged into at most
`max_points` buckets before plotting: a browser redrawing 5,000-point lines once a second is
the slow part of a live page, and a line 400 points wide already fills the chart.

    steps, loss = columns(trainer.history, "step", "loss")
    loss_figure(steps, loss).show()
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np
import plotly.graph_objects as go

from . import ACCENT_COLOR, MUTED_COLOR, TRAIN_COLOR, VAL_COLOR, base_layout

MAX_POINTS = 400


def columns(rows: Iterable[dict], *keys: str) -> tuple[np.ndarray, ...]:
    """Columns of `keys` from dict rows, keeping only rows where every key is a finite number.

    >>> columns([{"step": 1, "loss": 2.0}, {"step": 2, "loss": None}], "step", "loss")
    (array([1.]), array([2.]))
    """
    kept = []
    for row in rows:
        values = [row.get(k) for k in keys]
        if all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
            kept.append(values)
    if not kept:
        return tuple(np.zeros(0) for _ in keys)
    table = np.asarray(kept, dtype=float)  # (N, len(keys))
    return tuple(table[:, i] for i in range(len(keys)))


def downsample(x: Sequence[float], y: Sequence[float], max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Average consecutive points into at most `max_points` buckets; the last point stays exact.

    Bucket means (not every k-th point) so a noisy loss is not aliased into a misleading line.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(x)
    if n <= max_points:
        return x, y
    edges = np.linspace(0, n - 1, max_points).astype(int)  # (max_points,) bucket starts
    bucket = np.searchsorted(edges, np.arange(n), side="right") - 1  # (n,) bucket of each point
    counts = np.bincount(bucket, minlength=max_points)
    keep = counts > 0
    xm = np.bincount(bucket, weights=x, minlength=max_points)[keep] / counts[keep]
    ym = np.bincount(bucket, weights=y, minlength=max_points)[keep] / counts[keep]
    xm[-1], ym[-1] = x[-1], y[-1]
    return xm, ym


def smooth(y: Sequence[float], alpha: float = 0.1) -> np.ndarray:
    """Exponential moving average (bias-corrected, as in Adam), so early values are not pulled to 0."""
    y = np.asarray(y, dtype=float)
    out = np.empty_like(y)
    avg = 0.0
    for i, value in enumerate(y):
        avg = (1 - alpha) * avg + alpha * value
        out[i] = avg / (1 - (1 - alpha) ** (i + 1))
    return out


def _line(x, y, name, color, *, width=2.5, dash=None, mode="lines", opacity=1.0, hover="%{y:.4g}"):
    return go.Scatter(
        x=x, y=y, name=name, mode=mode, opacity=opacity,
        line=dict(color=color, width=width, dash=dash),
        hovertemplate=f"{name}: {hover}<extra></extra>",
    )


def _empty_note(fig: go.Figure, text: str) -> go.Figure:
    fig.add_annotation(text=text, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                       font=dict(color=MUTED_COLOR))
    return fig


def loss_figure(steps, train_loss, val_steps=(), val_loss=(), *, uirevision: str = "loss",
                max_points: int = MAX_POINTS, height: int = 320) -> go.Figure:
    """Training loss (raw, faint; smoothed, bold) and validation loss, on a log axis.

    steps, train_loss: [N] per optimizer step; val_steps, val_loss: [M] per evaluation.
    Log scale because the interesting part (0.1 -> 0.001) is invisible on a linear axis.
    """
    fig = go.Figure()
    steps, train_loss = np.asarray(steps, dtype=float), np.asarray(train_loss, dtype=float)
    if len(steps):
        xs, ys = downsample(steps, train_loss, max_points)
        fig.add_trace(_line(xs, ys, "train (per batch)", TRAIN_COLOR, width=1, opacity=0.35))
        fig.add_trace(_line(xs, smooth(ys, alpha=min(1.0, 20 / max(20, len(ys)))), "train (smoothed)", TRAIN_COLOR))
    if len(val_steps):
        fig.add_trace(_line(np.asarray(val_steps, float), np.asarray(val_loss, float), "validation",
                            VAL_COLOR, mode="lines+markers"))
    fig.update_layout(**base_layout("Loss — falls as the model learns (log scale)", "optimizer step",
                                    "cross-entropy (nats / answer token)", uirevision=uirevision, height=height))
    fig.update_yaxes(type="log")
    if not len(steps) and not len(val_steps):
        _empty_note(fig, "Press Train: the loss appears here after the first steps.")
    return fig


def accuracy_figure(val_steps, token_acc, seq_acc=None, *, target: float | None = None,
                    uirevision: str = "accuracy", height: int = 320) -> go.Figure:
    """Validation accuracy in percent: answer tokens right, and whole answers right.

    val_steps, token_acc, seq_acc: [M] per evaluation, accuracies as fractions in 0..1.
    `target` (a fraction) draws the preset's goal as a dotted line.
    """
    fig = go.Figure()
    x = np.asarray(val_steps, dtype=float)
    if len(x):
        fig.add_trace(_line(x, 100 * np.asarray(token_acc, float), "tokens right", ACCENT_COLOR,
                            mode="lines+markers", hover="%{y:.1f} %"))
        if seq_acc is not None and len(seq_acc):
            fig.add_trace(_line(x, 100 * np.asarray(seq_acc, float), "whole answers right", VAL_COLOR,
                                mode="lines+markers", hover="%{y:.1f} %"))
    if target is not None:
        fig.add_hline(y=100 * target, line=dict(color=MUTED_COLOR, dash="dot"),
                      annotation_text=f"target {100 * target:.0f} %", annotation_position="bottom right")
    fig.update_layout(**base_layout("Validation accuracy — from chance to right answers", "optimizer step",
                                    "accuracy (%)", uirevision=uirevision, height=height))
    fig.update_yaxes(range=[-2, 102])
    if not len(x):
        _empty_note(fig, "Accuracy is measured on held-out examples at every evaluation.")
    return fig


def lr_figure(steps, lr, *, planned_steps=(), planned_lr=(), uirevision: str = "lr",
              max_points: int = MAX_POINTS, height: int = 280) -> go.Figure:
    """Learning rate used at each step, over the whole planned schedule (dashed).

    steps, lr: [N] the rates used so far; planned_steps, planned_lr: [K] the schedule to the end,
    e.g. from `transformer.training.lr_curve(train_cfg)`.
    """
    fig = go.Figure()
    if len(planned_steps):
        fig.add_trace(_line(np.asarray(planned_steps, float), np.asarray(planned_lr, float), "planned",
                            MUTED_COLOR, width=1.5, dash="dash", hover="%{y:.3g}"))
    if len(steps):
        xs, ys = downsample(steps, lr, max_points)
        fig.add_trace(_line(xs, ys, "used", TRAIN_COLOR, hover="%{y:.3g}"))
    fig.update_layout(**base_layout("Learning rate — warm-up, then decay", "optimizer step",
                                    "learning rate (per step)", uirevision=uirevision, height=height))
    fig.update_yaxes(exponentformat="power", rangemode="tozero")
    return fig


def grad_norm_figure(steps, grad_norm, *, clip: float | None = None, uirevision: str = "grad_norm",
                     max_points: int = MAX_POINTS, height: int = 280) -> go.Figure:
    """Gradient norm before clipping, with the clipping threshold (steps above it were scaled down).

    steps, grad_norm: [N] per optimizer step. Log scale: norms span orders of magnitude.
    """
    fig = go.Figure()
    if len(steps):
        xs, ys = downsample(steps, grad_norm, max_points)
        fig.add_trace(_line(xs, ys, "gradient norm", ACCENT_COLOR, width=1.5, hover="%{y:.3g}"))
    if clip:
        fig.add_hline(y=clip, line=dict(color=VAL_COLOR, dash="dot"),
                      annotation_text=f"clipped above {clip:g}", annotation_position="top right")
    fig.update_layout(**base_layout("Gradient norm — spikes are unstable steps", "optimizer step",
                                    "‖gradient‖ (L2 norm, log scale)", uirevision=uirevision, height=height))
    fig.update_yaxes(type="log")
    if not len(steps):
        _empty_note(fig, "One point per optimizer step.")
    return fig
