"""Reading attention weights: what does each head do, and when did it learn to do it?

Everything here works on plain arrays (numpy, or tensors from `transformer.capture`) so the
same code describes a head in the app, in a test on a synthetic matrix, and in a notebook.

* Pattern scores for one attention matrix `w` of shape [T, S] (rows = queries, columns = keys,
  each row sums to 1): previous token, the token itself, a fixed distance back, the first token
  (an attention "sink"), an anti-diagonal (reversal), and the induction pattern ("find the
  earlier copy of my token and look at the token after it", Olsson et al. 2022). Each score is
  the mean attention weight that lands on the cells the pattern names, so it lies in [0, 1]
  and a head that does exactly that pattern scores 1.
* `describe_head` turns those scores and the entropy of each row into one plain sentence.
* `head_scores_over_time` and `detect_formation` track scores over training snapshots and find
  the step at which an induction head forms (the score jumps while the loss drops);
  `transformer.presets.INDUCTION_DEMO` is a preset on which that happens within a few hundred steps.

Running a model on one input (capture, one query step by step, ablation) is in `inspection.py`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

# A pattern is named in a description only when this share of attention (on average over the
# queries) follows it; below it the head is "mixed" or "spread out".
PATTERN_THRESHOLD = 0.4
# Normalised entropy (1 = perfectly uniform over the keys a query may see) above which a head
# is described as spreading its attention.
UNIFORM_THRESHOLD = 0.85

SHORT_TEXT = {
    "previous": "previous token",
    "self": "itself",
    "sink": "first token (sink)",
    "induction": "induction",
    "anti_diagonal": "reverse order",
    "uniform": "spread out",
    "mixed": "mixed",
}

PATTERN_TEXT = {
    "previous": "attends to the previous token",
    "self": "attends to the token itself",
    "sink": "attends to the first token (a 'sink')",
    "induction": "induction: looks at the token after the earlier copy of the current token",
    "anti_diagonal": "attends in reverse order (anti-diagonal)",
}


def _as_numpy(x) -> np.ndarray:
    """Accept numpy arrays, torch tensors or nested lists; return float64 numpy."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _matrix(w: np.ndarray) -> np.ndarray:
    if w.ndim != 2:
        raise ValueError(f"Expected one attention matrix [T, S], got shape {w.shape}.")
    return w


# ---------------------------------------------------------------------------------------------
# Pattern scores for one head. w: [T, S] attention weights, rows sum to 1.
# ---------------------------------------------------------------------------------------------

def offset_score(w, offset: int) -> float:
    """Mean weight on the key `offset` positions before the query (self-attention, T == S).

    offset 0 is the token itself, 1 the previous token. Queries with no such key are skipped;
    returns nan when none is left.
    """
    w = _matrix(_as_numpy(w))
    T = min(w.shape)
    rows = np.arange(offset, T)
    if rows.size == 0:
        return float("nan")
    return float(w[rows, rows - offset].mean())


def previous_token_score(w) -> float:
    """Mean weight each query (from the second on) puts on the token just before it."""
    return offset_score(w, 1)


def self_score(w) -> float:
    """Mean weight each query puts on its own position (the diagonal)."""
    return offset_score(w, 0)


def sink_score(w, causal: bool = True) -> float:
    """Mean weight on the first key position (often [BOS]).

    With a causal mask the first query can only see the first key, so it is left out: its
    weight of 1 says nothing about the head.
    """
    w = _matrix(_as_numpy(w))
    rows = w[1:] if causal and w.shape[0] > 1 else w
    return float(rows[:, 0].mean())


