"""The Vision Transformer's figures: the right numbers in the right places."""
from __future__ import annotations

import numpy as np
import pytest

from transformer.figures.vision import (accuracy_by_size_figure, attention_overlay_grid, filters_figure,
                                        overlay_figure, patch_figure, position_similarity,
                                        position_similarity_figure, sequence_figure)

IMAGE = np.arange(64, dtype=float).reshape(8, 8) / 63  # 8x8, patches of 4: a 2x2 grid


def test_patch_figure_numbers_the_patches_row_by_row_at_their_centres():
    fig = patch_figure(IMAGE, 4)
    labels = {a.text: (a.x, a.y) for a in fig.layout.annotations}
    assert labels == {"1": (1.5, 1.5), "2": (5.5, 1.5), "3": (1.5, 5.5), "4": (5.5, 5.5)}
    assert len(fig.layout.shapes) == 2  # one vertical and one horizontal border
    assert fig.layout.yaxis.autorange == "reversed"  # row 0 at the top, as drawn


def test_sequence_figure_puts_each_patch_after_cls_in_reading_order():
    fig = sequence_figure(IMAGE, 4)
    strip = np.asarray(fig.data[0].z, dtype=float)
    assert list(fig.layout.xaxis.ticktext) == ["CLS", "1", "2", "3", "4"]
    np.testing.assert_allclose(strip[:, 5:9], IMAGE[:4, :4])  # patch 1 after the [CLS] slot and a gap
    np.testing.assert_allclose(strip[:, 15:19], IMAGE[4:, :4])  # patch 3: second row, first column
    assert np.isnan(strip[:, 4]).all()


def test_attention_overlay_shows_the_query_row_over_the_patches_without_cls():
    maps = {"encoder.0.self_attn": np.zeros((2, 5, 5)), "encoder.1.self_attn": np.zeros((2, 5, 5))}
    maps["encoder.1.self_attn"][1, 0] = [0.6, 0.1, 0.0, 0.3, 0.0]  # [CLS] row, head 1: CLS, p1..p4
    maps["encoder.0.self_attn"][0, 2] = [0.0, 0.25, 0.75, 0.0, 0.0]  # patch 2's row, head 0
    fig = attention_overlay_grid(IMAGE, maps, 4)
    assert len(fig.data) == 2 * 2 * 2  # layers x heads x (picture, overlay)
    overlay = np.asarray(fig.data[7].z)  # layer 1, head 1
    assert overlay.shape == (8, 8)
    assert overlay[0, 0] == pytest.approx(0.1) and overlay[7, 0] == pytest.approx(0.3) and overlay[0, 7] == 0
    assert fig.data[7].zmax == pytest.approx(0.3)  # [CLS]'s 0.6 on itself is not shown
    patch_fig = attention_overlay_grid(IMAGE, maps, 4, query=2)
    assert np.asarray(patch_fig.data[1].z)[0, 7] == pytest.approx(0.75)
    assert "patch 2" in patch_fig.layout.title.text


def test_overlay_figure_scales_to_its_largest_weight():
    fig = overlay_figure(IMAGE, [0.1, 0.2, 0.3, 0.4], 4, "rollout")
    assert fig.data[1].zmax == pytest.approx(0.4)
    assert np.asarray(fig.data[1].z)[7, 7] == pytest.approx(0.4)


def test_position_similarity_is_cosine_without_cls_and_tiled_on_the_grid():
    pos = np.array([[9.0, 9.0], [1.0, 0.0], [0.0, 2.0], [1.0, 1.0], [-3.0, 0.0]])  # [CLS] + 4 patches
    sim = position_similarity(pos)
    assert sim.shape == (4, 4)
    np.testing.assert_allclose(np.diag(sim), 1.0)
    assert sim[0, 1] == pytest.approx(0.0) and sim[0, 2] == pytest.approx(1 / np.sqrt(2)) and sim[0, 3] == pytest.approx(-1)
    fig = position_similarity_figure(pos, 2)
    big = np.asarray(fig.data[0].z, dtype=float)
    assert big.shape == (5, 5)  # 2x2 tiles of 2x2, one blank row and column between
    np.testing.assert_allclose(big[3:5, 3:5], sim[3].reshape(2, 2))  # patch 4's tile, bottom right
    assert np.isnan(big[2]).all()
    with pytest.raises(ValueError, match="not the 9 of a 3x3 grid"):
        position_similarity_figure(pos, 3)


def test_filters_are_tiled_each_scaled_to_its_own_largest_weight():
    filters = np.zeros((3, 1, 2, 2))
    filters[1, 0] = [[0.5, -1.0], [0.0, 0.25]]
    fig = filters_figure(filters, per_row=2)
    tile = np.asarray(fig.data[0].z, dtype=float)
    assert tile.shape == (5, 5)
    np.testing.assert_allclose(tile[0:2, 3:5], [[0.5, -1.0], [0.0, 0.25]])


def test_accuracy_by_size_draws_one_line_per_model_in_size_order():
    rows = [{"arch": "CNN", "train_size": 1000, "val_acc": 0.9}, {"arch": "ViT", "train_size": 1000, "val_acc": 0.5},
            {"arch": "ViT", "train_size": 100, "val_acc": 0.3}]
    fig = accuracy_by_size_figure(rows)
    assert [t.name for t in fig.data] == ["ViT", "CNN"]
    assert list(fig.data[0].x) == [100, 1000] and list(fig.data[0].y) == [0.3, 0.5]
