"""The training loop: schedules, seeding, divergence handling, accuracy, stopping rules, devices."""
import math

import pytest
import torch

from transformer.config import ModelConfig
from transformer.devices import cuda_available, device_name, mps_available, resolve_device
from transformer.tasks import IGNORE_INDEX, get_task
from transformer.training import (
    COSINE_FLOOR,
    TrainConfig,
    Trainer,
    TrainingDiverged,
    initial_model,
    lr_at,
    lr_curve,
    param_groups,
)
from transformer.metrics import answer_accuracy
from transformer.presets import preset_configs

TINY = ModelConfig(arch="decoder", d_model=16, n_heads=2, n_layers=1, d_ff=32)


def tiny_trainer(**train):
    cfg = TrainConfig(**{**dict(steps=20, batch_size=8, lr=3e-3, warmup=2, eval_every=10, eval_size=16, device="cpu"), **train})
    return Trainer(get_task("reverse", length=4), TINY, cfg)


def weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ----------------------------------------------------------------------------- schedules


def test_warmup_ramps_linearly_to_the_peak():
    cfg = TrainConfig(steps=100, lr=0.01, warmup=10, schedule="cosine")
    ramp = [lr_at(s, cfg) for s in range(1, 11)]
    assert ramp == pytest.approx([0.01 * s / 10 for s in range(1, 11)])
    assert all(a < b for a, b in zip(ramp, ramp[1:]))


def test_cosine_decays_monotonically_to_the_floor():
    cfg = TrainConfig(steps=100, lr=0.01, warmup=10, schedule="cosine")
    decay = [lr_at(s, cfg) for s in range(10, 101)]
    assert all(a >= b for a, b in zip(decay, decay[1:]))
    assert lr_at(100, cfg) == pytest.approx(COSINE_FLOOR * 0.01)
    assert lr_at(55, cfg) == pytest.approx(0.01 * (COSINE_FLOOR + (1 - COSINE_FLOOR) / 2))  # half way


def test_inverse_sqrt_is_the_papers_formula():
    cfg = TrainConfig(steps=1000, lr=0.002, warmup=40, schedule="inverse_sqrt")
    for step in (1, 7, 40, 41, 100, 999):
        assert lr_at(step, cfg) == pytest.approx(0.002 * min(step / 40, math.sqrt(40 / step)))
    assert max(lr_at(s, cfg) for s in range(1, 1000)) == pytest.approx(0.002)


def test_constant_schedule_after_warmup_and_curve_for_plotting():
    cfg = TrainConfig(steps=50, lr=0.005, warmup=5, schedule="constant")
    assert [lr_at(s, cfg) for s in (5, 6, 50)] == pytest.approx([0.005] * 3)
    steps, lrs = lr_curve(cfg, points=10)
    assert steps[0] == 1 and steps[-1] == 50 and len(steps) == len(lrs)
    assert lrs == pytest.approx([lr_at(s, cfg) for s in steps])


@pytest.mark.parametrize("bad", [dict(lr=0), dict(lr=float("nan")), dict(steps=0), dict(batch_size=5000),
                                 dict(schedule="linear"), dict(until_acc=1.5), dict(until_metric="loss"), dict(amp="fp16"), dict(warmup=-1)])
def test_bad_train_config_is_one_sentence(bad):
    with pytest.raises(ValueError) as err:
        TrainConfig(**bad).validate()
    assert str(err.value).endswith(".") and "\n" not in str(err.value)


def test_architecture_the_task_does_not_support_is_refused():
    with pytest.raises(ValueError, match="charlm"):
        Trainer(get_task("charlm"), ModelConfig(arch="encoder-decoder"), TrainConfig(device="cpu"))


def test_preset_configs_follow_the_task():
    task = get_task("reverse", length=4)
    model_cfg, train_cfg = preset_configs(task, "decoder")
    preset = task.preset("decoder")
    assert model_cfg.arch == "decoder" and model_cfg.d_model == preset.model["d_model"]
    assert train_cfg.steps == preset.train["steps"] and train_cfg.lr == preset.train["lr"]


# ----------------------------------------------------------------------------- the trainer


def test_trainer_fills_vocab_and_length_from_the_task():
    trainer = tiny_trainer()
    task = trainer.task
    assert trainer.model_cfg.vocab_size == len(task.vocab)
    assert trainer.model_cfg.max_len == task.max_len("lm")
    assert not trainer.use_amp  # bf16 autocast is never used on a CPU


def test_bf16_on_cpu_is_refused():
    with pytest.raises(ValueError, match="CUDA"):
        tiny_trainer(amp="bf16")


def test_same_seed_same_losses_other_seed_differs():
    def losses(seed):
        trainer = tiny_trainer(seed=seed)
        return [trainer.train_step()["loss"] for _ in range(4)]

    assert losses(3) == losses(3)
    assert losses(3) != losses(4)


def test_weight_decay_only_on_matrices():
    trainer = tiny_trainer()
    decay, keep = param_groups(trainer.model, 0.1)
    decayed = {id(p) for p in decay["params"]}
    for name, p in trainer.model.named_parameters():
        if "emb" in name or p.dim() < 2 or "ln" in name or "norm" in name:
            assert id(p) not in decayed, name
    assert decayed and all(p.dim() == 2 for p in decay["params"])
    assert len(decay["params"]) + len(keep["params"]) == len(list(trainer.model.parameters()))


def test_huge_learning_rate_diverges_with_last_good_weights_kept():
    trainer = tiny_trainer(lr=1e6, warmup=0, grad_clip=0, steps=50)
    before = None
    with pytest.raises(TrainingDiverged) as err:
        for _ in range(50):
            before = weights(trainer.model)
            trainer.train_step()
    assert same_weights(weights(trainer.model), before)
    message = str(err.value)
    assert f"step {err.value.step}" in message and "learning rate" in message and "try" in message
    assert trainer.step_count == err.value.step - 1


