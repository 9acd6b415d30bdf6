"""Training-curve figures: the data they plot, their axes, and the conventions of the app."""
from __future__ import annotations

import math

import numpy as np
import pytest

from transformer.figures.theme import ORANGE, SKY, TRAIN_COLOUR, VAL_COLOUR
from transformer.figures.training import (
    MAX_POINTS,
    accuracy_figure,
    accuracy_series,
    columns,
    downsample,
    grad_norm_figure,
    loss_figure,
    loss_series,
    lr_figure,
    smooth,
    set_empty_note,
    update_figure,
)


def test_columns_skips_rows_with_missing_or_non_finite_values():
    rows = [
        {"step": 1, "loss": 2.0},
        {"step": 2, "loss": None},
        {"step": 3, "loss": math.nan},
        {"step": 4},
        {"step": 5, "loss": 1.5},
    ]
    steps, loss = columns(rows, "step", "loss")
    assert steps.tolist() == [1.0, 5.0]
    assert loss.tolist() == [2.0, 1.5]
    empty = columns([], "step", "loss")
    assert len(empty) == 2 and all(len(c) == 0 for c in empty)


def test_downsample_bounds_points_keeps_last_and_means():
    x = np.arange(1, 5001, dtype=float)
    y = np.sin(x / 50.0)
    xs, ys = downsample(x, y, max_points=400)
    assert len(xs) <= 400 and len(xs) == len(ys)
    assert xs[-1] == 5000 and ys[-1] == y[-1]
    assert np.all(np.diff(xs) > 0)
    # Bucket means of a line stay on the line.
    xl, yl = downsample(x, 3 * x + 1, max_points=100)
    assert np.allclose(yl, 3 * xl + 1)
    # Short series pass through untouched.
    short_x, short_y = downsample([1, 2, 3], [5, 6, 7], max_points=10)
    assert short_x.tolist() == [1, 2, 3] and short_y.tolist() == [5, 6, 7]


def test_smooth_is_bias_corrected():
    # A plain EMA started at 0 would begin near 0.1 * value; bias correction starts at the value.
    assert np.allclose(smooth(np.full(50, 3.0), alpha=0.1), 3.0)
    noisy = np.tile([0.0, 2.0], 200)
    assert smooth(noisy, alpha=0.05)[-1] == pytest.approx(1.0, abs=0.1)


def _assert_app_conventions(fig):
    layout = fig.layout
    assert layout.title.text, "every figure needs a title that says what to notice"
    assert layout.xaxis.title.text and layout.yaxis.title.text
    assert layout.uirevision is not None, "uirevision keeps zoom across refreshes"


def test_loss_figure_plots_train_and_validation_on_log_axis():
    steps = np.arange(1, 3001)
    loss = 3.0 * np.exp(-steps / 500.0) + 0.01
    fig = loss_figure(steps, loss, [0, 1000, 2000, 3000], [3.0, 0.5, 0.1, 0.02], uirevision="run-7")
    _assert_app_conventions(fig)
    assert fig.layout.yaxis.type == "log"
    assert fig.layout.uirevision == "run-7"
    names = [t.name for t in fig.data]
    assert names == ["training (per batch)", "training", "validation (held-out)"]
    train = [t for t in fig.data if t.name.startswith("train")]
    assert all(len(t.x) <= MAX_POINTS < 3000 for t in train), "long histories are averaged before plotting"
    assert train[0].x[-1] == 3000
    val = fig.data[names.index("validation (held-out)")]
    assert list(val.y) == [3.0, 0.5, 0.1, 0.02]


def test_log_axes_label_powers_of_ten_only_across_decades():
    wide = loss_figure(np.arange(1, 101), np.geomspace(3.0, 0.003, 100))
    assert wide.layout.yaxis.dtick == 1
    narrow = loss_figure(np.arange(1, 101), np.linspace(2.8, 2.0, 100))
    assert narrow.layout.yaxis.dtick is None, "within one decade plotly's own ticks are needed"


def test_a_single_evaluation_at_step_zero_starts_the_axis_at_zero():
    fig = accuracy_figure([0], [0.1], [0.0])
    assert tuple(fig.layout.xaxis.range) == (0, 10)
    assert accuracy_figure([0, 50], [0.1, 0.4], [0.0, 0.1]).layout.xaxis.range is None


