"""The induction-head demo does what the page says: a loss plateau, then a sudden drop, as a
previous-token head (layer 0) and an induction head (layer 1) form, and the formation step is
found automatically. Trains the real preset (seed 0, deterministic on CPU) until 98% accuracy."""
from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from transformer.capture import capture
from transformer.analysis.interpret import detect_formation, head_scores_over_time
from transformer.presets import induction_demo_configs
from transformer.tasks import make_batch
from transformer.training import Trainer


class AttentionRecorder:
    """Capture attention on a fixed probe batch at every evaluation, like a run's snapshots."""

    def __init__(self, task, probe):
        self.batch = make_batch(task, probe, "lm")
        self.snapshots = []

    def on_eval(self, trainer, row):
        model = trainer.model
        model.eval()
        with torch.no_grad(), capture(model) as cache:
            model(self.batch.idx)
        model.train()
        attention = {name: t.numpy() for name, t in cache.items()}
        self.snapshots.append(SimpleNamespace(step=trainer.step_count, attention=attention,
                                              probe_tokens=self.batch.tokens))


@pytest.fixture(scope="module")
def demo():
    task, model_cfg, train_cfg = induction_demo_configs()
    recorder = AttentionRecorder(task, task.examples(8, seed=123))
    trainer = Trainer(task, model_cfg, replace(train_cfg, until_acc=0.98), callbacks=[recorder])
    trainer.run()
    loss_steps = np.array([r["step"] for r in trainer.history])
    losses = np.array([r["loss"] for r in trainer.history])
    return trainer, recorder.snapshots, loss_steps, losses


def _smoothed(losses, k=10):
    return np.convolve(losses, np.ones(k) / k, mode="valid")  # mean of steps i .. i+k-1


@pytest.mark.slow
def test_loss_plateaus_near_guessing_then_drops_suddenly(demo):
    trainer, _, loss_steps, losses = demo
    assert trainer.evals[-1]["seq_acc"] >= 0.98
    smooth = _smoothed(losses)
    guessing = math.log(26)  # a uniform guess among the letters
    # The plateau: 40 steps in, the model is still hardly better than guessing.
    assert smooth[30] > guessing - 0.35
    # The drop: from there to almost nothing within about a hundred steps.
    below = np.flatnonzero(smooth < 0.3)
    assert below.size and below[0] - 30 <= 110


@pytest.mark.slow
def test_formation_found_in_layer_one_during_the_drop(demo):
    _, snapshots, loss_steps, losses = demo
    steps, induction = head_scores_over_time(snapshots, "induction")
    formation = detect_formation(steps, induction, loss_steps, losses)
    assert formation is not None
    assert (formation.name, formation.head) == ("decoder.1.self_attn", 0)
    assert formation.score_before < 0.2 and formation.score_after > 0.6
    assert formation.loss_before > 2.5 and formation.loss_after < 0.3
    # The head forms while the loss falls, not before the plateau or after the end.
    assert formation.loss_step is not None and abs(formation.step - formation.loss_step) <= 40
    # Layer 0 does not become an induction head; it becomes the previous-token head it needs.
    assert induction["decoder.0.self_attn"][-1, 0] < 0.3
    _, previous = head_scores_over_time(snapshots, "previous")
    assert previous["decoder.0.self_attn"][-1, 0] > previous["decoder.0.self_attn"][0, 0] + 0.25