def test_injected_nan_loss_raises_before_the_optimizer_moves(monkeypatch):
    trainer = tiny_trainer()
    trainer.train_step()
    before = weights(trainer.model)
    forward = trainer.model.forward

    def nan_forward(*args):
        logits, loss = forward(*args)
        return logits, loss * float("nan")

    monkeypatch.setattr(trainer.model, "forward", nan_forward)
    with pytest.raises(TrainingDiverged, match="loss became NaN at step 2"):
        trainer.train_step()
    assert same_weights(weights(trainer.model), before)
    assert trainer.step_count == 1 and len(trainer.history) == 1


def test_infinite_gradient_is_caught_too():
    trainer = tiny_trainer()
    before = weights(trainer.model)
    trainer.model.lm_head.weight.register_hook(lambda g: g * float("inf"))
    with pytest.raises(TrainingDiverged, match="gradient norm"):
        trainer.train_step()
    assert same_weights(weights(trainer.model), before)


def test_accuracy_counts_only_answer_tokens():
    V = 5
    targets = torch.tensor([
        [IGNORE_INDEX, 2, 3, IGNORE_INDEX],  # both answer tokens right
        [IGNORE_INDEX, 1, 4, 0],  # 2 of 3 right
        [IGNORE_INDEX] * 4,  # nothing asked: not a row
    ])
    predicted = torch.tensor([
        [0, 2, 3, 1],  # the wrong prediction at an ignored position does not count
        [4, 1, 4, 3],
        [0, 0, 0, 0],
    ])
    logits = torch.nn.functional.one_hot(predicted, V).float()  # (B, T, V), argmax = predicted
    counts = answer_accuracy(logits, targets)
    assert counts == {"tokens_correct": 4, "tokens": 5, "seqs_correct": 1, "seqs": 2}


def test_run_evaluates_at_start_every_n_and_at_the_end_with_callbacks():
    seen = {"step": 0, "eval": []}

    class Counter:
        def on_step(self, trainer, row):
            seen["step"] += 1

        def on_eval(self, trainer, row):
            seen["eval"].append(row["step"])

    trainer = tiny_trainer(steps=25, eval_every=10)
    trainer.callbacks.append(Counter())
    history = trainer.run()
    assert len(history) == 25 and seen["step"] == 25
    assert seen["eval"] == [0, 10, 20, 25] == [r["step"] for r in trainer.evals]
    row = trainer.evals[-1]
    assert {"step", "loss", "val_loss", "token_acc", "seq_acc", "lr", "elapsed_s", "tokens_per_s"} <= row.keys()
    assert 0 <= row["token_acc"] <= 1 and 0 <= row["seq_acc"] <= row["token_acc"] + 1e-9
    assert trainer.stop_reason == "steps"


def test_stop_rules_max_seconds_and_should_stop():
    trainer = tiny_trainer(steps=1000, max_seconds=1e-6)
    trainer.run()
    assert trainer.stop_reason == "max_seconds" and trainer.step_count < 1000

    trainer = tiny_trainer(steps=1000)
    trainer.run(should_stop=lambda: trainer.step_count >= 3)
    assert trainer.stop_reason == "stopped" and trainer.step_count == 3


def test_until_acc_stops_once_reached(monkeypatch):
    trainer = tiny_trainer(steps=1000, eval_every=5, until_acc=0.5)
    fake = iter([0.1, 0.2, 0.6, 0.9])
    monkeypatch.setattr(trainer, "evaluate", lambda: {"val_loss": 1.0, "token_acc": 0.7, "seq_acc": next(fake)})
    trainer.run()
    assert trainer.stop_reason == "until_acc" and trainer.step_count == 10


def test_until_acc_reads_the_metric_it_is_told(monkeypatch):
    # A text task's sequences are never all right: its presets stop on token accuracy.
    trainer = tiny_trainer(steps=1000, eval_every=5, until_acc=0.5, until_metric="token_acc")
    fake = iter([0.1, 0.2, 0.6, 0.9])
    monkeypatch.setattr(trainer, "evaluate", lambda: {"val_loss": 1.0, "token_acc": next(fake), "seq_acc": 0.0})
    trainer.run()
    assert trainer.stop_reason == "until_acc" and trainer.step_count == 10


def test_seq2seq_and_classifier_train_and_evaluate():
    for task, arch in ((get_task("reverse", length=4), "encoder-decoder"), (get_task("parity", length=4), "encoder")):
        cfg = TrainConfig(steps=2, batch_size=4, eval_size=8, device="cpu", warmup=1)
        trainer = Trainer(task, ModelConfig(arch=arch, d_model=16, n_heads=2, n_layers=1, d_ff=32), cfg)
        trainer.run()
        assert trainer.step_count == 2 and math.isfinite(trainer.evals[-1]["val_loss"])


# ----------------------------------------------------------------------------- devices


def test_devices():
    assert resolve_device("cpu").type == "cpu"
    expected = "cuda" if cuda_available() else ("mps" if mps_available() else "cpu")
    assert resolve_device("auto").type == expected
    assert device_name("cpu").startswith("CPU (")
    with pytest.raises(ValueError, match="choose one of"):
        resolve_device("tpu")
    if not cuda_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            resolve_device("cuda")


def test_initial_model_is_the_trainers_start_and_leaves_the_global_generator_alone():
    trainer = tiny_trainer(seed=5)
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    model = initial_model(trainer.model_cfg, seed=5)
    assert same_weights(weights(model), weights(trainer.model))
    assert torch.equal(torch.rand(3), expected_next)  # the generator was not moved
