"""The picture task: what the generator draws, how a picture is stored and batched, the split."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from transformer.tasks import get_task, make_batch
from transformer.tasks.images import LEVELS, SHAPES, pixels_of, render


def test_shapes_render_with_the_area_and_holes_of_their_geometry():
    size, r = 32, 10.0
    disc = render("disc", size, 16, 16, r, 0.0)
    assert disc.sum() == pytest.approx(math.pi * r**2, rel=0.03)
    ring = render("ring", size, 16, 16, r, 0.0)
    assert ring.sum() == pytest.approx(math.pi * r**2 * (1 - 0.55**2), rel=0.05)
    square = render("square", size, 16, 16, r, 0.3)
    assert square.sum() == pytest.approx((1.6 * r) ** 2, rel=0.03)  # rotation keeps the area
    triangle = render("triangle", size, 16, 16, r, 1.0)
    assert triangle.sum() == pytest.approx(3 * math.sqrt(3) / 4 * r**2, rel=0.05)  # circumradius r
    # Filled shapes are full in the middle, the hollow ones empty there; a cross is full at its centre.
    for shape, centre in (("disc", 1), ("square", 1), ("ring", 0), ("frame", 0), ("cross", 1), ("triangle", 1)):
        assert render(shape, size, 16, 16, r, 0.7)[15:17, 15:17].mean() == pytest.approx(centre), shape
    # Off-centre shapes sit where they were put.
    moved = render("disc", size, 8, 24, 4.0, 0.0)  # cx = 8, cy = 24
    ys, xs = np.nonzero(moved > 0.5)
    assert xs.mean() == pytest.approx(7.5, abs=0.3) and ys.mean() == pytest.approx(23.5, abs=0.3)


def test_examples_are_pictures_of_every_class_and_the_same_for_a_seed():
    task = get_task("shapes", image_size=12)
    examples = task.examples(300, seed=0)
    assert examples == task.examples(300, seed=0)
    assert examples != task.examples(300, seed=1)
    assert {ex.tgt[0] for ex in examples} == set(SHAPES)
    counts = {s: sum(ex.tgt[0] == s for ex in examples) for s in SHAPES}
    assert min(counts.values()) > 300 / 6 / 2, counts  # every class reasonably often
    for ex in examples[:20]:
        assert len(ex.src) == 144 and set(ex.src) <= set(LEVELS)
        image = task.pixels(ex)
        assert image.shape == (12, 12) and 0 <= image.min() and image.max() <= 1


def test_a_picture_has_its_shape_brighter_than_the_background():
    task = get_task("shapes", image_size=16, noise_percent=0)
    for ex in task.examples(30, seed=2):
        image = task.pixels(ex)
        # Shape at least 0.7 bright, background at most 0.15: the picture spans at least 0.55.
        assert image.max() - image.min() > 0.5, ex.tgt


def test_pixel_tokens_round_trip_through_the_text_a_page_shows():
    task = get_task("shapes", image_size=8)
    ex = task.examples(1, seed=0)[0]
    text = task.format_src(ex.src)
    assert text.count("\n") == 7 and all(len(row) == 8 for row in text.split("\n"))
    assert task.parse(text) == ex.src
    np.testing.assert_allclose(pixels_of(ex.src, 8), task.pixels(ex))
    assert pixels_of(["0"] * 63 + ["f"], 8)[7, 7] == 1.0


@pytest.mark.parametrize("text, match", [
    ("0" * 10, "8x8 = 64 pixels and the input has 10"),
    ("z" * 64, "Unknown pixel 'z'"),
])
def test_bad_pictures_are_one_sentence(text, match):
    with pytest.raises(ValueError, match=match):
        get_task("shapes", image_size=8).parse(text)


def test_the_label_is_never_guessed_from_typed_pixels():
    task = get_task("shapes", image_size=8)
    with pytest.raises(ValueError, match="known only from how it was drawn"):
        task.solve(["0"] * 64)


def test_image_batches_hold_pixels_and_the_label_id():
    task = get_task("shapes", image_size=12)
    examples = task.examples(5, seed=4)
    batch = make_batch(task, examples, "image")
    assert batch.pixels.shape == (5, 1, 12, 12) and batch.pixels.dtype == torch.float32
    assert batch.inputs == (batch.pixels,)
    assert batch.targets.tolist() == [[task.vocab.stoi[ex.tgt[0]]] for ex in examples]
    assert batch.width == 12 == task.max_len("image")
    torch.testing.assert_close(batch.pixels[2, 0], torch.from_numpy(task.pixels(examples[2])))


def test_pictures_and_text_models_refuse_each_other():
    shapes, reverse = get_task("shapes"), get_task("reverse")
    with pytest.raises(ValueError, match="made of pictures: train it with an image model"):
        make_batch(shapes, shapes.examples(2, seed=0), "lm")
    with pytest.raises(ValueError, match="text, not pictures"):
        make_batch(reverse, reverse.examples(2, seed=0), "image")


def test_train_and_validation_pictures_never_meet():
    task = get_task("shapes", image_size=8)
    train = task.examples(200, seed=0, split="train")
    val = task.examples(100, seed=0, split="val")
    assert {task.split_of(ex) for ex in train} == {"train"}
    assert {task.split_of(ex) for ex in val} == {"val"}
    assert not {tuple(ex.src) for ex in train} & {tuple(ex.src) for ex in val}


@pytest.mark.parametrize("params, match", [({"image_size": 4}, "image_size must be a whole number from 8 to 28"),
                                           ({"noise_percent": 90}, "noise_percent must be")])
def test_task_parameters_are_checked(params, match):
    with pytest.raises(ValueError, match=match):
        get_task("shapes", **params)


def test_pages_that_show_tokens_list_only_text_tasks_and_a_train_link_to_pictures_says_so():
    from transformer.tasks import is_image_task, list_tasks, text_tasks
    from transformer.ui.settings import settings_from_query

    assert is_image_task("shapes") and not is_image_task("reverse") and not is_image_task("nope")
    assert "shapes" in list_tasks() and "shapes" not in text_tasks()
    assert text_tasks() == [n for n in list_tasks() if n != "shapes"]
    settings, notes = settings_from_query({"task": "shapes", "arch": "vit"})
    assert settings["task"] == "reverse"
    assert any("made of pictures" in note and "Vision transformer" in note for note in notes)
