import numpy as np
import pytest

from transformer.positional import sinusoidal_encoding
from transformer.analysis.projection import (
    cosine_similarity_matrix,
    dot_similarity_matrix,
    fit_pca,
    hidden_layers,
    nearest_neighbours,
    polarity_axis,
    project_frames,
    rope_scores,
    rotation_error,
    sinusoidal_rotation,
    token_group,
    token_groups,
    vector_arithmetic,
)


def _cloud(seed=0, n=30, d=8):
    rng = np.random.default_rng(seed)
    # Anisotropic, so the principal axes are well separated and the test is about the code.
    return rng.normal(size=(n, d)) * np.linspace(5, 0.5, d) + rng.normal(size=d)


# --------------------------------------------------------------------------- PCA


def test_pca_axes_are_orthonormal_and_ordered_by_variance():
    X = _cloud()
    basis = fit_pca(X, 3)
    np.testing.assert_allclose(basis.components @ basis.components.T, np.eye(3), atol=1e-10)
    coords = basis.transform(X)
    variances = coords.var(axis=0)
    assert variances[0] >= variances[1] >= variances[2]
    assert np.all(np.diff(basis.explained) <= 1e-12) and 0 < basis.explained.sum() <= 1 + 1e-12
    np.testing.assert_allclose(coords.mean(axis=0), 0, atol=1e-10)


def test_pca_signs_are_fixed_by_the_largest_loading():
    X = _cloud(1)
    basis = fit_pca(X, 3)
    for row in basis.components:
        assert row[np.argmax(np.abs(row))] > 0
    # A tiny change to the data must not mirror the picture.
    nudged = fit_pca(X + 1e-6 * np.random.default_rng(2).normal(size=X.shape), 3)
    np.testing.assert_allclose(nudged.components, basis.components, atol=1e-4)


def test_pca_pads_missing_axes_with_zeros():
    X = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])  # two points: one direction of variance
    basis = fit_pca(X, 3)
    coords = basis.transform(X)
    assert coords.shape == (2, 3)
    # The second direction's singular value is rounding noise (about 1e-16), below the PCA's
    # numerical floor, so it is dropped like the third: its axis is zero, not noise.
    np.testing.assert_array_equal(basis.components[1:], 0)
    np.testing.assert_allclose(coords[:, 1:], 0, atol=1e-12)
    assert basis.explained[0] == pytest.approx(1.0)


def test_pca_rejects_bad_input_with_a_sentence():
    with pytest.raises(ValueError, match="NaN"):
        fit_pca(np.array([[np.nan, 1.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="same model"):
        fit_pca(_cloud(d=8)).transform(np.zeros((3, 5)))


def test_film_uses_the_final_frames_basis_for_every_frame():
    rng = np.random.default_rng(3)
    final = _cloud(4)
    frames = [final + rng.normal(scale=s, size=final.shape) for s in (3.0, 1.0, 0.0)]
    coords, basis = project_frames(frames, n_components=2)
    # The last frame is projected exactly as a fresh fit on it would.
    fresh = fit_pca(frames[-1], 2)
    np.testing.assert_allclose(coords[-1], fresh.transform(frames[-1]), atol=1e-10)
    np.testing.assert_allclose(basis.components, fresh.components)
    # Earlier frames use the same centring and axes, not their own fit.
    for frame, c in zip(frames, coords):
        np.testing.assert_allclose(c, (frame - fresh.mean) @ fresh.components.T, atol=1e-10)
    own_fit = fit_pca(frames[0], 2).transform(frames[0])
    assert not np.allclose(own_fit, coords[0], atol=1e-3)


def test_film_can_fit_on_all_frames_at_once():
    frames = [_cloud(6), 10 * _cloud(7)]
    coords, basis = project_frames(frames, 2, fit_on="all")
    stacked = fit_pca(np.concatenate(frames), 2)
    np.testing.assert_allclose(basis.components, stacked.components)
    np.testing.assert_allclose(coords[0], stacked.transform(frames[0]))


def test_film_rejects_frames_of_different_shapes():
    with pytest.raises(ValueError, match="same table shape"):
        project_frames([np.zeros((3, 4)), np.zeros((4, 4))])
    with pytest.raises(ValueError, match="no snapshots"):
        project_frames([])


# --------------------------------------------------------------------------- similarity


def test_cosine_similarity_handles_zero_vectors():
    X = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, -3.0], [0.0, 0.0]])
    S = cosine_similarity_matrix(X)
    assert S[0, 1] == pytest.approx(1.0)
    assert S[0, 2] == pytest.approx(0.0)
    assert np.all(S[3] == 0)
    np.testing.assert_allclose(S, S.T)


