"""Looking at vector spaces: a fixed PCA basis, cosine similarity, neighbours, arithmetic, groups.

The embedding pages show a model's vectors (the token table, or hidden states after each layer)
as points in 2 or 3 dimensions. Three choices here keep those pictures honest:

* **One basis for a whole film.** `fit_pca` is fitted once, on the *final* snapshot, and the
  same centring and axes are applied to every earlier snapshot with `PCABasis.transform`. Fitting
  each frame on its own would let the axes spin and swap between frames, so points would jump
  even when the vectors barely moved.
* **Signs that do not flip.** An eigenvector is only defined up to sign; `fit_pca` makes the
  loading with the largest magnitude positive on every axis, so refitting the same data (or data
  that changed a little) gives the same picture, not its mirror image.
* **No extra dependencies.** PCA is one SVD. t-SNE / UMAP would need scikit-learn or umap-learn,
  which the project does not ship; they also distort distances and are not stable across frames,
  which is exactly what the "watch it form" view needs.

Also here: cosine similarity, nearest neighbours and vector arithmetic for the embedding page;
token groups for colouring (digits, letters, months, sentiment words, specials); the residual
stream layer by layer from a capture; and the geometry the positional page checks numerically
(PE(pos + k) = R_k PE(pos), RoPE scores that depend only on the offset).

Everything takes numpy arrays (or CPU tensors, via `np.asarray`) and returns numpy arrays.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

# --------------------------------------------------------------------------- PCA


@dataclass(frozen=True)
class PCABasis:
    """A fitted projection: subtract `mean`, then dot with `components`.

    mean:        [d]     the centre of the data the basis was fitted on
    components:  [n, d]  orthonormal rows, largest variance first (zero rows pad a rank-deficient fit)
    explained:   [n]     fraction of the fitted data's variance along each axis (sums to <= 1)
    """

    mean: np.ndarray
    components: np.ndarray
    explained: np.ndarray

    @property
    def n_components(self) -> int:
        return int(self.components.shape[0])

    def transform(self, X) -> np.ndarray:
        """Project points [N, d] (or [..., d]) onto the basis: returns [N, n] (or [..., n])."""
        X = np.asarray(X, dtype=np.float64)
        if X.shape[-1] != self.mean.shape[0]:
            raise ValueError(
                f"These vectors have {X.shape[-1]} dimensions but the projection was fitted on "
                f"{self.mean.shape[0]}: project vectors from the same model."
            )
        return (X - self.mean) @ self.components.T


def fit_pca(X, n_components: int = 2) -> PCABasis:
    """Fit a PCA basis on points X [N, d] with a fixed sign convention.

    Works for any N >= 1 and d >= 1: when the data has fewer than `n_components` directions
    (a 2-token vocabulary, d_model = 2 in 3-D), the missing axes are zero rows, so every
    projected point has exactly `n_components` coordinates and a figure never breaks.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError("PCA needs a non-empty table of vectors shaped [number of points, dimensions].")
    if n_components < 1:
        raise ValueError(f"Choose at least one projection axis (got {n_components}).")
    if not np.isfinite(X).all():
        raise ValueError("These vectors contain NaN or infinite values (did training diverge?): retrain the model.")
    n, d = X.shape
    mean = X.mean(axis=0)
    centred = X - mean
    # Rows of vt are the principal directions; singular values give the variance along them.
    _, s, vt = np.linalg.svd(centred, full_matrices=False)  # vt: (min(n, d), d)
    # Directions whose singular value is below the numerical floor (numpy's matrix_rank rule)
    # carry rounding noise, not data: they count as missing, so their axis is exactly zero
    # instead of an arbitrary direction that differs between BLAS builds.
    rank = int((s > s.max(initial=0.0) * max(n, d) * np.finfo(np.float64).eps).sum())
    k = min(n_components, rank)
    components = np.zeros((n_components, d))
    components[:k] = vt[:k]
    # Sign convention: the largest-magnitude loading of each axis is positive.
    for i in range(k):
        if components[i, np.argmax(np.abs(components[i]))] < 0:
            components[i] = -components[i]
    variance = s**2
    total = variance.sum()
    explained = np.zeros(n_components)
    if total > 0:
        explained[:k] = variance[:k] / total
    return PCABasis(mean=mean, components=components, explained=explained)


