"""Generalisation figures: both sides of the gap per run, a log size axis, both transfer curves."""
import plotly.graph_objects as go

from transformer.figures.generalisation import appetite_figure, gap_panels, pretraining_figure, transfer_figure
from transformer.figures.theme import TRAIN_COLOUR, VAL_COLOUR


def rows(n, train, val):
    return [{"step": 10 * i, "seq_acc": val * i / (n - 1), "train_seq_acc": train * i / (n - 1), "token_acc": 0.3}
            for i in range(n)]


def test_gap_panels_draw_training_and_validation_for_every_run():
    evals = {"200 examples": rows(5, 1.0, 0.1), "+ dropout 0.3": rows(5, 0.8, 0.2), "2,000 examples": rows(3, 0.9, 0.9)}
    fig = gap_panels(evals)
    assert isinstance(fig, go.Figure)
    assert len(fig.data) == 6
    colours = [t.line.color for t in fig.data]
    assert colours == [TRAIN_COLOUR, VAL_COLOUR] * 3
    # Each panel's title quotes its own last values; only the first pair is in the legend.
    titles = [a.text for a in fig.layout.annotations]
    assert titles[0].startswith("200 examples") and "train 100%" in titles[0] and "val 10%" in titles[0]
    assert "val 90%" in titles[2]
    assert [t.showlegend for t in fig.data] == [True, True, False, False, False, False]
    assert abs(fig.data[3].y[-1] - 0.2) < 1e-9


def test_gap_panels_without_training_rows_draw_validation_only():
    fig = gap_panels({"a": [{"step": 0, "seq_acc": 0.5}]})
    assert [t.line.color for t in fig.data] == [VAL_COLOUR]


def test_appetite_figure_is_log_scaled_and_marks_runs_in_progress():
    points = {"Transformer": [{"size": 30, "val_acc": 0.5, "done": True}, {"size": 300, "val_acc": 0.9, "done": False}],
              "LSTM": [{"size": 30, "val_acc": 0.4, "done": True}]}
    fig = appetite_figure(points, sizes=[30, 300])
    assert fig.layout.xaxis.type == "log"
    assert [t.name for t in fig.data] == ["Transformer", "LSTM"]
    assert list(fig.data[0].x) == [30, 300] and list(fig.data[0].y) == [0.5, 0.9]
    colour = fig.data[0].line.color
    assert list(fig.data[0].marker.color) == [colour, "white"]
    assert fig.data[0].line.color != fig.data[1].line.color


def test_transfer_figure_draws_both_models_both_sides():
    evals = {"Fine-tuned": rows(4, 1.0, 0.8), "From scratch": rows(4, 1.0, 0.5)}
    fig = transfer_figure(evals, "Fine-tuned", "From scratch")
    names = [t.name for t in fig.data]
    assert names == ["Fine-tuned: validation", "Fine-tuned: training", "From scratch: validation", "From scratch: training"]
    assert abs(fig.data[0].y[-1] - 0.8) < 1e-9 and abs(fig.data[2].y[-1] - 0.5) < 1e-9
    assert fig.data[0].line.color != fig.data[2].line.color
    assert fig.layout.uirevision == "transfer"
    pre = pretraining_figure(rows(3, 0, 0))
    assert list(pre.data[0].y) == [0.3, 0.3, 0.3]


def test_an_early_stop_is_labelled_where_the_best_weights_come_back():
    stopped = rows(4, 1.0, 0.2) + [{"step": 30, "seq_acc": 0.1, "train_seq_acc": 0.3}]
    fig = gap_panels({"+ early stopping": stopped, "200 examples": rows(4, 1.0, 0.2)})
    notes = [a for a in fig.layout.annotations if "restored" in a.text]
    assert len(notes) == 1 and notes[0].x == 30 and abs(notes[0].y - 0.3) < 1e-9
    assert notes[0].xref == "x"  # in the first panel, the early-stopped run's