def test_loss_figure_without_data_says_what_to_do():
    fig = loss_figure([], [])
    _assert_app_conventions(fig)
    assert len(fig.data) == 0
    assert "Train" in fig.layout.annotations[0].text


def test_the_empty_loss_note_can_say_what_the_run_is_doing_and_goes_with_the_first_line():
    fig = loss_figure([], [], empty_note="Queued: waiting for a free training slot.")
    assert [a.text for a in fig.layout.annotations] == ["Queued: waiting for a free training slot."]
    set_empty_note(fig, "Training has started.")
    assert [a.text for a in fig.layout.annotations] == ["Training has started."]
    update_figure(fig, loss_series([1, 2], [2.5, 2.4]))
    assert not fig.layout.annotations and len(fig.data) == 2
    set_empty_note(fig, "Queued.")  # a figure with lines has no note to change
    assert not fig.layout.annotations


def test_accuracy_figure_is_in_percent_with_target():
    fig = accuracy_figure([0, 50, 100], [0.1, 0.5, 1.0], [0.0, 0.25, 0.995], target=0.99)
    _assert_app_conventions(fig)
    assert "%" in fig.layout.yaxis.title.text
    seq, token = fig.data
    assert list(token.y) == pytest.approx([10.0, 50.0, 100.0])
    assert list(seq.y) == pytest.approx([0.0, 25.0, 99.5])
    assert any(shape.y0 == pytest.approx(99.0) for shape in fig.layout.shapes)


def test_training_and_validation_are_drawn_as_pairs_in_the_themes_side_colours():
    evals = [0, 50, 100]
    fig = accuracy_figure(evals, [0.2, 0.6, 0.7], [0.0, 0.3, 0.4], train_steps=evals,
                          train_token_acc=[0.2, 0.9, 1.0], train_seq_acc=[0.0, 0.8, 1.0])
    by_name = {t.meta: t for t in fig.data}
    assert set(by_name) == {f"{q} · {side}" for q in ("whole answers right", "tokens right")
                            for side in ("training", "validation (held-out)")}
    for quantity, (train_colour, val_colour) in (("whole answers right", (TRAIN_COLOUR, VAL_COLOUR)),
                                                 ("tokens right", (SKY, ORANGE))):
        train, val = by_name[f"{quantity} · training"], by_name[f"{quantity} · validation (held-out)"]
        # The side twice over: blue and dashed for training, vermillion and solid for held-out (the
        # second quantity in the lighter shade of each).
        assert (train.line.color, val.line.color) == (train_colour, val_colour)
        assert train.line.dash == "dash" and val.line.dash is None, "the training side is dashed"
        assert (train.name, val.name) == ("training", "validation (held-out)")
        assert train.legendgroup == val.legendgroup == quantity
    # A figure of one quantity (a character model's accuracy) takes the main shades.
    text = accuracy_figure(evals, [0.2, 0.4, 0.5], train_steps=evals, train_token_acc=[0.2, 0.5, 0.7])
    assert [t.line.color for t in text.data] == [TRAIN_COLOUR, VAL_COLOUR]
    # The gap is in the data: training at 100 %, validation at 40 %.
    assert list(by_name["whole answers right · training"].y) == pytest.approx([0.0, 80.0, 100.0])
    assert list(by_name["whole answers right · validation (held-out)"].y) == pytest.approx([0.0, 30.0, 40.0])


def test_the_loss_draws_the_measured_training_loss_and_falls_back_to_the_batches():
    steps = np.arange(1, 101)
    batch = np.geomspace(3.0, 0.1, 100)
    measured = loss_figure(steps, batch, [0, 50, 100], [3.0, 1.0, 1.5], train_steps=[0, 50, 100],
                           train_loss=[3.0, 0.5, 0.05])
    lines = {t.meta: t for t in measured.data}
    assert list(lines["loss · training"].y) == pytest.approx([3.0, 0.5, 0.05]), "the eval rows' train_loss"
    assert lines["loss · training"].line.color == TRAIN_COLOUR
    assert lines["loss · validation (held-out)"].line.color == VAL_COLOUR
    # A history from before the trainer measured the training side: the smoothed batch loss.
    old = loss_figure(steps, batch, [0, 50, 100], [3.0, 1.0, 1.5])
    old_lines = {t.meta: t for t in old.data}
    assert len(old_lines["loss · training"].x) == 100
    assert old_lines["loss · training"].y[-1] == pytest.approx(0.1, rel=0.5)