def project_frames(frames, n_components: int = 2, fit_on: int | str = -1) -> tuple[list[np.ndarray], PCABasis]:
    """Project a film of tables [N, d] (one per snapshot) with one basis fitted on frame `fit_on`.

    Returns (coords, basis) where coords[i] is [N, n_components]. Using the final frame's axes
    lets the early, random-looking frames drift into the final structure instead of jumping.
    fit_on="all" fits on every frame stacked: for the layers of one input, whose spread grows
    with depth, so that no layer is squashed onto the axes of another.
    """
    frames = [np.asarray(f, dtype=np.float64) for f in frames]
    if not frames:
        raise ValueError("There are no snapshots to project yet: train for a few steps first.")
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        raise ValueError("Every snapshot must have the same table shape to share one projection.")
    basis = fit_pca(np.concatenate(frames) if fit_on == "all" else frames[fit_on], n_components)
    return [basis.transform(f) for f in frames], basis


# --------------------------------------------------------------------------- similarity


def cosine_similarity_matrix(X, Y=None, eps: float = 1e-12) -> np.ndarray:
    """Cosine similarity between rows: X [N, d], Y [M, d] (default X) -> [N, M] in [-1, 1].

    A zero vector has similarity 0 with everything (not NaN), so a `<pad>` row that was never
    trained does not poison the figure.
    """
    X = np.asarray(X, dtype=np.float64)
    Y = X if Y is None else np.asarray(Y, dtype=np.float64)
    Xn = X / np.maximum(np.linalg.norm(X, axis=-1, keepdims=True), eps)
    Yn = Y / np.maximum(np.linalg.norm(Y, axis=-1, keepdims=True), eps)
    return np.clip(Xn @ Yn.T, -1.0, 1.0)


def dot_similarity_matrix(X) -> np.ndarray:
    """Plain dot products between rows: X [N, d] -> [N, N] (the Gram matrix X Xᵀ)."""
    X = np.asarray(X, dtype=np.float64)
    return X @ X.T


def nearest_neighbours(X, tokens, query: str, k: int = 5, exclude=()) -> list[tuple[str, float]]:
    """The k rows of X [V, d] most cosine-similar to the row of `query`, best first.

    Returns (token, similarity) pairs, never the query itself nor any token in `exclude`.
    """
    tokens = list(tokens)
    index = _index_of(tokens, query)
    return _nearest(X, tokens, np.asarray(X, dtype=np.float64)[index], k, set(exclude) | {query})


def vector_arithmetic(X, tokens, a: str, b: str, c: str, k: int = 5, exclude=()) -> list[tuple[str, float]]:
    """Solve "a is to b as c is to ?": nearest rows (by cosine) to X[b] - X[a] + X[c].

    The three given tokens (and any in `exclude`) are left out of the answers, as in word2vec's
    analogy test (otherwise c itself is almost always the nearest point).
    """
    tokens = list(tokens)
    X = np.asarray(X, dtype=np.float64)
    target = X[_index_of(tokens, b)] - X[_index_of(tokens, a)] + X[_index_of(tokens, c)]
    return _nearest(X, tokens, target, k, set(exclude) | {a, b, c})


def _nearest(X, tokens, target, k, exclude) -> list[tuple[str, float]]:
    sims = cosine_similarity_matrix(np.asarray(target)[None, :], X)[0]
    order = np.argsort(-sims, kind="stable")
    out = [(tokens[i], float(sims[i])) for i in order if tokens[i] not in exclude]
    return out[: max(int(k), 0)]


def _index_of(tokens: list[str], token: str) -> int:
    try:
        return tokens.index(token)
    except ValueError:
        raise ValueError(f"'{token}' is not in this model's vocabulary: pick one of its tokens.") from None


