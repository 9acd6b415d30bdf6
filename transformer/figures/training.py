"""Training curves: loss, accuracy, learning rate and gradient norm against the optimizer step.

Inputs are plain sequences (lists or numpy arrays) of equal length; rows of a trainer's history
become columns with `columns(rows, "step", "loss")`. Long histories are averaged into at most
`max_points` buckets before plotting: a browser redrawing 5,000-point lines once a second is
the slow part of a live page, and 200 points already draw a smooth line across a chart.

    steps, loss = columns(trainer.history, "step", "loss")
    loss_figure(steps, loss).show()

A live page redraws these once a second, and building a plotly Figure (validating every
property) costs far more than the data in it. So each figure is split in two: `*_series`
computes its lines (name, x, y) from the data, and `*_figure` styles them. A page builds the
figure once per run and then only swaps the lines in with `update_figure(fig, series)`.
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np
import plotly.graph_objects as go

from .theme import ACCENT_COLOUR, MUTED_COLOUR, ORANGE, SKY, TRAIN_COLOUR, VAL_COLOUR, base_layout

MAX_POINTS = 200


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


Series = list  # [(name, x [N], y [N]), ...] in drawing order
EMPTY_NOTE = "empty-note"  # the name of the note a figure shows while it has no lines

# Training beside validation, so the gap between them is the first thing one sees (TensorFlow
# Playground's "test loss / training loss"). The side is said twice, for colour-blind readers
# too: training is blue and dashed with open markers, validation (held-out) vermillion and solid,
# the theme's roles across the app (the Learning vs memorising page and its lesson say "blue:
# training, vermillion: held-out"). A second quantity in one figure (tokens right beside whole
# answers right) takes the lighter shade of each side's colour.
TRAINING = "training"
VALIDATION = "validation (held-out)"
PER_BATCH = "training (per batch)"
SEP = " · "  # a line's name is "<quantity> · <side>": the legend groups by quantity, shows the side
LOSS, TOKENS, ANSWERS = "loss", "tokens right", "whole answers right"
SIDE_COLOURS = {PER_BATCH: (TRAIN_COLOUR, SKY), TRAINING: (TRAIN_COLOUR, SKY), VALIDATION: (VAL_COLOUR, ORANGE)}
SIDE_STYLES = {
    PER_BATCH: dict(width=1, opacity=0.3),
    TRAINING: dict(dash="dash", mode="lines+markers", marker=dict(symbol="circle-open", size=7)),
    VALIDATION: dict(mode="lines+markers"),
}
# Lines that are not part of a training / validation pair.
STYLES = {
    "planned": dict(color=MUTED_COLOUR, width=1.5, dash="dash", hover="%{y:.3g}"),
    "used": dict(color=TRAIN_COLOUR, hover="%{y:.3g}"),
    "gradient norm": dict(color=ACCENT_COLOUR, width=1.5, hover="%{y:.3g}"),
}


def line_name(quantity: str, side: str) -> str:
    """The name of one side's line: line_name("loss", VALIDATION) == "loss · validation (held-out)"."""
    return f"{quantity}{SEP}{side}"


def _style(name: str, rank: int = 0) -> dict:
    """How a line is drawn; `rank` is its quantity's place among the figure's quantities."""
    if name in STYLES:
        return dict(STYLES[name])
    quantity, _, side = name.partition(SEP)
    shades = SIDE_COLOURS.get(side, (MUTED_COLOUR,))
    style = {"color": shades[min(rank, len(shades) - 1)], **SIDE_STYLES.get(side, {})}
    if quantity != LOSS:
        style["hover"] = "%{y:.1f} %"
    return style


def _traces(series: Series) -> list[go.Scatter]:
    """One Scatter per line. A pair's lines share a legend group titled by their quantity
    (only when a figure shows several quantities); the legend entry is the side."""
    quantities = list(dict.fromkeys(n.partition(SEP)[0] for n, _, _ in series if SEP in n))
    titled = set()
    traces = []
    for name, x, y in series:
        quantity, _, side = name.partition(SEP)
        style = _style(name, quantities.index(quantity) if side else 0)
        hover = style.pop("hover", "%{y:.4g}")
        extra = {}
        if side and len(quantities) > 1:  # grouped legends stack in columns: only when needed
            extra = dict(legendgroup=quantity)
            if quantity not in titled:
                titled.add(quantity)
                extra["legendgrouptitle"] = dict(text=quantity + ":")
        marker = style.pop("marker", None)
        if marker is not None:
            extra["marker"] = marker
        traces.append(go.Scatter(
            x=x, y=y, name=side or name, meta=name, mode=style.pop("mode", "lines"),
            opacity=style.pop("opacity", 1.0), line=dict(width=style.pop("width", 2.5), **style),
            hovertemplate=f"{name}: {hover}<extra></extra>", **extra,
        ))
    return traces


# --------------------------------------------------------------------------- the lines


