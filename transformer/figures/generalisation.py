"""Figures for "Learning vs memorising": the gap, the data appetite, the head start of transfer.

Pure functions: evaluation rows (plain dicts, as `Trainer.evals` produces them) in,
`plotly.graph_objects.Figure` out; no Streamlit, no torch. Training is blue and validation
vermillion in every figure of the app (`theme.TRAIN_COLOUR`, `theme.VAL_COLOUR`), so "the gap"
is always the space between a blue and a vermillion line.
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from transformer.figures.compare import colour_for
from transformer.figures.theme import (ACCENT_COLOUR, DARK_GREY, FONT_SIZE, LIGHT_GREY, MUTED_COLOUR, TRAIN_COLOUR,
                                       VAL_COLOUR, base_layout)

ACC_LABEL = "answers entirely right (0-1)"


def _percent(value: Optional[float]) -> str:
    return "–" if value is None else f"{value:.0%}"


def gap_panels(evals: Mapping[str, Sequence[dict]], title: str = "Training accuracy vs validation accuracy",
               metric: str = "seq_acc", columns: int = 5, key: str = "gap") -> go.Figure:
    """One panel per run: accuracy on its own training examples (blue) and on held-out
    validation examples (vermillion) against the step. Each panel's title gives the last two
    values. Rows may lack `train_<metric>` (drawn without the blue line)."""
    names = list(evals)
    cols = max(1, min(columns, len(names)))
    n_rows = max(1, -(-len(names) // cols))
    titles = []
    for name in names:
        rows = evals[name]
        last = rows[-1] if rows else {}
        titles.append(f"{name}<br><span style='font-size:{FONT_SIZE - 1}px'>train "
                      f"{_percent(last.get('train_' + metric))} · val {_percent(last.get(metric))}</span>")
    fig = make_subplots(rows=n_rows, cols=cols, subplot_titles=titles or None, shared_yaxes=True,
                        horizontal_spacing=0.03, vertical_spacing=0.22)
    fig.update_annotations(font_size=FONT_SIZE)  # the panel titles
    for i, name in enumerate(names):
        rows = evals[name]
        r, c = i // cols + 1, i % cols + 1
        steps = [row["step"] for row in rows]
        for side, colour, label in (("train_" + metric, TRAIN_COLOUR, "training examples"),
                                    (metric, VAL_COLOUR, "held-out validation")):
            ys = [row.get(side) for row in rows]
            if all(y is None for y in ys):
                continue
            fig.add_trace(go.Scatter(x=steps, y=ys, mode="lines+markers", marker=dict(size=4),
                                     line=dict(color=colour, width=2.5), name=label, legendgroup=side,
                                     showlegend=i == 0,
                                     hovertemplate=f"{name}<br>step %{{x}}<br>{label}: %{{y:.1%}}<extra></extra>"),
                          row=r, col=c)
        fig.update_xaxes(title_text="step", row=r, col=c)
        if len(rows) >= 2 and rows[-1]["step"] == rows[-2]["step"]:
            # Early stopping evaluated the restored best weights at the stopping step: the drop
            # is the run going back in time, said in words where it happens.
            fig.add_annotation(x=rows[-1]["step"], y=rows[-1].get("train_" + metric) or 0, row=r, col=c,
                               text="best weights<br>restored", showarrow=True, arrowhead=2, ax=-45, ay=-30,
                               font=dict(size=FONT_SIZE - 2, color=DARK_GREY))
    fig.update_yaxes(range=[-0.03, 1.03], tickformat=".0%")
    fig.update_yaxes(title_text=ACC_LABEL, col=1)
    layout = base_layout(title, "", "", uirevision=key, height=300 * n_rows + 60)
    layout.pop("xaxis"), layout.pop("yaxis")
    layout["margin"] = dict(l=10, r=10, t=90, b=60)
    # Under the panels: above them it ran into the panel titles.
    layout["legend"] = dict(orientation="h", yref="container", y=0.0, yanchor="bottom", x=0.5, xanchor="center")
    fig.update_layout(**layout)
    return fig


def appetite_figure(points: Mapping[str, Sequence[dict]], sizes: Sequence[int] = (),
                    title: str = "Validation accuracy against training-set size", key: str = "appetite") -> go.Figure:
    """Held-out accuracy (y) against the number of training examples (x, log scale), one line
    per model. points: {model: [{"size", "val_acc", "done"}, ...]}; a run still training is an
    open marker (its value can still change), a finished one a filled marker."""
    fig = go.Figure()
    for i, (model, pts) in enumerate(points.items()):
        colour = colour_for(model, i)
        fig.add_trace(go.Scatter(
            x=[p["size"] for p in pts], y=[p["val_acc"] for p in pts], mode="lines+markers", name=model,
            line=dict(color=colour, width=3),
            marker=dict(size=12, color=[colour if p.get("done") else "white" for p in pts],
                        line=dict(color=colour, width=2.5)),
            customdata=[("finished" if p.get("done") else "still training") for p in pts],
            hovertemplate=f"{model}<br>%{{x:,}} training examples<br>validation: %{{y:.1%}} (%{{customdata}})"
                          "<extra></extra>"))
    layout = base_layout(title, "training examples (log scale)", "validation accuracy (0-1)", uirevision=key,
                         height=380)
    layout["hovermode"] = "closest"
    fig.update_layout(**layout)
    fig.update_xaxes(type="log", tickvals=list(sizes) or None, tickformat=",d")
    fig.update_yaxes(range=[-0.03, 1.03], tickformat=".0%")
    # Chance for a two-label task: a model below this line has learned nothing usable.
    fig.add_hline(y=0.5, line=dict(color=LIGHT_GREY, dash="dot"), annotation_text="chance (two labels)",
                  annotation_position="bottom right", annotation_font_color=DARK_GREY)
    return fig


def transfer_figure(evals: Mapping[str, Sequence[dict]], finetuned: str, scratch: str,
                    title: str = "Fine-tuned vs from scratch, on the same few labelled sentences",
                    metric: str = "seq_acc", key: str = "transfer") -> go.Figure:
    """Validation accuracy (solid) and training accuracy (dotted) against the fine-tuning step,
    for the fine-tuned model (green) and the same model from scratch (grey)."""
    fig = go.Figure()
    for name, colour in ((finetuned, ACCENT_COLOUR), (scratch, MUTED_COLOUR)):
        rows = evals.get(name) or []
        steps = [r["step"] for r in rows]
        fig.add_trace(go.Scatter(x=steps, y=[r.get(metric) for r in rows], mode="lines+markers", name=f"{name}: validation",
                                 line=dict(color=colour, width=3), marker=dict(size=6),
                                 hovertemplate=f"{name}<br>step %{{x}}<br>validation: %{{y:.1%}}<extra></extra>"))
        if any(r.get("train_" + metric) is not None for r in rows):
            fig.add_trace(go.Scatter(x=steps, y=[r.get("train_" + metric) for r in rows], mode="lines",
                                     name=f"{name}: training", line=dict(color=colour, width=2, dash="dot"),
                                     hovertemplate=f"{name}<br>step %{{x}}<br>training: %{{y:.1%}}<extra></extra>"))
    fig.update_layout(**base_layout(title, "fine-tuning step", ACC_LABEL, uirevision=key, height=380))
    fig.update_yaxes(range=[-0.03, 1.03], tickformat=".0%")
    fig.add_hline(y=0.5, line=dict(color=LIGHT_GREY, dash="dot"), annotation_text="chance",
                  annotation_position="bottom right", annotation_font_color=DARK_GREY)
    return fig


def pretraining_figure(rows: Sequence[dict], title: str = "Pre-training: predicting the next word of unlabelled reviews",
                       key: str = "pretrain") -> go.Figure:
    """Next-word accuracy of the pre-training run against its step (held-out sentences)."""
    fig = go.Figure(go.Scatter(x=[r["step"] for r in rows], y=[r.get("token_acc") for r in rows], mode="lines+markers",
                               line=dict(color=VAL_COLOUR, width=2.5), name="held-out next-word accuracy",
                               hovertemplate="step %{x}<br>next word right: %{y:.1%}<extra></extra>"))
    fig.update_layout(**base_layout(title, "pre-training step", "next word right (0-1)", uirevision=key, height=280))
    fig.update_yaxes(range=[-0.03, 1.03], tickformat=".0%")
    return fig


def experiment_figures(plan, evals: Mapping[str, Sequence[dict]], finished: Sequence[str] = (),
                       key: str = "gen") -> dict[str, go.Figure]:
    """{name: figure} for one experiment of `transformer.analysis.generalisation` (its `plan`,
    the race's rows, the names of the runs that have finished), as the page and the lesson draw it."""
    from transformer.analysis.generalisation import FINETUNED, PRETRAIN, SCRATCH, appetite_points

    if plan.key == "overfitting":
        return {"gap": gap_panels(evals, "Training sums (blue) vs new sums (vermillion): the gap is memorising",
                                  key=key + ".gap")}
    if plan.key == "appetite":
        return {"appetite": appetite_figure(appetite_points(plan, evals, finished), sorted(set(plan.sizes.values())),
                                            "Held-out accuracy against training-set size: who needs more data?",
                                            key=key + ".appetite")}
    return {"transfer": transfer_figure(evals, FINETUNED, SCRATCH, key=key + ".transfer"),
            "pretrain": pretraining_figure(evals.get(PRETRAIN, []), key=key + ".pretrain")}