def polarity_axis(X, positive_rows, negative_rows) -> tuple[np.ndarray, float]:
    """Score every row of X [V, d] along the line from the negative words' mean to the positive's.

    Returns (scores [V], separation): scores > 0 lean positive, < 0 negative (0 is the midpoint
    of the two means). separation is the fraction of the given positive and negative rows that
    land on their own side of an axis built *without them* (leave-one-out), so a word cannot
    vote for itself: 0.5 is chance, 1.0 means one direction of the space carries sentiment.
    """
    X = np.asarray(X, dtype=np.float64)
    positive_rows, negative_rows = list(positive_rows), list(negative_rows)
    if len(positive_rows) < 2 or len(negative_rows) < 2:
        raise ValueError("A polarity axis needs at least two positive and two negative words.")

    def axis(pos, neg):
        mu_pos, mu_neg = X[pos].mean(axis=0), X[neg].mean(axis=0)
        direction = mu_pos - mu_neg
        norm = np.linalg.norm(direction)
        return (mu_pos + mu_neg) / 2, (direction / norm if norm > 0 else direction)

    centre, direction = axis(positive_rows, negative_rows)
    scores = (X - centre) @ direction
    hits = 0
    for sign, rows, other in ((1, positive_rows, negative_rows), (-1, negative_rows, positive_rows)):
        for r in rows:
            rest = [q for q in rows if q != r]
            c, u = axis(rest, other) if sign > 0 else axis(other, rest)
            hits += sign * float((X[r] - c) @ u) > 0
    return scores, hits / (len(positive_rows) + len(negative_rows))


_LAYER = re.compile(r"^(encoder|decoder|rnn)\.(\d+)$")


def hidden_layers(cache, stack: str | None = None) -> list[tuple[str, np.ndarray]]:
    """The residual stream layer by layer, from a `capture(model, hidden=True)` cache.

    Returns [(name, states [B, T, d])] in forward order: the embedding ("embed", or
    "encoder.embed" for an encoder-decoder), then each block's output ("decoder.0", ...).
    `stack` picks "encoder" or "decoder" when a model has both (default: the encoder, whose
    input is what the user typed); the decoder side of an encoder-decoder has other positions.
    """
    keys = list(cache)
    stacks = sorted({m.group(1) for k in keys if (m := _LAYER.match(k))})
    if not stacks:
        raise ValueError("This capture holds no hidden states: run the model inside capture(model, hidden=True).")
    stack = stack or ("encoder" if "encoder" in stacks else stacks[0])
    if stack not in stacks:
        raise ValueError(f"This model has no '{stack}' layers: choose one of {', '.join(stacks)}.")
    blocks = sorted((int(m.group(2)), k) for k in keys if (m := _LAYER.match(k)) and m.group(1) == stack)
    embed = f"{stack}.embed" if f"{stack}.embed" in cache else "embed"
    out = [(embed, np.asarray(cache[embed], dtype=np.float64))] if embed in cache else []
    return out + [(k, np.asarray(cache[k], dtype=np.float64)) for _, k in blocks]


# --------------------------------------------------------------------------- token groups

MONTHS = (
    "january february march april may june july august september october november december".split()
)
MONTH_ABBREVIATIONS = frozenset(m[:3] for m in MONTHS) | {"sept"}
POSITIVE_WORDS = frozenset(
    "good great excellent wonderful amazing love loved lovely nice fun happy best brilliant "
    "enjoyed enjoy fantastic superb delightful beautiful pleasant perfect charming awesome like "
    "liked positive pos".split()
)
NEGATIVE_WORDS = frozenset(
    "bad terrible awful horrible boring hate hated poor worst dull sad ugly disappointing "
    "annoying dreadful mediocre weak unpleasant negative neg".split()
)
NEGATIONS = frozenset("not no never n't nothing hardly".split())

# Display order of groups (legend order and colour assignment).
GROUP_ORDER = (
    "special", "digit", "letter", "month", "positive", "negative", "negation",
    "word", "punctuation", "space",
)
_SPECIAL = re.compile(r"^(<[^<>\s]+>|\[[A-Z]+\])$")  # <pad>, <bos>, [CLS] ...


