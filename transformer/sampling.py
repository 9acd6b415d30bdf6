"""From a model's scores to the next token: temperature, top-k, top-p, and a seeded draw.

A language model's output layer gives one score (a logit) per token of the vocabulary for the
next position. Writing a token takes two separate choices, each a pure function here so that a
notebook, the command line and the Generate page compute exactly the same numbers:

* how to reshape the distribution — `next_token_distribution(logits, temperature, top_k, top_p)`:
  divide the logits by the temperature (Ackley, Hinton & Sejnowski 1985; < 1 sharpens, > 1
  flattens, 0 is greedy), keep the k most likely tokens (Fan et al. 2018), then keep the
  smallest set of tokens whose probability reaches p (nucleus sampling, Holtzman et al. 2020),
  renormalising after each cut, in that order (as Hugging Face's samplers do);
* how to pick from it — `draw(probs, u)`: one uniform number u in [0, 1) and the inverse of the
  cumulative distribution, in vocabulary order. A seeded generation draws one u per step
  (`uniforms(seed, n)`), whatever token a person forces at some step, so the rest of the
  sequence stays comparable; moving the temperature keeps the same u's.
"""
from __future__ import annotations

import math
from numbers import Integral, Real

import torch

NUCLEUS_TOLERANCE = 1e-9  # top-p: a cumulative mass within this of p counts as reaching it (float sums)


def check_sampling(temperature=1.0, top_k=None, top_p=None) -> None:
    """Raise ValueError with one sentence when a sampling setting is impossible."""
    finite = isinstance(temperature, Integral) or (isinstance(temperature, Real) and math.isfinite(temperature))
    if isinstance(temperature, bool) or not finite or temperature < 0:
        raise ValueError(f"The temperature must be 0 (greedy) or a positive number such as 0.8 (got {temperature!r}).")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, Integral) or top_k < 1):
        raise ValueError(f"top-k must be a whole number of at least 1, or off (got {top_k!r}).")
    if top_p is not None and (isinstance(top_p, bool) or not isinstance(top_p, Real) or not 0 < top_p <= 1):
        raise ValueError(f"top-p must be a number above 0 and at most 1, such as 0.9, or off (got {top_p!r}).")


def _check_logits(logits: torch.Tensor) -> torch.Tensor:
    """logits [..., V] as float64; ValueError for NaN, +inf, or a row with no finite logit."""
    x = torch.as_tensor(logits).double()
    if x.dim() == 0 or x.size(-1) == 0:
        raise ValueError("The logits must hold one score per token of the vocabulary.")
    if torch.isnan(x).any() or (x == float("inf")).any():
        raise ValueError("The logits contain NaN or +inf, so the model has diverged: train it again with a lower learning rate.")
    if not torch.isfinite(x).any(dim=-1).all():
        raise ValueError("Every token's logit is -inf, so no token can be written.")
    return x


def next_token_distribution(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                            top_p: float | None = None) -> torch.Tensor:
    """logits [V] (or [..., V]) -> probabilities [same shape] after temperature, top-k, top-p.

    temperature 0: greedy, a one-hot on the largest logit (the first one on a tie).
    top_k: keep exactly the k largest logits (ties broken by the lower token id); None = all.
    top_p: keep the smallest set of most likely tokens whose mass reaches p (at least one token;
    ties broken by the lower token id), measured after temperature and top-k; None = all.
    Tokens whose logit is -inf (masked) get probability 0. Computed in float64, returned as
    float32 so pages and JSON get plain numbers.
    """
    check_sampling(temperature, top_k, top_p)
    x = _check_logits(logits)
    V = x.size(-1)
    if temperature == 0:
        return torch.nn.functional.one_hot(x.argmax(dim=-1), V).float()
    # Shifted so the largest logit is 0: a tiny temperature then sends the others to -inf
    # (greedy in the limit) instead of the largest to +inf and the softmax to NaN.
    # Far above the logits' spread every temperature gives the uniform distribution; capped so
    # a huge whole number still divides as a float.
    t = 1e30 if temperature >= 1e30 else float(temperature)
    x = (x - x.amax(dim=-1, keepdim=True)) / t
    if top_k is not None and top_k < V:
        order = torch.sort(x, dim=-1, descending=True, stable=True).indices  # (..., V), ties: lower id first
        x = x.scatter(-1, order[..., top_k:], float("-inf"))
    probs = torch.softmax(x, dim=-1)
    if top_p is not None and top_p < 1:
        sorted_p, order = torch.sort(probs, dim=-1, descending=True, stable=True)
        before = sorted_p.cumsum(dim=-1) - sorted_p  # mass of the more likely tokens, (..., V)
        keep_sorted = before < top_p - NUCLEUS_TOLERANCE
        keep_sorted[..., 0] = True  # the most likely token always stays
        keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
        probs = probs * keep
        probs = probs / probs.sum(dim=-1, keepdim=True)
    return probs.float()


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """Shannon entropy in nats of probs [..., V] -> [...] (0 log 0 counts as 0).

    0 for a one-hot (greedy), ln V for the uniform distribution: a model that has learned
    nothing. `float(entropy(p))` for one distribution.
    """
    p = torch.as_tensor(probs).double()
    return 0.0 - (p * torch.log(p.clamp_min(1e-300))).sum(dim=-1)  # 0.0 - x: a one-hot gives 0, not -0


def draw(probs: torch.Tensor, u: float) -> int:
    """The token id at which the cumulative distribution of probs [V] first exceeds u * total.

    u uniform in [0, 1) makes this an exact sample of probs (inverse transform sampling); a
    token with probability 0 is never drawn.
    """
    p = torch.as_tensor(probs).double().reshape(-1)
    cdf = p.cumsum(0)
    i = int(torch.searchsorted(cdf, torch.tensor([float(u) * float(cdf[-1])], dtype=torch.float64), right=True))
    if i >= p.numel() or p[i] <= 0:  # u * total rounded up to the total: the last possible token
        i = int(torch.nonzero(p > 0).max())
    return i


def uniforms(seed: int, n: int) -> list[float]:
    """n uniform numbers in [0, 1) from a generator seeded with `seed`: step i of a seeded
    generation uses the i-th, so forcing a token at one step changes no other step's draw."""
    from .training import MAX_SEED

    if isinstance(seed, bool) or not isinstance(seed, Integral) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"The seed must be a whole number from 0 to {MAX_SEED:,} (got {seed!r}).")
    g = torch.Generator().manual_seed(int(seed))
    return torch.rand(n, generator=g, dtype=torch.float64).tolist()


def sample_with_seed(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                     top_p: float | None = None, seed: int = 0) -> int:
    """One token id drawn from next_token_distribution(logits [V], ...) with the seed's first u.

    The same logits, settings and seed give the same token on every machine.
    """
    probs = next_token_distribution(logits, temperature, top_k, top_p)
    return draw(probs, uniforms(seed, 1)[0])
