"""Beam search: keep the `width` most probable continuations instead of one.

Greedy decoding takes the most likely token at every step and can walk into a sequence whose
total probability is low: a slightly less likely first token may lead to much likelier ones.
Beam search (as in Sutskever et al. 2014, Wu et al. 2016) keeps, after every step, the `width`
highest-scoring hypotheses, a hypothesis' score being its log-probability
    log p(y_1..y_t | x) = sum_i log p(y_i | x, y_<i),
and extends each by every token. A hypothesis that writes <eos> is finished and stays in the
pool with its score; the search ends when the pool holds only finished ones or after
max_new_tokens steps. Scores are not length-normalised: a longer answer pays for every token,
which is the honest total probability the page shows.

One addition to the textbook search: the greedy hypothesis is always kept in the pool (it
replaces the last one when it falls out). Plain beam search can, rarely, drop the greedy prefix
and end below it (the kept prefixes turn out to continue badly); keeping it costs one slot and
guarantees what a person expects of a wider search: the best beam's log-probability is never
below greedy's. Width 1 is exactly greedy decoding.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Integral

import torch

from .decoding import Prompt, evaluating

MAX_BEAM_WIDTH = 32  # a beam tree wider than this is unreadable, and costs width forwards a step
MAX_BEAM_TOKENS = 1000  # each step copies every hypothesis: the cost grows with the square of the length


@dataclass
class Beam:
    """One hypothesis of a beam search.

    tokens: the answer, up to (not including) <eos>; ids: every written id, <eos> included.
    log_prob: the sum of the steps' log-probabilities (natural log).
    steps: (token, log-probability of that token) for every written token, <eos> included.
    parents: for every step t, the rank (0 = best) in step t-1's pool of the hypothesis this
    one extended at t (-1 at step 0): with `history`, enough to draw the search as a tree.
    finished: it wrote <eos>. greedy: it is the greedy hypothesis (see the module docstring).
    """

    tokens: list[str]
    ids: list[int]
    log_prob: float
    steps: list[tuple[str, float]] = field(default_factory=list)
    parents: list[int] = field(default_factory=list)
    finished: bool = False
    greedy: bool = False


def beam_search(model, task, src_tokens, width: int = 3, max_new_tokens: int | None = None,
                history: list | None = None) -> list[Beam]:
    """The `width` best answers to `src_tokens` by total log-probability, best first.

    Works for decoder ("lm") and encoder-decoder ("seq2seq") models, the character model
    included (it never writes special tokens and has no <eos>). If `history` is a list, the pool
    after every step is appended to it as a list of Beams (best first), for drawing the tree.
    Each bad value raises ValueError with one sentence.
    """
    if isinstance(width, bool) or not isinstance(width, Integral) or not 1 <= width <= MAX_BEAM_WIDTH:
        raise ValueError(f"The beam width must be a whole number from 1 to {MAX_BEAM_WIDTH} (got {width!r}).")
    width = int(width)
    prompt = Prompt(model, task, src_tokens)
    n = prompt.max_new_tokens(max_new_tokens, MAX_BEAM_TOKENS)
    tokens = prompt.vocab.tokens
    pool = [Beam([], [], 0.0, greedy=True)]
    with evaluating(model):
        for _ in range(n):
            alive = [b for b in pool if not b.finished]
            if not alive:
                break
            logits = prompt.writable(prompt.logits([b.ids for b in alive]).double().cpu())  # (A, V)
            log_p = torch.log_softmax(logits, dim=-1)                                       # (A, V)
            done = [b for b in pool if b.finished]
            # Candidates in a fixed order (finished first, then each alive hypothesis' tokens
            # by id), sorted stably: ties go to the earlier one, as argmax does for greedy.
            scores = torch.cat([torch.tensor([b.log_prob for b in done], dtype=torch.float64),
                                (torch.tensor([b.log_prob for b in alive], dtype=torch.float64)[:, None]
                                 + log_p).reshape(-1)])                                     # (F + A*V,)
            order = torch.sort(scores, descending=True, stable=True).indices
            chosen = [int(i) for i in order[:width] if torch.isfinite(scores[i])]
            rank = {id(b): r for r, b in enumerate(pool)}
            g = next(b for b in pool if b.greedy)
            if g.finished:
                greedy_next = next(i for i, b in enumerate(done) if b is g)
            else:  # the greedy step: the largest logit (the first one on a tie), as generation_trace
                a = next(i for i, b in enumerate(alive) if b is g)
                greedy_next = len(done) + a * log_p.size(1) + int(logits[a].argmax())
            if greedy_next not in chosen:
                chosen = chosen[:width - 1] + [greedy_next]
                chosen.sort(key=lambda i: (-float(scores[i]), i))
            pool = [_extend(rank, done, alive, log_p, i, greedy_next, prompt.eos_id, tokens) for i in chosen]
            if history is not None:
                history.append(list(pool))
    return pool


def _extend(rank, done, alive, log_p, i: int, greedy_next: int, eos_id, tokens) -> Beam:
    """The hypothesis behind candidate index i (see beam_search's candidate order)."""
    if i < len(done):
        b = done[i]
        return Beam(b.tokens, b.ids, b.log_prob, b.steps, b.parents, True, i == greedy_next)
    a, tok = divmod(i - len(done), log_p.size(1))
    parent = alive[a]
    lp = float(log_p[a, tok])
    finished = tok == eos_id
    return Beam(
        tokens=parent.tokens if finished else parent.tokens + [tokens[tok]],
        ids=parent.ids + [tok], log_prob=parent.log_prob + lp,
        steps=parent.steps + [(tokens[tok], lp)],
        parents=parent.parents + [rank[id(parent)] if parent.ids else -1],
        finished=finished, greedy=i == greedy_next,
    )


def beam_tree(beams: list[Beam]) -> list[dict]:
    """The beams as a tree of shared prefixes, for drawing: one node per distinct prefix.

    Each node: {"key": tuple of ids, "parent": its parent's key (None for the root's children),
    "token", "log_prob" (of that token), "score" (cumulative), "depth" (1 = first token),
    "beams": ranks of the beams passing through it}.
    """
    nodes: dict[tuple, dict] = {}
    for rank, beam in enumerate(beams):
        score = 0.0
        for depth, ((token, lp), tok_id) in enumerate(zip(beam.steps, beam.ids), start=1):
            key = tuple(beam.ids[:depth])
            score += lp
            node = nodes.setdefault(key, {"key": key, "parent": key[:-1] or None, "token": token, "log_prob": lp,
                                          "score": score, "depth": depth, "beams": []})
            node["beams"].append(rank)
    return list(nodes.values())