def test_nearest_neighbours_excludes_the_query_and_sorts():
    tokens = ["a", "b", "c", "d"]
    X = np.array([[1.0, 0.0], [0.9, 0.1], [-1.0, 0.0], [0.5, 0.5]])
    result = nearest_neighbours(X, tokens, "a", k=3)
    assert [t for t, _ in result] == ["b", "d", "c"]
    assert result[0][1] > result[1][1] > result[2][1]
    with pytest.raises(ValueError, match="vocabulary"):
        nearest_neighbours(X, tokens, "z")


def test_vector_arithmetic_finds_the_parallelogram():
    tokens = ["man", "woman", "king", "queen", "apple"]
    gender, royal = np.array([0.0, 1.0, 0.0]), np.array([1.0, 0.0, 0.0])
    base = np.array([0.2, 0.2, 1.0])
    X = np.stack([base, base + gender, base + royal, base + royal + gender, np.array([0.0, 0.0, -1.0])])
    best, _ = vector_arithmetic(X, tokens, "man", "woman", "king", k=1)[0]
    assert best == "queen"
    assert all(t not in {"man", "woman", "king"} for t, _ in vector_arithmetic(X, tokens, "man", "woman", "king"))
    assert vector_arithmetic(X, tokens, "man", "woman", "king", k=1, exclude={"queen"})[0][0] == "apple"


def test_token_groups():
    assert token_groups(["<pad>", "7", "12", "a", "Nov", "march", "good", "bad", "not", "cat", ",", " "]) == [
        "special", "digit", "digit", "letter", "month", "month", "positive", "negative", "negation",
        "word", "punctuation", "space",
    ]
    # A task's own word lists take precedence over the built-in ones.
    assert token_group("meh", positive={"meh"}) == "positive"


# --------------------------------------------------------------------------- positions


@pytest.mark.parametrize("base", [10000.0, 100.0])
def test_sinusoidal_similarity_is_symmetric_and_depends_only_on_distance(base):
    pe = sinusoidal_encoding(40, 16, base=base).double().numpy()
    S = dot_similarity_matrix(pe)
    np.testing.assert_allclose(S, S.T, atol=1e-9)
    for i in range(39):
        for j in range(39):
            assert S[i + 1, j + 1] == pytest.approx(S[i, j], abs=1e-4)  # depends on i - j ...
    for i in range(20):
        assert S[i, i + 5] == pytest.approx(S[i + 5, i], abs=1e-4)  # ... and only on |i - j|
    # Nearby positions are more alike than distant ones (for the first few steps).
    assert S[10, 10] > S[10, 11] > S[10, 13]