def anti_diagonal_score(w, causal: bool = False) -> float:
    """Best mean weight along one anti-diagonal i + j = c (reading the keys in reverse).

    For a causal decoder reversing "[BOS] x1..xn [SEP] y1..yn", query y_k predicts y_(k+1) =
    x_(n-k), so its key lies on i + j = 2n + 1. Only cells a query may see count (j < i with a
    causal mask; the diagonal i == j never, so a self-attending head does not score here), and
    only anti-diagonals with at least a quarter of the rows (and three) of such cells, so a
    lucky cell or two is not a pattern.
    """
    w = _matrix(_as_numpy(w))
    T, S = w.shape
    min_cells = max(3, T // 4)
    best = 0.0
    i = np.arange(T)
    for c in range(T + S - 1):
        j = c - i
        keep = (j >= 0) & (j < S) & ((j < i) if causal else (j != i))
        if keep.sum() < min_cells:
            continue
        best = max(best, float(w[i[keep], j[keep]].mean()))
    return best


def induction_targets(tokens: Sequence) -> list[list[int]]:
    """For each query i, the key positions j <= i whose previous token equals token i.

    That is where an induction head looks: "I am 'b'; last time 'b' appeared the next token
    was at j; attend there (and copy it)". Positions are in the same sequence (self-attention).
    """
    tokens = list(tokens)
    targets = []
    for i, tok in enumerate(tokens):
        targets.append([j for j in range(1, i + 1) if tokens[j - 1] == tok])
    return targets


def induction_score(w, tokens: Sequence) -> float:
    """Mean weight on the induction targets of `tokens`, over queries that have one.

    On a sequence of random tokens repeated twice this is the weight the second copy puts on
    "the token after my earlier occurrence". nan when no token repeats.
    """
    w = _matrix(_as_numpy(w))
    n = min(len(tokens), *w.shape)
    total, count = 0.0, 0
    for i, js in enumerate(induction_targets(list(tokens)[:n])):
        if js:
            total += float(w[i, js].sum())
            count += 1
    return total / count if count else float("nan")


def row_entropy(w, causal: bool = True) -> tuple[float, float]:
    """(mean entropy in bits, mean entropy / its maximum) over the query rows.

    The maximum for a row is log2 of the number of keys it may see (i + 1 with a causal mask),
    so 1.0 means perfectly uniform. Rows that can see one key only are skipped.
    """
    w = _matrix(_as_numpy(w))
    T, S = w.shape
    bits, norms = [], []
    for i in range(T):
        n_keys = min(i + 1, S) if causal else S
        if n_keys < 2:
            continue
        p = w[i, :n_keys]
        p = p[p > 0]
        h = float(-(p * np.log2(p)).sum())
        bits.append(h)
        norms.append(h / math.log2(n_keys))
    if not bits:
        return 0.0, 0.0
    return float(np.mean(bits)), float(np.mean(norms))


def best_offset(w, min_offset: int = 2) -> tuple[int, float]:
    """(k, score): the fixed distance back, k >= min_offset, that gets the most weight.

    Fixed-width layouts make "look k tokens back" a real strategy (the aligned digit of the
    other operand in addition). Offsets that leave fewer than a quarter of the rows (and two)
    are not counted. Returns (0, 0.0) when no offset qualifies.
    """
    w = _matrix(_as_numpy(w))
    T = min(w.shape)
    best = (0, 0.0)
    for k in range(min_offset, T):
        if T - k < max(2, T // 4):
            break
        score = offset_score(w, k)
        if score > best[1]:
            best = (k, score)
    return best


def focus(w) -> tuple[float, float]:
    """(mean top weight, share of distinct argmax keys) over the rows.

    A head with a high top weight whose favourite key changes from row to row looks at "one
    specific token per query": an alignment, like the month digits of a date looking at the
    month word in cross-attention.
    """
    w = _matrix(_as_numpy(w))
    if w.shape[0] == 0:
        return 0.0, 0.0
    top = w.max(axis=1)
    distinct = len(set(w.argmax(axis=1).tolist())) / w.shape[0]
    return float(top.mean()), float(distinct)


def top_key_position(w) -> tuple[int, float]:
    """The key position that receives the most weight on average over the rows, and that weight."""
    w = _matrix(_as_numpy(w))
    if w.size == 0:
        return 0, 0.0
    mass = w.mean(axis=0)  # (S,)
    j = int(mass.argmax())
    return j, float(mass[j])


# ---------------------------------------------------------------------------------------------
# One sentence per head.
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HeadDescription:
    """What one head does on one input: a short label, a sentence, and the numbers behind it."""

    label: str                      # a pattern key, "offset", "aligned", "uniform", "token" or "mixed"
    text: str                       # one line for a person
    scores: dict = field(default_factory=dict)   # pattern -> score in [0, 1] (nan if undefined)
    entropy_bits: float = 0.0
    entropy_norm: float = 0.0
    short: str = ""                 # a few words for a small multiple: "previous token 92%"


def head_scores(w, q_tokens: Sequence, k_tokens: Sequence | None = None, causal: bool = True) -> dict:
    """Every pattern score for one head. Self-attention when `k_tokens` is None or equal to q."""
    w = _matrix(_as_numpy(w))
    k_tokens = q_tokens if k_tokens is None else k_tokens
    T = min(len(q_tokens), w.shape[0])
    S = min(len(k_tokens), w.shape[1])
    w = w[:T, :S]  # drop padded positions
    is_self = list(q_tokens[:T]) == list(k_tokens[:S])
    scores = {
        "sink": sink_score(w, causal=causal and is_self),
        "anti_diagonal": anti_diagonal_score(w, causal=causal and is_self),
    }
    if is_self:
        scores["previous"] = previous_token_score(w)
        scores["self"] = self_score(w)
        scores["induction"] = induction_score(w, q_tokens[:T])
    return scores


def describe_head(w, q_tokens: Sequence, k_tokens: Sequence | None = None, causal: bool = True) -> HeadDescription:
    """Describe one head's weights w [T, S] in one line, from its strongest pattern.

    In order: the strongest named pattern above `PATTERN_THRESHOLD` (previous token, itself,
    sink, induction, reverse order); a fixed distance back; "one specific token per query"
    (sharp rows whose favourite key varies: an alignment); "spread out" (high entropy); the
    one key position it prefers; else "mixed". Entropy in bits closes every line, since a sharp
    and a diffuse head can prefer the same pattern.
    """
    k_tokens = q_tokens if k_tokens is None else k_tokens
    w = _matrix(_as_numpy(w))
    w = w[: min(len(q_tokens), w.shape[0]), : min(len(k_tokens), w.shape[1])]
    is_self = list(q_tokens[: w.shape[0]]) == list(k_tokens[: w.shape[1]])
    scores = head_scores(w, q_tokens, k_tokens, causal=causal)
    bits, norm = row_entropy(w, causal=causal and is_self)
    finite = {k: v for k, v in scores.items() if not math.isnan(v)}
    best = max(finite, key=finite.get) if finite else None
    offset, offset_weight = best_offset(w) if is_self else (0, 0.0)
    top, distinct = focus(w[1:] if causal and is_self else w)  # row 0 of a causal map is forced
    position, mass = top_key_position(w)
    if best is not None and finite[best] >= PATTERN_THRESHOLD:
        label, text = best, f"{PATTERN_TEXT[best]} ({finite[best]:.0%})"
        short = f"{SHORT_TEXT[best]} {finite[best]:.0%}"
    elif offset_weight >= PATTERN_THRESHOLD:
        label, text = "offset", f"attends to the token {offset} positions back ({offset_weight:.0%})"
        short = f"{offset} back {offset_weight:.0%}"
    elif top >= 0.5 and distinct >= 0.3:
        label, text = "aligned", f"looks at one specific token per query (mean top weight {top:.0%})"
        short = f"one token each {top:.0%}"
    elif norm >= UNIFORM_THRESHOLD:
        label, text, short = "uniform", "spreads its attention almost evenly", SHORT_TEXT["uniform"]
    elif mass >= PATTERN_THRESHOLD:
        tok = k_tokens[position]
        label, text = "token", f"mostly attends to '{tok}' at position {position} ({mass:.0%})"
        short = f"'{tok}' {mass:.0%}"
    else:
        label, text, short = "mixed", "mixed pattern", SHORT_TEXT["mixed"]
    return HeadDescription(label, f"{text} · entropy {bits:.1f} bits", scores, bits, norm,
                           f"{short} · {bits:.1f} bits")


def describe_heads(weights, q_tokens, k_tokens=None, causal: bool = True) -> list[HeadDescription]:
    """`describe_head` for every head of one layer's weights [H, T, S]."""
    weights = _as_numpy(weights)
    return [describe_head(weights[h], q_tokens, k_tokens, causal=causal) for h in range(weights.shape[0])]


# ---------------------------------------------------------------------------------------------
# Scores over training time, and the step at which an induction head forms.
# ---------------------------------------------------------------------------------------------

SCORERS = {
    "induction": lambda w, toks: induction_score(w, toks),
    "previous": lambda w, toks: previous_token_score(w[: len(toks), : len(toks)]),
}


def layer_head_scores(attention: dict, probe_tokens: Sequence[Sequence], kind: str = "induction") -> dict:
    """Per-head score of every self-attention layer, averaged over the probe rows.

    attention: name -> weights [B, H, T, S] (one snapshot); returns name -> array [H].
    """
    if kind not in SCORERS:
        raise ValueError(f"Unknown score '{kind}': choose one of {', '.join(SCORERS)}.")
    scorer = SCORERS[kind]
    out = {}
    for name, weights in attention.items():
        if not name.endswith("self_attn"):
            continue
        weights = _as_numpy(weights)  # (B, H, T, S)
        per_head = np.full(weights.shape[1], np.nan)
        for h in range(weights.shape[1]):
            vals = [scorer(weights[b, h], probe_tokens[b]) for b in range(min(len(probe_tokens), weights.shape[0]))]
            vals = [v for v in vals if not math.isnan(v)]
            if vals:
                per_head[h] = float(np.mean(vals))
        out[name] = per_head
    return out


def head_scores_over_time(snapshots: Iterable, kind: str = "induction") -> tuple[np.ndarray, dict]:
    """Track one score for every head across snapshots.

    snapshots: objects with `.step`, `.attention` and `.probe_tokens` (e.g. `Snapshot`).
    Returns (steps [N], {"decoder.1.self_attn": array [N, H]}).
    """
    steps, series = [], {}
    for snap in snapshots:
        steps.append(snap.step)
        for name, per_head in layer_head_scores(snap.attention, snap.probe_tokens, kind).items():
            series.setdefault(name, []).append(per_head)
    return np.asarray(steps), {name: np.vstack(rows) for name, rows in series.items()}


@dataclass(frozen=True)
class Formation:
    """When an induction head formed, and what the loss did around it."""

    step: int              # the step at which the score passed halfway to its final level
    name: str              # the attention module of the head
    head: int
    score_before: float
    score_after: float
    loss_step: int | None  # first step at which the loss fell halfway from its plateau to its end
    loss_before: float     # the loss when the score started to rise (the plateau)
    loss_after: float
    onset: int | None = None   # last snapshot step before formation with the score still low


def _halfway_crossing(xs: np.ndarray, ys: np.ndarray, lo: float, hi: float, rising: bool):
    """The x at which y first crosses halfway from lo to hi (upwards if rising), interpolated
    linearly between the two samples around the crossing (snapshots can be far apart)."""
    mid = lo + 0.5 * (hi - lo)
    hit = ys >= mid if rising else ys <= mid
    idx = np.flatnonzero(hit)
    if not idx.size:
        return None
    i = int(idx[0])
    if i == 0 or ys[i] == ys[i - 1]:
        return int(xs[i])
    frac = (mid - ys[i - 1]) / (ys[i] - ys[i - 1])
    return int(round(xs[i - 1] + frac * (xs[i] - xs[i - 1])))


def _smooth(y: np.ndarray, k: int) -> np.ndarray:
    """Running median over k points: a loss curve's noise should not count as a drop."""
    if k <= 1 or y.size < k:
        return y
    pad = k // 2
    padded = np.pad(y, pad, mode="edge")
    return np.array([np.median(padded[i:i + k]) for i in range(y.size)])


def detect_formation(steps, scores: dict, loss_steps=None, losses=None, min_jump: float = 0.2) -> Formation | None:
    """Find the head whose score jumps most and the step at which it does.

    steps [N] and scores {name: [N, H]} as from `head_scores_over_time(kind="induction")`;
    loss_steps/losses: the training-loss curve. A head "forms" when its score rises by at least
    `min_jump` from its lowest early level to its final level; the formation step is where it
    passes halfway (interpolated between snapshots). The loss is read the same way: its level when the score starts to
    rise (the plateau), its final level, and the first step past halfway between them.
    Returns None when no head rises by `min_jump`.
    """
    steps = np.asarray(steps)
    best = None
    for name, series in scores.items():
        series = np.asarray(series, dtype=np.float64)
        for h in range(series.shape[1]):
            s = np.nan_to_num(series[:, h], nan=0.0)
            if s.size < 2:
                continue
            tail = max(1, s.size // 5)
            lo = float(s[: max(1, s.size // 2)].min())
            hi = float(np.median(s[-tail:]))
            if hi - lo >= min_jump and (best is None or hi - lo > best[0]):
                best = (hi - lo, name, h, lo, hi, s)
    if best is None:
        return None
    _, name, h, lo, hi, s = best
    step = _halfway_crossing(steps, s, lo, hi, rising=True)
    # The onset: the last snapshot before formation at which the score had barely moved.
    quiet = np.flatnonzero((steps <= step) & (s <= lo + 0.1 * (hi - lo)))
    onset = int(steps[quiet[-1]]) if quiet.size else int(steps[0])
    loss_step, loss_before, loss_after = None, float("nan"), float("nan")
    if loss_steps is not None and losses is not None and len(losses) >= 4:
        ls, lv = np.asarray(loss_steps), _smooth(np.asarray(losses, dtype=np.float64), 9)
        tail = max(1, lv.size // 10)
        loss_after = float(np.median(lv[-tail:]))
        loss_before = float(np.interp(onset, ls, lv))
        later = ls >= onset
        loss_step = _halfway_crossing(ls[later], lv[later], loss_before, loss_after, rising=False)
    return Formation(step, name, h, lo, hi, loss_step, loss_before, loss_after, onset)