def token_group(token: str, positive=POSITIVE_WORDS, negative=NEGATIVE_WORDS) -> str:
    """A group name for colouring one token; see GROUP_ORDER for the possible answers.

    Month names are recognised in full or abbreviated ("Nov", "november"), digits as any
    all-digit string, sentiment words from the given word sets (pass a task's own lists).
    """
    t = str(token)
    low = t.lower()
    if _SPECIAL.match(t):
        return "special"
    if t.isdigit():
        return "digit"
    if t.isspace() or t == "":
        return "space"
    if low in MONTHS or low in MONTH_ABBREVIATIONS:
        return "month"
    if low in positive:
        return "positive"
    if low in negative:
        return "negative"
    if low in NEGATIONS:
        return "negation"
    if len(t) == 1 and t.isalpha():
        return "letter"
    if any(ch.isalnum() for ch in t):
        return "word"
    return "punctuation"


def token_groups(tokens, positive=POSITIVE_WORDS, negative=NEGATIVE_WORDS) -> list[str]:
    """`token_group` for every token of a vocabulary, in order."""
    return [token_group(t, positive, negative) for t in tokens]


# --------------------------------------------------------------------------- positions as geometry


def sinusoidal_rotation(k: int, d_model: int, base: float = 10000.0) -> np.ndarray:
    """R_k [d_model, d_model] with PE[pos + k] = R_k @ PE[pos] for every pos.

    Pair i holds (sin(pos·ω_i), cos(pos·ω_i)) with ω_i = base^(-2i/d). The angle-addition
    formulas give
        sin((pos+k)ω) =  cos(kω)·sin(posω) + sin(kω)·cos(posω)
        cos((pos+k)ω) = -sin(kω)·sin(posω) + cos(kω)·cos(posω)
    so each pair is turned by a 2x2 rotation whose angle k·ω_i contains no `pos`: a relative
    offset is one fixed linear map, which attention can learn once for every position.
    With an odd d_model the last (sin-only) column has no partner and is left at 0.
    """
    if d_model < 2:
        raise ValueError("A rotation needs at least one (sin, cos) pair: use d_model of 2 or more.")
    omega = base ** (-np.arange(0, d_model - 1, 2, dtype=np.float64) / d_model)  # (d/2,)
    R = np.zeros((d_model, d_model))
    for i, w in enumerate(omega):
        c, s = np.cos(k * w), np.sin(k * w)
        R[2 * i: 2 * i + 2, 2 * i: 2 * i + 2] = [[c, s], [-s, c]]
    return R


def rotation_error(pe, k: int, R) -> float:
    """Largest |R @ PE[pos] - PE[pos + k]| over every pos where pos + k is in the table."""
    pe = np.asarray(pe, dtype=np.float64)
    if not 0 < k < pe.shape[0]:
        raise ValueError(
            f"The offset k must be between 1 and {pe.shape[0] - 1} for a table of {pe.shape[0]} positions."
        )
    d = (R @ pe[:-k].T).T - pe[k:]
    if pe.shape[1] % 2:  # the unpaired last column is not rotated (see sinusoidal_rotation)
        d = d[:, :-1]
    return float(np.abs(d).max())


def rope_scores(q, k, n_positions: int, base: float = 10000.0) -> np.ndarray:
    """[P, P] matrix of RoPE(q, m) · RoPE(k, n): one query and one key vector placed at every
    position m (rows) and n (columns). It is constant along each diagonal (depends on m - n only).

    q, k: [d_head] with d_head even.
    """
    import torch

    from transformer.positional import RotaryEmbedding

    q = torch.as_tensor(np.asarray(q, dtype=np.float32))
    k = torch.as_tensor(np.asarray(k, dtype=np.float32))
    if q.shape != k.shape or q.dim() != 1 or q.shape[0] % 2:
        raise ValueError("Rotary encoding needs a query and a key of the same even length.")
    rope = RotaryEmbedding(q.shape[0], n_positions, base)
    qs = rope(q.expand(n_positions, -1).clone())  # (P, d_head): the same q at positions 0..P-1
    ks = rope(k.expand(n_positions, -1).clone())  # (P, d_head)
    return (qs @ ks.T).double().numpy()
