"""Finite training sets, training-side metrics and early stopping in the Trainer."""
from __future__ import annotations

import pytest
import torch

from transformer.config import ModelConfig
from transformer.evaluation import make_batches, measure
from transformer.tasks import get_task
from transformer.training import TrainConfig, Trainer

TINY = ModelConfig(arch="decoder", d_model=16, n_heads=2, n_layers=1, d_ff=32)
BASE = dict(steps=20, batch_size=4, lr=3e-3, warmup=2, eval_every=10, eval_size=16, device="cpu")


def trainer(task=None, model=TINY, **train):
    return Trainer(task or get_task("reverse", length=4), model, TrainConfig(**{**BASE, **train}))


def weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_a_finite_training_set_is_all_the_trainer_ever_trains_on():
    t = trainer(train_size=12, steps=9)
    assert t.train_set == t.task.examples(12, t.cfg.seed)  # the training part, seeded
    assert all(t.task.split_of(ex) == "train" for ex in t.train_set)
    seen = []
    draw = t.next_examples
    t.next_examples = lambda: seen.append(draw()) or seen[-1]
    t.task.sample = lambda *a, **k: pytest.fail("a finite run must not draw fresh examples")
    t.run()
    assert all(len(batch) == 4 for batch in seen)
    flat = [ex for batch in seen for ex in batch]
    assert len({tuple(ex.src) for ex in t.train_set}) == 12  # no repeats, so index() names each
    ids = [t.train_set.index(ex) for ex in flat]  # every example comes from the set ...
    assert [sorted(ids[i:i + 12]) for i in range(0, 36, 12)] == [list(range(12))] * 3  # ... once per epoch
    orders = [flat[i:i + 12] for i in range(0, 36, 12)]
    assert orders[0] != orders[1]  # reshuffled every epoch
    assert t.epoch == pytest.approx(3.0)
    assert t.evals[-1]["epoch"] == pytest.approx(3.0)


def test_a_training_set_smaller_than_a_batch_is_one_batch_per_step():
    t = trainer(train_size=3, batch_size=8, steps=2)
    assert sorted(map(t.train_set.index, t.next_examples())) == [0, 1, 2]


def test_the_same_seed_gives_the_same_finite_run():
    a, b = trainer(train_size=20, steps=6, seed=5), trainer(train_size=20, steps=6, seed=5)
    assert [a.next_examples() for _ in range(8)] == [b.next_examples() for _ in range(8)]


def test_training_side_metrics_measure_the_training_examples():
    t = trainer(train_size=10, eval_size=16)
    assert t.train_eval_examples == t.train_set  # the first min(eval_size, N) of the set
    t.run()
    row = t.evals[-1]
    batches = make_batches(t.make_batch, t.train_set)
    expected = measure(t.model, batches, t.autocast)
    assert row["train_loss"] == pytest.approx(expected["loss"], rel=1e-5)
    assert row["train_seq_acc"] == pytest.approx(expected["seq_acc"])
    other = measure(t.model, make_batches(t.make_batch, t.val_examples), t.autocast)
    assert row["val_loss"] == pytest.approx(other["loss"], rel=1e-5)


def test_without_a_finite_set_the_training_sample_comes_from_the_training_part():
    t = trainer(eval_size=64)
    assert len(t.train_eval_examples) == 64
    assert all(t.task.split_of(ex) == "train" for ex in t.train_eval_examples)
    assert t.train_eval_examples != t.val_examples


def test_a_small_training_set_is_memorised_and_the_gap_shows():
    """Overfitting, measured: 16 examples learnt by heart, new ones not."""
    t = trainer(train_size=16, batch_size=16, steps=300, lr=1e-2, eval_every=100, eval_size=64,
                model=ModelConfig(arch="decoder", d_model=32, n_heads=2, n_layers=1, d_ff=64))
    t.run()
    row = t.evals[-1]
    assert row["train_seq_acc"] > 0.9
    assert row["train_loss"] < 0.5 * row["val_loss"]
    assert row["seq_acc"] < row["train_seq_acc"] - 0.3


def test_early_stopping_restores_the_weights_of_the_best_evaluation():
    t = trainer(early_stop=2, eval_every=1, steps=50)
    losses = iter([3.0, 2.0, 1.0, 1.5, 1.2, 0.5, 0.4])  # best at the third evaluation (step 2)
    real = t.evaluate
    t.evaluate = lambda: {**real(), "val_loss": next(losses)}
    kept = {}

    class Keep:
        def on_eval(self, trainer, row):
            kept[row["step"]] = weights(trainer.model)

    t.callbacks.append(Keep())
    t.run()
    assert t.stop_reason == "early_stop"
    assert t.step_count == 4 and t.best_step == 2
    assert t.early.best_row["val_loss"] == 1.0
    now = weights(t.model)
    assert all(torch.equal(now[k], kept[2][k]) for k in now)
    assert not all(torch.equal(now[k], kept[4][k]) for k in now)  # training had moved on
    message = t.stop_message()
    assert "step 4" in message and "step 2" in message and "2 evaluations" in message
    t.run()  # asking again trains nothing more
    assert t.step_count == 4


def test_without_early_stopping_a_worse_loss_trains_on():
    t = trainer(eval_every=1, steps=5)
    t.run()
    assert t.stop_reason == "steps" and t.best_step is None and t.stop_message() == "Trained all 5 steps."


@pytest.mark.parametrize("field, value, words", [
    ("train_size", 0, "training-set size"), ("train_size", 2.5, "training-set size"),
    ("train_size", 10**7, "100,000"), ("early_stop", 0, "patience"), ("early_stop", True, "patience"),
    ("init_from", "", "path of a checkpoint"), ("freeze_body", "yes", "True or False"),
])
def test_bad_settings_are_refused_with_a_sentence(field, value, words):
    with pytest.raises(ValueError, match=words):
        TrainConfig(**{field: value}).validate()
