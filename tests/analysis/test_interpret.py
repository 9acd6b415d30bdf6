"""Head descriptions from attention patterns, scores over training, and induction-formation detection."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from transformer.analysis.interpret import (
    anti_diagonal_score,
    describe_head,
    describe_heads,
    detect_formation,
    head_scores_over_time,
    induction_score,
    induction_targets,
    previous_token_score,
    row_entropy,
    sink_score,
)


def previous_token_matrix(T: int) -> np.ndarray:
    w = np.zeros((T, T))
    w[0, 0] = 1.0
    w[np.arange(1, T), np.arange(T - 1)] = 1.0
    return w


def uniform_causal(T: int) -> np.ndarray:
    w = np.tril(np.ones((T, T)))
    return w / w.sum(1, keepdims=True)


def induction_matrix(tokens: list[str]) -> np.ndarray:
    """Each query with an induction target puts all its weight there; others on position 0."""
    T = len(tokens)
    w = np.zeros((T, T))
    for i, js in enumerate(induction_targets(tokens)):
        if js:
            w[i, js] = 1.0 / len(js)
        else:
            w[i, 0] = 1.0
    return w


REPEATED = ["<bos>", "a", "c", "b", "e", "a", "c", "b", "e"]  # four random tokens, repeated


def test_perfect_previous_token_head_is_described_as_such():
    d = describe_head(previous_token_matrix(8), list("abcdefgh"))
    assert d.label == "previous"
    assert "previous token" in d.text
    assert d.scores["previous"] == pytest.approx(1.0)
    assert d.entropy_bits == pytest.approx(0.0)


def test_identity_head_attends_to_itself():
    d = describe_head(np.eye(6), list("abcdef"))
    assert d.label == "self"
    assert d.scores["self"] == pytest.approx(1.0)
    assert d.scores["previous"] == pytest.approx(0.0)


def test_uniform_causal_head_is_spread_out_with_maximal_entropy():
    w = uniform_causal(10)
    d = describe_head(w, list("abcdefghij"))
    assert d.label == "uniform"
    bits, norm = row_entropy(w)
    assert norm == pytest.approx(1.0)
    assert bits == pytest.approx(np.mean([math.log2(n) for n in range(2, 11)]))


def test_sink_head_attends_to_first_token():
    w = np.zeros((6, 6))
    w[:, 0] = 1.0
    d = describe_head(w, ["<bos>", "x", "y", "z", "x", "y"])
    assert d.label == "sink"
    assert sink_score(w) == pytest.approx(1.0)


def test_induction_targets_point_after_the_earlier_copy():
    targets = induction_targets(REPEATED)
    # second "a" (position 5) follows the first "a" at 1, so it looks at position 2 ("c")
    assert targets[5] == [2]
    assert targets[8] == [5]  # second "e": the first "e" at 4 is followed by position 5
    assert targets[1] == [] and targets[4] == []  # first copies have nothing earlier


def test_induction_head_described_and_scored():
    w = induction_matrix(REPEATED)
    assert induction_score(w, REPEATED) == pytest.approx(1.0)
    assert induction_score(previous_token_matrix(len(REPEATED)), REPEATED) == pytest.approx(0.0)
    d = describe_head(w, REPEATED)
    assert d.label == "induction"
    assert math.isnan(induction_score(np.eye(4), list("abcd")))  # nothing repeats


def test_anti_diagonal_head_in_cross_attention():
    # decoder query i attends to source S-1-i: reversal, in cross-attention (T != S tokens differ)
    S = 6
    w = np.fliplr(np.eye(S))
    d = describe_head(w, list("uvwxyz"), list("abcdef"), causal=False)
    assert d.label == "anti_diagonal"
    assert anti_diagonal_score(w) == pytest.approx(1.0)
    assert "previous" not in d.scores  # cross-attention has no "previous token"


def test_padding_rows_are_cropped_to_the_tokens():
    w = np.zeros((8, 8))
    w[:5, :5] = previous_token_matrix(5)
    w[5:, 0] = 1.0  # padded queries: whatever the model did there must not count
    assert describe_head(w, list("abcde")).scores["previous"] == pytest.approx(1.0)


def test_describe_heads_one_per_head():
    stack = np.stack([previous_token_matrix(5), np.eye(5)])
    labels = [d.label for d in describe_heads(stack, list("abcde"))]
    assert labels == ["previous", "self"]


def test_previous_token_score_of_uniform_is_low():
    assert previous_token_score(uniform_causal(12)) < 0.3


# --------------------------------------------------------------------------- formation


def _snapshots(jump_at: int, n: int = 12, every: int = 50):
    """Fake snapshots: layer 1 head 0 switches from uniform to induction at snapshot `jump_at`."""
    toks = REPEATED
    T = len(toks)
    snaps = []
    for k in range(n):
        head0 = induction_matrix(toks) if k >= jump_at else uniform_causal(T)
        att = {
            "decoder.0.self_attn": np.stack([previous_token_matrix(T), uniform_causal(T)])[None],
            "decoder.1.self_attn": np.stack([head0, uniform_causal(T)])[None],
        }
        snaps.append(SimpleNamespace(step=k * every, attention=att, probe_tokens=[toks]))
    return snaps


def test_scores_over_time_shapes_and_values():
    steps, scores = head_scores_over_time(_snapshots(jump_at=6), kind="induction")
    assert steps.tolist() == [k * 50 for k in range(12)]
    assert scores["decoder.1.self_attn"].shape == (12, 2)
    assert scores["decoder.1.self_attn"][-1, 0] == pytest.approx(1.0)
    _, prev = head_scores_over_time(_snapshots(jump_at=6), kind="previous")
    assert prev["decoder.0.self_attn"][:, 0] == pytest.approx(np.ones(12))


@pytest.mark.parametrize("jump_at", [3, 7])
def test_formation_step_found_where_the_score_jumps(jump_at):
    steps, scores = head_scores_over_time(_snapshots(jump_at))
    loss_steps = np.arange(0, 551, 5)
    losses = np.where(loss_steps < jump_at * 50, 2.0, 0.2)
    f = detect_formation(steps, scores, loss_steps, losses)
    assert f is not None
    assert (f.name, f.head) == ("decoder.1.self_attn", 0)
    # the score jumps between snapshots jump_at - 1 and jump_at: halfway is in between
    assert jump_at * 50 - 50 < f.step <= jump_at * 50
    assert f.loss_step is not None and abs(f.loss_step - jump_at * 50) <= 25
    assert f.loss_before == pytest.approx(2.0) and f.loss_after == pytest.approx(0.2)


def test_no_formation_when_no_head_changes():
    steps, scores = head_scores_over_time(_snapshots(jump_at=99))
    assert detect_formation(steps, scores) is None


def test_unknown_score_kind_is_a_clear_error():
    with pytest.raises(ValueError, match="choose one of"):
        head_scores_over_time(_snapshots(3), kind="banana")


def test_fixed_distance_back_is_named_with_its_distance():
    T = 10
    w = np.zeros((T, T))
    w[:3, 0] = 1.0
    w[np.arange(3, T), np.arange(T - 3)] = 1.0  # every query from 3 on looks 3 tokens back
    d = describe_head(w, list("abcdefghij"))
    assert d.label == "offset" and "3 positions back" in d.text


def test_sharp_varying_cross_attention_is_an_alignment():
    # four decoder tokens each look at one (different, unordered) encoder token
    w = np.full((4, 6), 0.02)
    for i, j in enumerate([2, 5, 0, 3]):
        w[i, j] = 0.9
    d = describe_head(w, list("wxyz"), list("abcdef"), causal=False)
    assert d.label == "aligned" and "one specific token" in d.text


def test_one_favourite_key_is_named_by_token_and_position():
    w = np.full((5, 5), 0.1)
    w[:, 2] = 0.6  # every query leans on position 2, which is not a pattern of its own
    d = describe_head(w, list("ab+cd"), causal=False)
    assert d.label == "token" and "'+' at position 2" in d.text


def test_causal_reversal_is_an_anti_diagonal():
    tokens = ["<bos>", "a", "b", "c", "<sep>", "c", "b", "a"]
    w = np.zeros((8, 8))
    w[:4, 0] = 1.0  # the question rows have nothing to do yet
    for i, j in [(4, 3), (5, 2), (6, 1), (7, 0)]:  # i + j = 2n + 1: the answer reads the question backwards
        w[i, j] = 1.0
    d = describe_head(w, tokens)
    assert d.label == "anti_diagonal"
    assert anti_diagonal_score(w, causal=True) == pytest.approx(1.0)
