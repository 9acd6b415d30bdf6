"""The next-token distribution: temperature, top-k, top-p, entropy and the seeded draw."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from test_budget import one_sentence
from transformer.sampling import draw, entropy, next_token_distribution, sample_with_seed, uniforms

FUZZ = dict(derandomize=True, deadline=None, database=None)


@pytest.mark.parametrize("temperature", [0.25, 1.0, 2.5])
def test_distribution_after_temperature_is_softmax_of_logits_over_t(temperature):
    logits = torch.randn(50, generator=torch.Generator().manual_seed(1)) * 3
    probs = next_token_distribution(logits, temperature)
    assert torch.allclose(probs, torch.softmax(logits / temperature, dim=-1), atol=1e-6)
    assert math.isclose(float(probs.sum()), 1.0, abs_tol=1e-6)


def test_lower_temperature_lowers_the_entropy():
    logits = torch.tensor([2.0, 1.0, 0.5, -1.0])
    h = [float(entropy(next_token_distribution(logits, t))) for t in (0.2, 1.0, 5.0)]
    assert h[0] < h[1] < h[2] < math.log(4)


def test_temperature_zero_is_a_one_hot_on_the_first_largest_logit():
    probs = next_token_distribution(torch.tensor([1.0, 3.0, 3.0, -2.0]), 0.0, top_k=3, top_p=0.5)
    assert probs.tolist() == [0.0, 1.0, 0.0, 0.0]
    assert float(entropy(probs)) == 0.0


def test_a_tiny_temperature_is_greedy_not_nan():
    probs = next_token_distribution(torch.tensor([1.0, 1.5, -3.0]), 1e-30)
    assert probs.tolist() == [0.0, 1.0, 0.0]


def test_top_k_keeps_exactly_the_k_largest_with_ties_to_the_lower_id():
    logits = torch.tensor([1.0, 3.0, 3.0, 2.0, 3.0])
    probs = next_token_distribution(logits, 1.0, top_k=2)
    assert (probs > 0).nonzero().flatten().tolist() == [1, 2]
    assert torch.allclose(probs[[1, 2]], torch.tensor([0.5, 0.5]))
    probs = next_token_distribution(logits, 1.0, top_k=4)
    assert (probs > 0).nonzero().flatten().tolist() == [1, 2, 3, 4]
    assert torch.allclose(probs[[1, 2, 3, 4]], torch.softmax(logits[[1, 2, 3, 4]], dim=-1), atol=1e-6)
    assert torch.allclose(next_token_distribution(logits, 1.0, top_k=99), torch.softmax(logits, -1), atol=1e-6)


@pytest.mark.parametrize("p, kept", [(0.1, [2]), (0.5, [2]), (0.7, [2, 0]), (0.75, [2, 0]), (0.76, [2, 0, 3]),
                                     (1.0, [2, 0, 3, 1])])
def test_top_p_keeps_the_smallest_set_whose_mass_reaches_p(p, kept):
    raw = torch.tensor([0.25, 0.10, 0.50, 0.15])
    probs = next_token_distribution(raw.log(), 1.0, top_p=p)
    assert sorted((probs > 0).nonzero().flatten().tolist()) == sorted(kept)
    assert torch.allclose(probs[kept], raw[kept] / raw[kept].sum(), atol=1e-6)


def test_top_p_measures_the_mass_after_top_k():
    # After top-k 2 the two survivors have 4/7 and 3/7; p = 0.55 is reached by the first alone
    # (measured before top-k, 0.4 < 0.55 would keep two).
    probs = next_token_distribution(torch.tensor([0.4, 0.3, 0.2, 0.1]).log(), 1.0, top_k=2, top_p=0.55)
    assert probs.tolist() == [1.0, 0.0, 0.0, 0.0]


def test_masked_tokens_are_never_kept():
    logits = torch.tensor([float("-inf"), 0.0, float("-inf"), 1.0])
    for kwargs in ({}, {"top_k": 3}, {"top_p": 1.0}):
        assert next_token_distribution(logits, 2.0, **kwargs)[[0, 2]].tolist() == [0.0, 0.0]


def _brute_force_nucleus(probs: list[float], p: float) -> set[int]:
    if p >= 1:  # top-p 1 is off: every token
        return set(range(len(probs)))
    order = sorted(range(len(probs)), key=lambda i: (-probs[i], i))
    kept, mass = set(), 0.0
    for i in order:
        kept.add(i)
        mass += probs[i]
        if mass >= p - 1e-9:
            break
    return kept


@settings(max_examples=150, **FUZZ)
@given(logits=st.lists(st.floats(-8, 8), min_size=1, max_size=12), p=st.floats(0.01, 1.0),
       temperature=st.floats(0.05, 5.0))
def test_top_p_matches_a_brute_force_nucleus(logits, p, temperature):
    logits = torch.tensor(logits, dtype=torch.float64)
    tempered = torch.softmax(logits / temperature, dim=-1).tolist()
    probs = next_token_distribution(logits, temperature, top_p=p)
    visible = {i for i, q in enumerate(tempered) if q > 1e-30}  # float32 rounds smaller ones to 0
    assert set((probs > 0).nonzero().flatten().tolist()) == _brute_force_nucleus(tempered, p) & visible
    assert math.isclose(float(probs.sum()), 1.0, abs_tol=1e-5)


@pytest.mark.parametrize("kwargs", [dict(temperature=-1), dict(temperature=float("nan")), dict(temperature=True),
                                    dict(top_k=0), dict(top_k=2.5), dict(top_p=0.0), dict(top_p=1.5),
                                    dict(top_p=float("nan")), dict(top_p="0.9")])
def test_impossible_settings_are_one_sentence(kwargs):
    with pytest.raises(ValueError) as err:
        next_token_distribution(torch.zeros(3), **kwargs)
    assert one_sentence(str(err.value)), str(err.value)


@pytest.mark.parametrize("logits", [torch.tensor([0.0, float("nan")]), torch.tensor([float("inf"), 0.0]),
                                    torch.full((3,), float("-inf")), torch.tensor([])])
def test_unusable_logits_are_one_sentence(logits):
    with pytest.raises(ValueError):
        next_token_distribution(logits, 1.0)


def test_draw_inverts_the_cumulative_distribution_and_skips_zero_probabilities():
    probs = torch.tensor([0.2, 0.0, 0.5, 0.3])
    assert [draw(probs, u) for u in (0.0, 0.19, 0.2, 0.69, 0.71, 0.999999)] == [0, 0, 2, 2, 3, 3]
    assert draw(torch.tensor([0.0, 1.0, 0.0]), 0.9999999999) == 1


def test_draws_follow_the_distribution():
    probs = torch.tensor([0.1, 0.6, 0.3])
    picks = torch.tensor([draw(probs, u) for u in uniforms(7, 6000)])
    freq = torch.bincount(picks, minlength=3).double() / len(picks)
    assert torch.allclose(freq, probs.double(), atol=0.025)  # about 4 standard errors


def test_seeded_sampling_is_reproducible_and_the_seed_matters():
    logits = torch.randn(30, generator=torch.Generator().manual_seed(0))
    once = [sample_with_seed(logits, 1.5, top_p=0.95, seed=s) for s in range(40)]
    again = [sample_with_seed(logits, 1.5, top_p=0.95, seed=s) for s in range(40)]
    assert once == again
    assert len(set(once)) > 5
    assert uniforms(3, 5) == uniforms(3, 5) and uniforms(3, 5) != uniforms(4, 5)
    with pytest.raises(ValueError, match="seed"):
        uniforms(-1, 3)


def test_entropy_of_uniform_is_ln_v():
    assert math.isclose(float(entropy(torch.full((7,), 1 / 7))), math.log(7), rel_tol=1e-6)  # float32 input
