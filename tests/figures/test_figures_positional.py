import math

import numpy as np
import pytest

from transformer.figures.positional import (
    encoding_curves_figure,
    encoding_heatmap_figure,
    offset_lines_figure,
    position_similarity_figure,
    relative_rotation_figure,
    rotation_matrix_figure,
    same_word_figure,
    scheme_curves_figure,
    scheme_similarity_figure,
    wavelength,
)
from transformer.positional import sinusoidal_encoding
from transformer.analysis.projection import rope_scores, sinusoidal_rotation


@pytest.fixture
def pe():
    return sinusoidal_encoding(32, 16).numpy()


def test_wavelengths_grow_from_2pi_to_2pi_base():
    assert wavelength(0, 16) == pytest.approx(2 * math.pi)
    assert wavelength(1, 16) == wavelength(0, 16)  # sin and cos of a pair share a wavelength
    assert wavelength(15, 16) == pytest.approx(2 * math.pi * 10000 ** (14 / 16))
    assert wavelength(2, 16, base=100.0) == pytest.approx(2 * math.pi * 100 ** (2 / 16))


def test_curves_label_each_dimension_with_its_wavelength(pe):
    fig = encoding_curves_figure(pe, [0, 1, 6], base=10000.0)
    names = [t.name for t in fig.data]
    assert len(names) == 3
    assert names[0].startswith("dim 0 (sin)") and names[1].startswith("dim 1 (cos)")
    assert f"{wavelength(6, 16):,.1f}" in names[2]
    np.testing.assert_allclose(fig.data[2].y, pe[:, 6])
    assert fig.layout.xaxis.title.text.startswith("position")
    with pytest.raises(ValueError, match="outside"):
        encoding_curves_figure(pe, [16])


def test_heatmap_is_diverging_and_centred(pe):
    fig = encoding_heatmap_figure(pe)
    heat = fig.data[0]
    assert heat.zmid == 0 and heat.zmin == -heat.zmax
    assert np.asarray(heat.z).shape == (32, 16)
    assert fig.layout.uirevision
    assert "dimension" in fig.layout.xaxis.title.text and "position" in fig.layout.yaxis.title.text


def test_similarity_figure_keeps_the_matrix(pe):
    sim = pe @ pe.T
    fig = position_similarity_figure(sim)
    np.testing.assert_allclose(fig.data[0].z, sim)
    assert fig.data[0].zmax == pytest.approx(np.abs(sim).max())


def test_same_word_rows_show_the_difference(pe):
    word = np.linspace(-1, 1, 16)
    fig = same_word_figure(word, pe[2], pe[9], 2, 9, "cat")
    z = np.asarray(fig.data[0].z)
    np.testing.assert_allclose(z[0], word)
    np.testing.assert_allclose(z[1] - z[2], z[3], atol=1e-12)
    assert "PE(2)" in fig.data[0].y[1] and "PE(9)" in fig.data[0].y[2]


def test_rotation_figure_draws_one_equal_arc_per_position_and_pair(pe):
    fig = relative_rotation_figure(pe, 3, pairs=[0, 4], positions=[0, 5, 10])
    arcs = [t for t in fig.data if t.mode == "lines+markers+text"]
    assert len(arcs) == 6
    for j, arc in enumerate(arcs[:3]):  # pair 0 holds columns 0 and 1
        p = int(arc.text[0])
        r = 1.0 - 0.1 * j
        np.testing.assert_allclose([arc.x[0] / r, arc.y[0] / r], pe[p, 0:2], atol=1e-6)
        np.testing.assert_allclose([arc.x[-1] / r, arc.y[-1] / r], pe[p + 3, 0:2], atol=1e-6)
    # The turn read off the table matches k·ω_i, the same for every position.
    omega = 10000 ** (-2 * 4 / 16)
    assert f"turn {math.degrees(3 * omega) % 360:.1f}°" in fig.layout.annotations[1].text
    with pytest.raises(ValueError, match="offset"):
        relative_rotation_figure(pe, 0, pairs=[0])
    with pytest.raises(ValueError, match="Pair 8"):
        relative_rotation_figure(pe, 1, pairs=[8])


def test_rotation_matrix_and_rope_figures():
    R = sinusoidal_rotation(2, 8)
    assert np.asarray(rotation_matrix_figure(R).data[0].z).shape == (8, 8)
    S = rope_scores(np.ones(8), np.arange(8.0), 10)
    fig = offset_lines_figure(S, rows=[0, 4])
    assert [t.name for t in fig.data] == ["query at position 0", "query at position 4"]
    assert fig.data[0].marker.size > fig.data[1].marker.size  # rings shrink: coinciding points stay visible
    np.testing.assert_array_equal(fig.data[1].x, 4 - np.arange(10))


def test_scheme_comparison_explains_missing_schemes(pe):
    sims = {"sinusoidal": np.eye(4), "learned": None, "none": np.ones((4, 4))}
    fig = scheme_similarity_figure(sims, notes={"learned": "train a model with learned positions"})
    texts = [a.text for a in fig.layout.annotations]
    note = next(t for t in texts if "<br>" in t)
    assert note.replace("<br>", " ") == "train a model with learned positions"  # wrapped to fit
    assert all(len(line) <= 24 for line in note.split("<br>"))
    assert {"sinusoidal", "learned", "none"} <= set(texts)
    heatmaps = [t for t in fig.data if t.type == "heatmap" and t.name]
    assert [t.showscale for t in heatmaps] == [False, True]  # one colour bar, on the last real matrix


def test_experiment_curves_skip_rows_without_the_metric():
    histories = {
        "sinusoidal": [{"step": 0}, {"step": 10, "token_acc": 0.5}, {"step": 20, "token_acc": 0.9}],
        "none": [{"step": 10, "token_acc": 0.2}],
    }
    fig = scheme_curves_figure(histories, "token_acc")
    assert [t.name for t in fig.data] == ["sinusoidal", "none"]
    assert list(fig.data[0].x) == [10, 20]
    assert tuple(fig.layout.yaxis.range) == (0, 1.02)
