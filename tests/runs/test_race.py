"""RaceRun: several models, one thread, least compute first, clean stop."""
import time

import pytest

from transformer.config import ModelConfig
from transformer.runs.limiter import RunLimiter
from transformer.runs.race import RaceEntry, RaceRun
from transformer.tasks import get_task
from transformer.training import TrainConfig, TrainingDiverged

TINY = {
    "Transformer": dict(arch="decoder", d_model=16, n_heads=2, n_layers=1, d_ff=32),
    "LSTM": dict(arch="lstm", d_model=16, n_layers=1),
}


def tiny_race(steps=6, test_lengths=(), **train):
    task = get_task("reverse", length=3, min_length=1, n_symbols=4)
    entries = [RaceEntry(name, task, ModelConfig(**cfg)) for name, cfg in TINY.items()]
    cfg = TrainConfig(steps=steps, batch_size=8, eval_every=3, eval_size=16, warmup=1, device="cpu", threads=1,
                      **train)
    return RaceRun(entries, cfg, test_lengths=test_lengths, test_examples=16, limiter=RunLimiter(1))


def wait_until(predicate, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_race_trains_every_model_on_the_same_data_and_tests_lengths():
    race = tiny_race(test_lengths=(3, 6))
    a, b = race.trainers.values()
    assert a.val_examples == b.val_examples       # same seed: same data for every model
    race.start()
    assert race.join(120)
    assert race.status == "finished", race.message
    assert race.model_status == {"Transformer": "finished", "LSTM": "finished"}
    for name, rows in race.evals.items():
        assert [r["step"] for r in rows] == [0, 3, 6]
        train_s = [r["train_s"] for r in rows]
        assert train_s[0] == 0 and train_s == sorted(train_s)
        assert len(race.losses[name]) == 6
        lengths = race.length_results[name]
        assert [r["length"] for r in lengths] == [3, 6]
        assert all(0 <= r["seq_acc"] <= 1 for r in lengths)
    assert race.parameters["LSTM"] > 0 and race.progress["LSTM"]["step"] == 6


def test_model_copy_has_the_weights_of_the_last_evaluation():
    race = tiny_race(steps=3)
    race.start()
    assert race.join(120)
    copy = race.model_copy("LSTM")
    live = race.trainers["LSTM"].model.state_dict()
    assert not copy.training
    assert all((copy.state_dict()[k] == v).all() for k, v in live.items())
    with pytest.raises(ValueError, match="No model named"):
        race.model_copy("GRU")


def fake_steps(race, seconds_per_step, order):
    """Replace each trainer's step by one that costs a fixed, known number of seconds."""
    for name, trainer in race.trainers.items():
        def step(trainer=trainer, name=name):
            trainer.step_count += 1
            trainer.elapsed += seconds_per_step[name]
            order.append((name, trainer.step_count))
            return {"step": trainer.step_count, "loss": 1.0, "step_s": seconds_per_step[name]}
        trainer.train_step = step


def test_the_model_with_least_compute_goes_next():
    race = tiny_race(steps=10)
    order = []
    fake_steps(race, {"Transformer": 1.0, "LSTM": 0.5}, order)
    race.start()
    assert race.join(120)
    assert race.status == "finished"
    # While both race, the LSTM (half the cost per step) takes two steps for each of the other's.
    first = order[:9]
    assert sum(n == "LSTM" for n, _ in first) == 6
    assert sum(n == "Transformer" for n, _ in first) == 3
    assert race.progress["Transformer"]["step"] == race.progress["LSTM"]["step"] == 10


def test_a_diverging_model_fails_alone():
    race = tiny_race(steps=3)

    def diverge():
        raise TrainingDiverged("The loss became NaN at step 1.", 1)

    race.trainers["Transformer"].train_step = diverge
    race.start()
    assert race.join(120)
    assert race.model_status == {"Transformer": "failed", "LSTM": "finished"}
    assert "NaN" in race.model_messages["Transformer"]
    assert race.status == "finished"


def test_pause_single_step_and_stop_leave_no_thread():
    race = tiny_race(steps=10_000)
    race.start()
    race.pause()
    assert wait_until(lambda: race.status == "paused")
    before = sum(p["step"] for p in race.progress.values())
    race.step_once()
    assert wait_until(lambda: sum(p["step"] for p in race.progress.values()) == before + 1)
    time.sleep(0.2)
    assert sum(p["step"] for p in race.progress.values()) == before + 1
    race.resume()
    assert wait_until(lambda: sum(p["step"] for p in race.progress.values()) > before + 3)
    assert race.stop(timeout=30)
    assert not race.alive and race.status == "stopped"
    assert set(race.model_status.values()) == {"stopped"}
    assert race.length_results == {}


def test_stop_while_queued():
    limiter = RunLimiter(1)
    limiter.acquire("someone else")
    race = tiny_race()
    race.limiter = limiter
    race.start()
    assert wait_until(lambda: race.queue_position == 1)
    assert race.stop(timeout=10)
    assert race.status == "stopped"


def test_bad_races_are_refused():
    task = get_task("reverse", length=3)
    with pytest.raises(ValueError, match="at least one model"):
        RaceRun([], TrainConfig(device="cpu"))
    twice = [RaceEntry("LSTM", task, ModelConfig(arch="lstm", d_model=8))] * 2
    with pytest.raises(ValueError, match="same name"):
        RaceRun(twice, TrainConfig(device="cpu"))
    big = [RaceEntry("Big LSTM", task, ModelConfig(arch="lstm", d_model=512, n_layers=2))]
    with pytest.raises(ValueError, match=r"Big LSTM has [\d,]+ parameters; this machine's limit is 1,000,000"):
        RaceRun(big, TrainConfig(device="cpu"))
