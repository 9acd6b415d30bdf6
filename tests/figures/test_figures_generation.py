"""Generation figure builders: the output layer's numbers, candidates, confidence, beam tree."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from transformer.figures.generation import (beam_tree, candidates_figure, confidence_figure, loss_bars,
                                            output_layer_bars, unembedding_figure)
from transformer.figures.theme import TRAIN_COLOUR, VAL_COLOUR


def test_output_layer_bars_show_logits_and_probabilities_and_outline_the_truth():
    logits = np.array([2.0, 1.0, -0.5])
    probs = np.exp(logits) / np.exp(logits).sum()
    fig = output_layer_bars(["a", " ", "<eos>"], logits, probs, true_token=" ")
    left, right = fig.data
    assert np.allclose(left.x, logits) and np.allclose(right.x, probs)
    # The y ticks name the tokens as read: a space visible, <eos> escaped for Plotly's HTML.
    assert list(fig.layout.yaxis.ticktext) == ["a", "␣", "&lt;eos&gt;"]
    widths = right.marker.line.width
    colours = list(right.marker.line.color)
    assert widths == 3 and colours[1] == VAL_COLOUR and colours[0] != VAL_COLOUR
    assert "true next token" in fig.layout.title.text
    assert fig.layout.xaxis2.range[0] == 0


def test_output_layer_bars_refuse_mismatched_lengths():
    with pytest.raises(ValueError, match="one each"):
        output_layer_bars(["a", "b"], [1.0, 2.0, 3.0], [0.2, 0.3, 0.5])


def test_unembedding_cells_are_h_times_w_and_rows_sum_to_the_logits():
    rng = np.random.default_rng(0)
    h, W, b = rng.normal(size=8), rng.normal(size=(3, 8)), rng.normal(size=3)
    fig = unembedding_figure(h, W, ["x", "y", "z"], bias=b)
    z = np.asarray(fig.data[0].z)
    assert z.shape == (3, 8) and np.allclose(z, W * h)
    printed = [float(a.text) for a in fig.layout.annotations if a.text != "logit"]
    assert np.allclose(printed, W @ h + b, atol=0.006)  # printed to two decimals
    assert fig.data[0].zmid == 0 and fig.data[0].zmax == -fig.data[0].zmin


def test_unembedding_refuses_rows_of_the_wrong_width():
    with pytest.raises(ValueError, match="Expected rows"):
        unembedding_figure(np.ones(4), np.ones((2, 5)), ["a", "b"])


def test_loss_bars_compare_the_loss_with_ln_v_and_zero():
    fig = loss_bars(0.25, np.log(30), token="e")
    assert np.allclose(fig.data[0].x, [0.25, np.log(30), 0.0])
    assert "ln V" in fig.data[0].y[1]
    assert fig.layout.xaxis.range[1] > np.log(30)


def test_candidates_show_both_distributions_and_mark_the_chosen_token():
    fig = candidates_figure(["a", "b", "c"], [0.6, 0.3, 0.1], [0.0, 1.0, 0.0], chosen="b")
    raw, after = fig.data
    assert np.allclose(raw.x, [0.6, 0.3, 0.1]) and np.allclose(after.x, [0, 1, 0])
    assert list(after.marker.color) == [TRAIN_COLOUR, VAL_COLOUR, TRAIN_COLOUR]
    assert list(fig.layout.yaxis.ticktext) == ["a", "▶ b", "c"]
    assert fig.layout.xaxis.range[0] == 0 and fig.layout.xaxis.range[1] >= 1
    assert len(candidates_figure(["a"], [1.0]).data) == 1  # the model's own only


def test_confidence_has_one_bar_and_one_entropy_per_token():
    fig = confidence_figure(list("the cat"), np.linspace(0.2, 0.9, 7), np.linspace(3, 0.5, 7))
    bars, line = fig.data
    assert isinstance(bars, go.Bar) and len(bars.y) == 7
    assert isinstance(line, go.Scatter) and np.allclose(line.y, np.linspace(3, 0.5, 7))
    assert "␣" in fig.layout.xaxis.ticktext
    with pytest.raises(ValueError):
        confidence_figure(list("ab"), [0.5], [1.0, 2.0])


def test_beam_tree_draws_every_node_and_the_best_path():
    steps = [
        [{"token": "a", "score": -0.1, "parent": 0}, {"token": "b", "score": -1.0, "parent": 0}],
        [{"token": "c", "score": -0.5, "parent": 1}, {"token": "d", "score": -0.7, "parent": 0}],
    ]
    fig = beam_tree(steps)
    nodes = next(t for t in fig.data if t.mode == "markers+text" and len(t.x) == 4)
    assert list(nodes.x) == [0, 0, 1, 1] and list(nodes.y) == [0, 1, 0, 1]
    assert np.allclose(nodes.marker.color, [-0.1, -1.0, -0.5, -0.7])
    # The best final beam (rank 0, "c") came from "b": those two edges are thick, the others thin.
    edges = [t for t in fig.data if t.mode == "lines"]
    thick = {(tuple(t.x), tuple(t.y)) for t in edges if t.line.width == 4}
    assert thick == {((-1, 0), (0.5, 1)), ((0, 1), (1, 0))}
    # Hover shows the whole text so far of each node.
    assert list(nodes.customdata[:, 0]) == ["a", "b", "bc", "ad"]


def test_beam_tree_refuses_an_empty_search():
    with pytest.raises(ValueError, match="no steps"):
        beam_tree([])
