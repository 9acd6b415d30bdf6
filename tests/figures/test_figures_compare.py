"""Race figures: every model drawn, in its family colour, on the right axes."""
import numpy as np
import plotly.graph_objects as go
import pytest

from transformer.analysis.compare import COMPLEXITY, complexity_rows
from transformer.figures.compare import (
    FAMILY_COLOURS,
    accuracy_by_length_figure,
    colour_for,
    complexity_table_figure,
    gradient_distance_figure,
    hidden_state_heatmap,
    race_curves,
    step_time_figure,
)


def rows(n, slope):
    return [{"step": 10 * i, "elapsed_s": 0.5 * i * slope, "train_s": 0.4 * i * slope,
             "val_loss": 2.0 / (1 + i), "seq_acc": min(1.0, 0.1 * i)} for i in range(n)]


def test_colour_follows_the_family():
    assert colour_for("LSTM") == FAMILY_COLOURS["lstm"]
    assert colour_for("lstm-seq2seq") == FAMILY_COLOURS["lstm"]
    assert colour_for("Transformer decoder") == FAMILY_COLOURS["transformer"]
    assert colour_for("RNN (Elman)") == FAMILY_COLOURS["rnn"]
    assert len({colour_for(n) for n in ("transformer", "rnn", "gru", "lstm")}) == 4
    assert colour_for("LSTM enc-dec + attention") != colour_for("LSTM enc-dec")


@pytest.mark.parametrize("x", ["step", "train_s", "elapsed_s"])
def test_race_curves_draw_each_model_twice_on_shared_axes(x):
    fig = race_curves({"Transformer": rows(5, 1), "LSTM": rows(3, 2)}, x=x)
    assert isinstance(fig, go.Figure)
    assert len(fig.data) == 4
    lstm_acc = [t for t in fig.data if t.name == "LSTM" and t.xaxis == "x2"][0]
    assert list(lstm_acc.x) == [r[x] for r in rows(3, 2)]
    assert list(lstm_acc.y) == [r["seq_acc"] for r in rows(3, 2)]
    assert lstm_acc.line.color == FAMILY_COLOURS["lstm"]
    assert sum(t.showlegend is not False for t in fig.data) == 2  # one legend entry per model
    assert fig.layout.yaxis.type == "log"
    assert fig.layout.uirevision


def test_race_curves_skip_missing_values_and_refuse_unknown_axis():
    history = rows(3, 1)
    history[1]["val_loss"] = None
    fig = race_curves({"GRU": history})
    assert len(fig.data[0].x) == 2 and len(fig.data[1].x) == 3
    with pytest.raises(ValueError, match="x must be one of"):
        race_curves({"GRU": history}, x="tokens")


def test_accuracy_by_length_shades_unseen_lengths_and_skips_errors():
    results = {
        "Transformer": [{"length": 8, "seq_acc": 1.0}, {"length": 16, "error": "too long"}],
        "LSTM": [{"length": 16, "seq_acc": 0.2}, {"length": 8, "seq_acc": 0.9}],
    }
    fig = accuracy_by_length_figure(results, train_length=8)
    assert list(fig.data[0].x) == [8]
    assert list(fig.data[1].x) == [8, 16]          # sorted by length
    assert list(fig.data[1].y) == [0.9, 0.2]
    assert len(fig.layout.shapes) == 1 and fig.layout.shapes[0].x0 == 8.5
    assert len(accuracy_by_length_figure(results).layout.shapes) == 0


def test_step_time_figure_in_milliseconds_with_attention_maps():
    measured = {"decoder": {"lengths": [8, 16], "seconds": [0.01, 0.02], "activation_mb": [1.0, 2.0]}}
    fig = step_time_figure(measured, attention_mb={"decoder": [0.5, 2.0]})
    assert list(fig.data[0].y) == pytest.approx([10.0, 20.0])
    assert list(fig.data[1].y) == [1.0, 2.0]
    dashed = fig.data[2]
    assert dashed.line.dash == "dash" and list(dashed.x) == [8, 16]


def test_step_time_figure_counts_sequential_steps():
    measured = {name: {"lengths": [8, 16], "seconds": [0.01, 0.02], "activation_mb": [1.0, 2.0]}
                for name in ("Transformer", "LSTM")}
    fig = step_time_figure(measured, recurrent=["LSTM"])
    steps = {t.name: list(t.y) for t in fig.data if t.xaxis == "x"}
    assert steps == {"Transformer": [1, 1], "LSTM": [8, 16]}
    assert len(fig.layout.annotations) == 3                    # three panel titles


def test_gradient_figure_is_log_and_leaves_out_exact_zeros():
    fig = gradient_distance_figure({"RNN": [1.0, 0.1, 0.0], "Transformer": np.array([0.5, 0.5, 0.5])})
    assert fig.layout.yaxis.type == "log"
    rnn = fig.data[0]
    assert list(rnn.x) == [0, 1, 2]
    assert rnn.y[0] == 1.0 and np.isnan(rnn.y[2])


def test_hidden_state_heatmap_units_by_time_with_token_labels():
    states = np.linspace(-2, 1, 5 * 80).reshape(5, 80)
    fig = hidden_state_heatmap(states, ["<bos>", "a", "b", "c", "<sep>"], max_units=32)
    heat = fig.data[0]
    assert np.asarray(heat.z).shape == (32, 5)
    assert heat.zmid == 0 and heat.zmax == pytest.approx(-heat.zmin)
    assert "&lt;bos&gt;" in list(fig.layout.xaxis.ticktext)   # escaped so Plotly shows it
    with pytest.raises(ValueError, match=r"\[T, H\]"):
        hidden_state_heatmap(np.zeros((2, 3, 4)), ["a", "b"])


def test_complexity_rows_and_table():
    assert [r["layer"] for r in complexity_rows()] == [r["layer"] for r in COMPLEXITY]
    measured = {"decoder": {"lengths": [8, 32], "seconds": [0.01, 0.02], "activation_mb": [1, 2]},
                "lstm": {"lengths": [8, 32], "seconds": [0.01, 0.04], "activation_mb": [1, 4]}}
    table = complexity_rows(measured, labels={"lstm": "LSTM"})
    assert table[0]["sequential steps"] == "O(1)" and table[1]["sequential steps"] == "O(n)"
    assert table[1]["model"] == "LSTM"
    assert table[1]["time growth"] == "×4.0 for ×4 length"
    fig = complexity_table_figure(table)
    assert len(fig.data[0].cells.values) == len(table[0])
    with pytest.raises(ValueError):
        complexity_table_figure([])