def test_update_figure_switches_to_the_measured_training_side_when_it_appears():
    fig = loss_figure([1, 2], [2.5, 2.4], [0], [2.6])
    assert [t.meta for t in fig.data][1] == "loss · training" and len(fig.data[1].x) == 2
    update_figure(fig, loss_series([1, 2], [2.5, 2.4], [0, 2], [2.6, 2.5], train_steps=[0, 2], train_loss=[2.6, 2.3]))
    assert list(fig.data[1].x) == [0, 2] and list(fig.data[1].y) == pytest.approx([2.6, 2.3])


def test_lr_figure_shows_plan_and_used_rates():
    planned_steps = np.arange(1, 101)
    planned = np.minimum(planned_steps / 10, 1.0) * 3e-3
    fig = lr_figure(planned_steps[:40], planned[:40], planned_steps=planned_steps, planned_lr=planned)
    _assert_app_conventions(fig)
    names = [t.name for t in fig.data]
    assert names == ["planned", "used"]
    assert len(fig.data[0].x) == 100 and len(fig.data[1].x) == 40


def test_grad_norm_figure_marks_the_clip_threshold():
    fig = grad_norm_figure([1, 2, 3], [0.5, 4.0, 0.7], clip=1.0)
    _assert_app_conventions(fig)
    assert fig.layout.yaxis.type == "log"
    assert [shape.y0 for shape in fig.layout.shapes] == [1.0]
    no_clip = grad_norm_figure([1, 2, 3], [0.5, 4.0, 0.7], clip=None)
    assert len(no_clip.layout.shapes) == 0


def test_update_figure_swaps_the_lines_in_place_and_matches_a_fresh_build():
    steps = np.arange(1, 51)
    fig = loss_figure(steps[:5], np.linspace(2.8, 2.6, 5), [0], [2.8], uirevision="r")
    later_steps, later_loss = steps, np.geomspace(2.8, 0.01, 50)
    assert update_figure(fig, loss_series(later_steps, later_loss, [0], [2.8]))
    fresh = loss_figure(later_steps, later_loss, [0], [2.8], uirevision="r")
    for old, new in zip(fig.data, fresh.data):
        assert list(old.x) == list(new.x) and list(old.y) == pytest.approx(list(new.y))
    assert fig.layout.yaxis.dtick == fresh.layout.yaxis.dtick == 1, "the layout follows the data too"
    assert fig.layout.xaxis.range is None


def test_update_figure_adds_new_lines_keeps_the_layout_and_drops_the_waiting_note():
    fig = accuracy_figure([], [], [], target=0.99, uirevision="r")  # before the first evaluation
    notes = [a.text for a in fig.layout.annotations]
    assert any("at every evaluation" in n for n in notes) and "target 99 %" in notes
    assert update_figure(fig, accuracy_series([0, 25], [0.1, 0.5], [0.0, 0.2])) is fig
    fresh = accuracy_figure([0, 25], [0.1, 0.5], [0.0, 0.2], target=0.99, uirevision="r")
    assert [t.meta for t in fig.data] == [t.meta for t in fresh.data] == [
        "whole answers right · validation (held-out)", "tokens right · validation (held-out)"]
    for old, new in zip(fig.data, fresh.data):
        assert list(old.y) == pytest.approx(list(new.y)) and old.line.color == new.line.color
    assert [a.text for a in fig.layout.annotations] == ["target 99 %"], "the waiting note is gone"
    assert fig.layout.uirevision == "r" and [s.y0 for s in fig.layout.shapes] == [99.0]


def test_for_projector_enlarges_a_figure_once():
    from transformer.figures import FONT_SIZE, for_projector

    fig = loss_figure([1, 2, 3], [1.0, 0.5, 0.25])
    assert for_projector(fig) is fig
    size, height = fig.layout.font.size, fig.layout.height
    assert size == FONT_SIZE + 5 and height >= int(320 * 1.3)
    assert "<br>" in fig.layout.title.text and fig.layout.legend.y < 0  # a half-width column fits it
    for_projector(fig)  # a figure kept across refreshes is drawn again: it must not grow again
    assert (fig.layout.font.size, fig.layout.height) == (size, height)
