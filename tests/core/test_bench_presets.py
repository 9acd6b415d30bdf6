"""The benchmark's plain learner and the preset race (transformer.bench), on tiny tasks."""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from transformer.bench import PLAIN, PlainLearner, race_to_target
from transformer.evaluation import make_batches, measure
from transformer.presets import preset_configs
from transformer.tasks import get_task
from transformer.training import Trainer


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def small_task():
    return get_task("copy", length=4, n_symbols=6)


def test_the_plain_learner_is_graded_on_the_trainers_held_out_examples_as_the_trainer_grades():
    """Its accuracy is written out on its own; it must agree with the project's `measure` on the
    same model and the same held-out examples the preset's Trainer evaluates."""
    task = small_task()
    model_cfg, train_cfg = preset_configs(task, "decoder")
    trainer = Trainer(task, model_cfg, replace(train_cfg, eval_size=64, device="cpu"))
    plain = PlainLearner(task, trainer.model_cfg, seed=train_cfg.seed, eval_size=64)
    assert torch.equal(plain.val.idx, trainer.make_batch(trainer.val_examples).idx)
    plain.train(20)  # two evaluations, and a model that gets some of the answers right
    assert [step for step, _ in plain.evals] == [10, 20]
    ours = measure(plain.model, make_batches(trainer.make_batch, trainer.val_examples), trainer.autocast)
    assert plain.evaluate() == pytest.approx(ours["seq_acc"], abs=1e-6)
    plain.metric = "token_acc"
    assert plain.evaluate() == pytest.approx(ours["token_acc"], abs=1e-6)
    assert plain.step_count == 20 and plain.elapsed > 0


def test_the_plain_learner_trains_at_a_constant_rate_on_batches_of_128():
    task = small_task()
    model_cfg, _ = preset_configs(task, "decoder")
    trainer = Trainer(task, model_cfg, replace(preset_configs(task, "decoder")[1], device="cpu"))
    plain = PlainLearner(task, trainer.model_cfg)
    sizes = []
    original = plain._make_batch
    plain._make_batch = lambda examples: (sizes.append(len(examples)), original(examples))[1]
    plain.train(3)
    assert sizes == [PLAIN["batch_size"]] * 3
    assert {g["lr"] for g in plain.optimizer.param_groups} == {PLAIN["lr"]}


def test_the_race_trains_the_preset_exactly_as_trainer_run_does():
    """Taking turns must not change the preset's run: same evaluations, same stopping step."""
    task = small_task()
    overrides = {"steps": 40, "eval_size": 64}
    result = race_to_target(task, max_seconds=120.0, train_overrides=overrides)
    model_cfg, train_cfg = preset_configs(task, "decoder", stop_at_target=True)
    alone = Trainer(task, model_cfg, replace(train_cfg, device="cpu", max_seconds=120.0, **overrides))
    alone.run()
    assert result["preset"]["step"] == alone.step_count
    assert result["preset"]["acc"] == pytest.approx(alone.evals[-1]["seq_acc"], abs=1e-6)
    assert (result["preset"]["seconds"] is not None) == (alone.stop_reason == "until_acc")
    assert result["target"] == task.preset("decoder").target_acc and result["metric"] == "seq_acc"
    assert result["plain"]["step"] % PLAIN["eval_every"] == 0 and result["plain"]["step"] > 0