def loss_series(steps, batch_loss, val_steps=(), val_loss=(), max_points: int = MAX_POINTS, *,
                train_steps=(), train_loss=()) -> Series:
    """The loss of every training batch (faint), the training loss, and the validation loss.

    steps, batch_loss: [N] per optimizer step; val_steps, val_loss: [M] per evaluation on the
    held-out examples; train_steps, train_loss: [M'] per evaluation on a fixed sample of the
    training examples (eval rows' `train_loss`). Without those (a history from before the
    trainer measured them) the training line is the smoothed per-batch loss.
    """
    series = []
    if len(steps):
        xs, ys = downsample(steps, batch_loss, max_points)
        series.append((line_name(LOSS, PER_BATCH), xs, ys))
        if not len(train_steps):
            series.append((line_name(LOSS, TRAINING), xs, smooth(ys, alpha=min(1.0, 20 / max(20, len(ys))))))
    if len(train_steps):
        series.append((line_name(LOSS, TRAINING), np.asarray(train_steps, float), np.asarray(train_loss, float)))
    if len(val_steps):
        series.append((line_name(LOSS, VALIDATION), np.asarray(val_steps, float), np.asarray(val_loss, float)))
    return series


def accuracy_series(val_steps, token_acc, seq_acc=None, *, train_steps=(), train_token_acc=(),
                    train_seq_acc=None) -> Series:
    """Accuracies in percent (inputs are fractions): whole answers right and tokens right,
    each on the training examples (train_steps, train_*: [M'] per evaluation, when measured)
    and on the held-out validation examples (val_steps, token_acc, seq_acc: [M])."""
    series = []
    x, tx = np.asarray(val_steps, dtype=float), np.asarray(train_steps, dtype=float)
    pairs = [(ANSWERS, train_seq_acc, seq_acc), (TOKENS, train_token_acc, token_acc)]
    for quantity, train, val in pairs:
        if train is not None and len(tx) and len(train):
            series.append((line_name(quantity, TRAINING), tx, 100 * np.asarray(train, float)))
        if val is not None and len(x) and len(val):
            series.append((line_name(quantity, VALIDATION), x, 100 * np.asarray(val, float)))
    return series


def lr_series(steps, lr, planned_steps=(), planned_lr=(), max_points: int = MAX_POINTS) -> Series:
    series = []
    if len(planned_steps):
        series.append(("planned", np.asarray(planned_steps, float), np.asarray(planned_lr, float)))
    if len(steps):
        series.append(("used", *downsample(steps, lr, max_points)))
    return series


def grad_norm_series(steps, grad_norm, max_points: int = MAX_POINTS) -> Series:
    return [("gradient norm", *downsample(steps, grad_norm, max_points))] if len(steps) else []


def _data_layout(series: Series, log_y: bool) -> dict:
    """The layout that follows the data (cheap to set on every refresh).

    * a log axis labels only powers of ten once the data spans a decade (plotly's default also
      labels every 2 and 5, which crowds a small chart);
    * with nothing past step 0, the x axis shows 0..10 (plotly would centre it on 0: -1..1).
    """
    xs = [x for _, x, _ in series if len(x)]
    top = max((float(np.max(x)) for x in xs), default=0.0)
    layout = {"xaxis.range": [0, 10] if top < 1 else None}
    if log_y:
        ys = [np.asarray(y, float) for _, _, y in series if len(y)]
        values = np.concatenate(ys) if ys else np.zeros(0)
        values = values[np.isfinite(values) & (values > 0)]
        wide = len(values) and values.max() / values.min() >= 10
        layout["yaxis.dtick"] = 1 if wide else None
    return layout


def _apply(fig: go.Figure, layout: dict) -> None:
    for path, value in layout.items():
        axis, prop = path.split(".")
        setattr(fig.layout[axis], prop, value)


def update_figure(fig: go.Figure, series: Series) -> go.Figure:
    """Put new lines into a figure made by one of the builders below, in place; returns `fig`.

    The same lines by name (every refresh but a few) only get their data swapped in. When a line
    appears (the first steps, the first evaluation) the lines are replaced and the "waiting for
    data" note goes; the layout, the costly part of a build, stays.
    """
    with fig.batch_update():
        if [trace.meta for trace in fig.data] == [name for name, _, _ in series]:
            for trace, (_, x, y) in zip(fig.data, series):
                trace.x, trace.y = x, y
        else:
            fig.data = ()
            fig.add_traces(_traces(series))
            if series:
                fig.layout.annotations = [a for a in fig.layout.annotations if a.name != EMPTY_NOTE]
        _apply(fig, _data_layout(series, log_y=fig.layout.yaxis.type == "log"))
    return fig


# --------------------------------------------------------------------------- the figures


