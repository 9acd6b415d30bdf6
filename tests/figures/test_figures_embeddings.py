import numpy as np
import pytest

from transformer.figures.embeddings import (
    GROUP_COLOURS,
    cosine_matrix_figure,
    embedding_animation_figure,
    embedding_scatter_figure,
    neighbours_figure,
    polarity_figure,
)
from transformer.analysis.projection import project_frames, token_groups

TOKENS = ["<pad>", "0", "1", "2", "a", "b", "Nov", " "]


def _frames(n_frames=3, dims=2, seed=0):
    rng = np.random.default_rng(seed)
    final = rng.normal(size=(len(TOKENS), 6))
    tables = [final + rng.normal(scale=1.0 / (i + 1), size=final.shape) for i in range(n_frames - 1)] + [final]
    return project_frames(tables, dims)


def test_scatter_has_one_trace_per_group_with_every_token():
    coords, basis = _frames(1)
    groups = token_groups(TOKENS)
    fig = embedding_scatter_figure(coords[0], TOKENS, groups, basis.explained)
    assert [t.name for t in fig.data] == ["special", "digit", "letter", "month", "space"]
    assert sorted(sum((list(t.text) for t in fig.data), [])) == sorted(["<pad>", "0", "1", "2", "a", "b", "Nov", "␣"])
    digits = fig.data[1]
    assert digits.marker.color == GROUP_COLOURS["digit"]
    np.testing.assert_allclose(digits.x, coords[0][1:4, 0])
    assert "% of variance" in fig.layout.xaxis.title.text


def test_scatter_in_3d_uses_a_scene():
    coords, basis = _frames(1, dims=3)
    fig = embedding_scatter_figure(coords[0], TOKENS, token_groups(TOKENS), basis.explained)
    assert fig.data[0].type == "scatter3d"
    assert fig.layout.scene.zaxis.title.text.startswith("PC3")


def test_scatter_rejects_mismatched_labels():
    coords, _ = _frames(1)
    with pytest.raises(ValueError, match="one label"):
        embedding_scatter_figure(coords[0], TOKENS[:-1], token_groups(TOKENS))
    with pytest.raises(ValueError, match="2-D or 3-D"):
        embedding_scatter_figure(np.zeros((len(TOKENS), 4)), TOKENS, token_groups(TOKENS))


def test_film_has_a_frame_per_snapshot_and_fixed_axes():
    coords, basis = _frames(4)
    groups = token_groups(TOKENS)
    fig = embedding_animation_figure(coords, [0, 10, 20, 30], TOKENS, groups, basis.explained)
    assert [f.name for f in fig.frames] == ["0", "10", "20", "30"]
    assert [s.label for s in fig.layout.sliders[0].steps] == ["0", "10", "20", "30"]
    assert fig.layout.sliders[0].active == 3
    # The figure opens on the final frame ...
    np.testing.assert_allclose(fig.data[1].x, coords[-1][1:4, 0])
    # ... every frame has the same traces in the same order (Plotly matches them by index) ...
    for frame in fig.frames:
        assert [t.name for t in frame.data] == [t.name for t in fig.data]
    # ... and the axis range covers every frame, so the axes never rescale during playback.
    all_x = np.concatenate([c[:, 0] for c in coords])
    lo, hi = fig.layout.xaxis.range
    assert lo < all_x.min() and hi > all_x.max()
    labels = [b.label for b in fig.layout.updatemenus[0].buttons]
    assert any("Play" in label for label in labels)


def test_film_3d_frames_redraw():
    coords, basis = _frames(2, dims=3)
    fig = embedding_animation_figure(coords, ["a", "b"], TOKENS, token_groups(TOKENS), start=0)
    assert fig.layout.sliders[0].steps[0].args[1]["frame"]["redraw"] is True
    np.testing.assert_allclose(fig.data[0].z, coords[0][:1, 2])
    with pytest.raises(ValueError, match="one name per frame"):
        embedding_animation_figure(coords, ["a"], TOKENS, token_groups(TOKENS))


def test_cosine_matrix_is_fixed_to_minus_one_one():
    sim = np.array([[1.0, -0.5], [-0.5, 1.0]])
    fig = cosine_matrix_figure(sim, ["good", " "])
    heat = fig.data[0]
    assert (heat.zmin, heat.zmid, heat.zmax) == (-1, 0, 1)
    assert list(heat.x) == ["good", "␣"]
    with pytest.raises(ValueError, match="square"):
        cosine_matrix_figure(sim, ["good"])


def test_neighbours_bars_keep_order():
    fig = neighbours_figure("a", [("b", 0.9), ("c", 0.1)])
    assert list(fig.data[0].y) == ["b", "c"]
    assert list(fig.data[0].x) == [0.9, 0.1]
    assert "'a'" in fig.layout.title.text


def test_polarity_figure_puts_each_group_on_its_own_row():
    fig = polarity_figure([0.5, -0.4, 0.1], ["good", "bad", "the"], ["positive", "negative", "word"], 0.75)
    assert [t.name for t in fig.data] == ["positive", "negative", "word"]
    assert list(fig.data[1].x) == [-0.4] and list(fig.data[1].y) == ["negative"]
    two = polarity_figure([0.9, 0.1, 0.5], ["a", "b", "c"], ["word"] * 3)
    assert list(two.data[0].text) == ["b", "c", "a"]  # sorted along the axis ...
    assert list(two.data[0].textposition) == ["top center", "bottom center", "top center"]  # ... labels alternate
    assert "75%" in fig.layout.title.text
    with pytest.raises(ValueError, match="one label"):
        polarity_figure([0.5], ["good", "bad"], ["positive"])