@pytest.mark.parametrize("d_model,k", [(16, 1), (16, 7), (9, 3)])
def test_offset_is_one_rotation_for_every_position(d_model, k):
    pe = sinusoidal_encoding(50, d_model).double().numpy()
    R = sinusoidal_rotation(k, d_model)
    assert rotation_error(pe, k, R) < 1e-5
    paired = 2 * (d_model // 2)
    np.testing.assert_allclose(R[:paired, :paired] @ R[:paired, :paired].T, np.eye(paired), atol=1e-12)
    # Rotations compose: two offsets are one offset of the sum.
    np.testing.assert_allclose(sinusoidal_rotation(2, d_model) @ R, sinusoidal_rotation(k + 2, d_model), atol=1e-12)
    # A wrong offset does not pass the check.
    assert rotation_error(pe, k, sinusoidal_rotation(k + 1, d_model)) > 1e-2


def test_rope_scores_depend_only_on_offset():
    rng = np.random.default_rng(0)
    q, k = rng.normal(size=8), rng.normal(size=8)
    S = rope_scores(q, k, 16)
    for offset in range(-15, 16):
        diag = np.diagonal(S, offset=offset)
        np.testing.assert_allclose(diag, diag[0], atol=1e-4)
    assert np.ptp([np.diagonal(S, o)[0] for o in range(16)]) > 1e-2  # but the offset matters
    assert S[0, 0] == pytest.approx(float(q @ k), abs=1e-4)  # position 0 is not rotated
    with pytest.raises(ValueError, match="even"):
        rope_scores(np.ones(5), np.ones(5), 4)


# --------------------------------------------------------------------------- words and layers


def test_polarity_axis_separates_two_clusters_and_scores_the_midpoint_zero():
    rng = np.random.default_rng(5)
    pos = rng.normal(size=(6, 4)) * 0.1 + [1, 0, 0, 0]
    neg = rng.normal(size=(6, 4)) * 0.1 - [1, 0, 0, 0]
    X = np.vstack([pos, neg, [[0, 0, 0, 0]]])
    scores, separation = polarity_axis(X, range(6), range(6, 12))
    assert separation == 1.0
    assert np.all(scores[:6] > 0) and np.all(scores[6:12] < 0)
    assert abs(scores[12]) < 0.2
    # Swapping the labels turns the axis around; random labels separate worse.
    flipped, _ = polarity_axis(X, range(6, 12), range(6))
    np.testing.assert_allclose(flipped, -scores)
    _, mixed = polarity_axis(X, [0, 1, 6, 7], [2, 3, 8, 9])
    assert mixed < 1.0
    with pytest.raises(ValueError, match="at least two"):
        polarity_axis(X, [0], [6, 7])


def test_polarity_separation_is_leave_one_out():
    # Random directions: the in-sample axis always "separates" few points, left-out ones do not.
    rng = np.random.default_rng(8)
    X = rng.normal(size=(6, 50))
    _, separation = polarity_axis(X, [0, 1, 2], [3, 4, 5])
    in_sample, _ = polarity_axis(X, [0, 1, 2], [3, 4, 5])
    assert np.all(in_sample[:3] > 0) and np.all(in_sample[3:] < 0)  # fitting on them is trivially perfect
    assert separation < 1.0


@pytest.mark.parametrize("arch", ["decoder", "encoder-decoder", "gru"])
def test_hidden_layers_come_in_forward_order(arch):
    import torch

    from transformer import ModelConfig, build_model
    from transformer.capture import capture

    cfg = ModelConfig(vocab_size=10, max_len=8, arch=arch, d_model=8, n_heads=2, n_layers=2, d_ff=16)
    model = build_model(cfg).eval()
    idx = torch.tensor([[1, 2, 3, 4]])
    with capture(model, hidden=True) as cache, torch.no_grad():
        model(idx, idx) if arch == "encoder-decoder" else model(idx)
    layers = hidden_layers(cache)
    prefix = {"decoder": "decoder", "encoder-decoder": "encoder", "gru": "rnn"}[arch]
    names = [n for n, _ in layers]
    assert names[1:] == [f"{prefix}.0", f"{prefix}.1"]
    assert names[0] in ("embed", "encoder.embed")
    assert all(a.shape == (1, 4, 8) for _, a in layers)
    with pytest.raises(ValueError, match="hidden states"):
        hidden_layers({"decoder.0.self_attn": None})