def _figure(series: Series, title: str, y_title: str, *, uirevision: str, height: int,
            log_y: bool = False, empty_note: str | None = None) -> go.Figure:
    fig = go.Figure(_traces(series))
    fig.update_layout(**base_layout(title, "optimizer step", y_title, uirevision=uirevision, height=height))
    if log_y:
        fig.update_yaxes(type="log")
    _apply(fig, _data_layout(series, log_y))
    if empty_note and not series:
        fig.add_annotation(name=EMPTY_NOTE, text=empty_note, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                           font=dict(color=MUTED_COLOUR))
    return fig


def loss_figure(steps, batch_loss, val_steps=(), val_loss=(), *, train_steps=(), train_loss=(),
                uirevision: str = "loss", max_points: int = MAX_POINTS, height: int = 320,
                empty_note: str | None = "Press Train: the loss appears here after the first steps.") -> go.Figure:
    """Loss of each training batch (faint), training loss (dashed) and validation loss (solid),
    on a log axis: where the validation line stays above the training line, the model is
    memorising its training examples rather than learning the rule.

    steps, batch_loss: [N] per optimizer step; val_steps, val_loss: [M] per evaluation;
    train_steps, train_loss: [M'] per evaluation on training examples (see `loss_series`).
    Log scale because the interesting part (0.1 -> 0.001) is invisible on a linear axis.
    `empty_note` is shown while there is no data yet (see also `set_empty_note`).
    """
    return _figure(loss_series(steps, batch_loss, val_steps, val_loss, max_points,
                               train_steps=train_steps, train_loss=train_loss),
                   "Loss — training (dashed) vs validation (log scale)", "cross-entropy (nats / answer token)",
                   uirevision=uirevision, height=height, log_y=True, empty_note=empty_note)


def set_empty_note(fig: go.Figure, text: str) -> go.Figure:
    """Change the "no data yet" note of a figure made here (a run went from queued to training
    before its first point); a figure with lines has no note and is left as it is."""
    for note in fig.layout.annotations:
        if note.name == EMPTY_NOTE:
            note.text = text
    return fig


def accuracy_figure(val_steps, token_acc, seq_acc=None, *, train_steps=(), train_token_acc=(),
                    train_seq_acc=None, target: float | None = None, title: str | None = None,
                    uirevision: str = "accuracy", height: int = 320) -> go.Figure:
    """Accuracy in percent, whole answers right and answer tokens right, on the training
    examples (dashed) and on the held-out validation examples (solid).

    val_steps, token_acc, seq_acc: [M] per evaluation, accuracies as fractions in 0..1;
    train_steps, train_token_acc, train_seq_acc: [M'] the same measured on training examples.
    `target` (a fraction) draws the preset's goal as a dotted line; `title` replaces the
    default (a character model's is its next-character accuracy).
    """
    series = accuracy_series(val_steps, token_acc, seq_acc, train_steps=train_steps,
                             train_token_acc=train_token_acc, train_seq_acc=train_seq_acc)
    fig = _figure(series, title or "Accuracy — training (dashed) vs validation", "accuracy (%)",
                  uirevision=uirevision, height=height,
                  empty_note="Training and held-out accuracy, at every evaluation.")
    fig.update_yaxes(range=[-2, 102])
    if target is not None:
        fig.add_hline(y=100 * target, line=dict(color=MUTED_COLOUR, dash="dot"),
                      annotation_text=f"target {100 * target:.0f} %", annotation_position="bottom right")
    return fig


def lr_figure(steps, lr, *, planned_steps=(), planned_lr=(), uirevision: str = "lr",
              max_points: int = MAX_POINTS, height: int = 280) -> go.Figure:
    """Learning rate used at each step, over the whole planned schedule (dashed).

    steps, lr: [N] the rates used so far; planned_steps, planned_lr: [K] the schedule to the end,
    e.g. from `transformer.training.lr_curve(train_cfg)`.
    """
    fig = _figure(lr_series(steps, lr, planned_steps, planned_lr, max_points),
                  "Learning rate — warm-up, then decay", "learning rate (per step)",
                  uirevision=uirevision, height=height)
    fig.update_yaxes(exponentformat="power", rangemode="tozero")
    return fig


def grad_norm_figure(steps, grad_norm, *, clip: float | None = None, uirevision: str = "grad_norm",
                     max_points: int = MAX_POINTS, height: int = 280) -> go.Figure:
    """Gradient norm before clipping, with the clipping threshold (steps above it were scaled down).

    steps, grad_norm: [N] per optimizer step. Log scale: norms span orders of magnitude.
    """
    fig = _figure(grad_norm_series(steps, grad_norm, max_points),
                  "Gradient norm — spikes are unstable steps", "‖gradient‖ (L2 norm, log scale)",
                  uirevision=uirevision, height=height, log_y=True, empty_note="One point per optimizer step.")
    if clip:
        fig.add_hline(y=clip, line=dict(color=VAL_COLOUR, dash="dot"),
                      annotation_text=f"clipped above {clip:g}", annotation_position="top right")
    return fig
