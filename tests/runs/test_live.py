"""The background run: controls from another thread, snapshots, the run limiter, failures."""
import math
import threading
import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from transformer.config import ModelConfig
from transformer.runs.limiter import RunLimiter, max_concurrent_runs, threads_per_run
from transformer.runs.live import LiveRun, _thin
from transformer.tasks import get_task, make_batch
from transformer.training import TrainConfig

TINY = ModelConfig(arch="decoder", d_model=16, n_heads=2, n_layers=1, d_ff=32, pos_encoding="learned")


def wait_for(condition, what, timeout=60.0):
    """Poll until condition() is true; the timeout only guards against a hang."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


@pytest.fixture
def make_run():
    runs = []

    def make(steps=10_000, limiter=None, model=TINY, **kw):
        train = dict(steps=steps, batch_size=8, eval_every=10, eval_size=16, device="cpu", warmup=2, threads=1)
        train.update(kw.pop("train", {}))
        run = LiveRun(get_task("reverse", length=4), model, TrainConfig(**train),
                      limiter=limiter or RunLimiter(1), snapshot_min_s=0, snapshot_budget=0, **kw)
        runs.append(run)
        return run

    yield make
    for run in runs:
        assert run.stop(timeout=30), "a run's thread did not end"


def test_pause_step_resume_stop_from_another_thread(make_run):
    run = make_run(snapshot_every=5)
    assert run.status == "idle" and run.latest() is None
    run.start()
    wait_for(lambda: run.progress["step"] > 0, "the first step")
    run.pause()
    # Once paused the thread publishes a snapshot of the current weights and waits.
    wait_for(lambda: run.status == "paused" and run.latest().step == run.progress["step"], "the pause")
    paused_at = run.progress["step"]
    run.step_once()
    wait_for(lambda: run.latest().step == paused_at + 1, "one single step")
    time.sleep(0.1)
    assert run.progress["step"] == paused_at + 1 and run.status == "paused"
    run.resume()
    wait_for(lambda: run.progress["step"] > paused_at + 2, "training to go on")
    assert run.status == "training"
    assert run.stop(timeout=30)
    assert run.status == "stopped" and not run.alive
    assert not [t for t in threading.enumerate() if t.name == "tlab-live-run"]


def test_a_finished_run_publishes_rows_and_snapshots(make_run):
    run = make_run(steps=12, snapshot_every=5)
    run.start()
    assert run.join(timeout=60)
    assert run.status == "finished" and run.message == ""
    assert [r["step"] for r in run.history] == list(range(1, 13))
    assert {"loss", "lr", "grad_norm", "tokens_per_s"} <= run.history[0].keys()
    assert [r["step"] for r in run.evals] == [0, 10, 12]
    snaps = run.snapshots
    assert [s.step for s in snaps] == [0, 5, 10, 12]
    last = snaps[-1]
    assert last.metrics["step"] == 12 and "train_loss" in last.metrics
    B, T = 4, len(last.probe_tokens[0])
    assert set(last.attention) == {"decoder.0.self_attn"}
    assert last.attention["decoder.0.self_attn"].shape == (B, TINY.n_heads, T, T)
    assert last.embeddings.shape == (len(run.task.vocab), TINY.d_model) and last.pos_table is not None
    assert not last.embeddings.flags.writeable  # shared between threads: read-only
    assert len(last.answers) == 4
    answer = last.answers[0]
    assert {"input", "expected", "predicted", "correct", "token_correct"} <= answer.keys()
    assert len(answer["token_correct"]) == len(answer["predicted_tokens"])
    assert run.progress["step"] == 12 and run.progress["eta_s"] == 0.0


def test_a_snapshot_carries_the_evaluation_of_its_own_step(make_run):
    # Snapshots every 5 steps (no time spacing: snapshot_min_s=0, snapshot_budget=0), evaluations
    # every 10: the snapshots of steps 10 and 20 must carry the evaluations of steps 10 and 20, not
    # the one before (they were taken before their step's evaluation was filed).
    run = make_run(steps=20, snapshot_every=5)
    run.start()
    assert run.join(timeout=60) and run.status == "finished"
    assert [r["step"] for r in run.evals] == [0, 10, 20]
    snaps = run.snapshots
    assert [s.step for s in snaps] == [0, 5, 10, 15, 20]
    # Each snapshot: the newest evaluation at or before its step.
    assert [s.metrics["step"] for s in snaps] == [0, 0, 10, 10, 20]
    by_step = {e["step"]: e for e in run.evals}
    for snap in snaps:
        assert snap.metrics["seq_acc"] == pytest.approx(by_step[snap.metrics["step"]]["seq_acc"], abs=1e-12)


def test_model_copy_has_the_snapshot_weights(make_run):
    run = make_run(steps=6, snapshot_every=3)
    run.start()
    run.join(timeout=60)
    first, last = run.snapshots[0], run.latest()
    batch = make_batch(run.task, run.task.examples(3, seed=5), "lm")
    copy = run.model_copy()
    assert not copy.training
    with torch.no_grad():
        a = copy(batch.idx)[0]
        b = run.model_copy(first)(batch.idx)[0]
    torch.testing.assert_close(copy.state_dict()["tok_emb.weight"], last.state_dict["tok_emb.weight"])
    assert not torch.allclose(a, b)  # training changed the model between the first and last snapshot


def test_limiter_queues_runs_in_order(make_run):
    limiter = RunLimiter(1)
    a, b, c = (make_run(limiter=limiter) for _ in range(3))
    a.start()
    a.pause()
    wait_for(lambda: a.status == "paused", "a to hold the slot")
    b.start()
    c.start()
    wait_for(lambda: b.queue_position == 1 and c.queue_position == 2, "b and c to queue")
    assert b.status == c.status == "queued" and b.progress["step"] == 0
    assert a.stop(timeout=30)
    wait_for(lambda: b.status == "training", "b to take the freed slot")
    assert c.status == "queued" and c.queue_position == 1
    assert c.stop(timeout=30)  # a queued run stops without ever training
    assert c.status == "stopped" and c.history == []
    assert b.stop(timeout=30) and b.status == "stopped"


def test_stop_before_start_and_step_once_from_idle(make_run):
    idle = make_run()
    assert idle.stop(timeout=5) and idle.status == "stopped"
    idle.start()
    assert idle.status == "stopped" and not idle.alive

    demo = make_run(snapshot_every=100)
    demo.step_once()  # starts the run paused and takes exactly one step
    wait_for(lambda: demo.latest() is not None and demo.latest().step == 1, "the single step")
    assert demo.status == "paused"


def test_divergence_fails_the_run_and_keeps_good_weights(make_run):
    run = make_run(steps=500, train=dict(lr=1e6, warmup=0, grad_clip=0))
    run.start()
    assert run.join(timeout=60)
    assert run.status == "failed"
    assert "learning rate" in run.message and "is kept" in run.message
    last = run.latest()
    assert all(torch.isfinite(v).all() for v in last.state_dict.values() if v.is_floating_point())
    assert all(torch.isfinite(p).all() for p in run.model_copy().parameters())
    assert last.step == run.progress["step"]


def test_bad_configuration_raises_at_construction():
    with pytest.raises(ValueError, match="divisible"):
        LiveRun(get_task("reverse", length=4), ModelConfig(d_model=16, n_heads=3), TrainConfig(device="cpu"))


def test_run_limits_from_the_environment(monkeypatch):
    monkeypatch.setenv("TLAB_MAX_RUNS", "3")
    assert max_concurrent_runs() == 3
    assert threads_per_run(1) >= threads_per_run(3) >= 1
    monkeypatch.setenv("TLAB_MAX_RUNS", "many")
    assert max_concurrent_runs() >= 1
    with pytest.raises(ValueError):
        RunLimiter(0)


def test_thinning_keeps_the_ends_and_spreads_the_rest():
    items = list(range(11))
    thinned = _thin(items)
    assert thinned[0] == 0 and thinned[-1] == 10 and len(thinned) < len(items)
    gaps = np.diff(thinned)
    assert gaps.max() <= 2


def test_snapshot_history_is_capped(make_run):
    run = make_run(steps=40, snapshot_every=1, max_snapshots=8)
    run.start()
    run.join(timeout=60)
    steps = [s.step for s in run.snapshots]
    assert len(steps) <= 8 and steps[0] == 0 and steps[-1] == 40
    assert steps == sorted(steps) and math.isfinite(run.evals[-1]["val_loss"])


@pytest.mark.parametrize("task_name, arch", [("dates", "encoder-decoder"), ("recall", "lstm"), ("charlm", "decoder")])
def test_snapshots_of_other_model_families(task_name, arch):
    from transformer.runs.snapshot import take_snapshot
    from transformer.training import Trainer

    task = get_task(task_name, **({"length": 16} if task_name == "charlm" else {}))
    cfg = ModelConfig(arch=arch, d_model=16, n_heads=2, n_layers=1, d_ff=32)
    trainer = Trainer(task, cfg, TrainConfig(steps=1, batch_size=4, eval_size=4, device="cpu", threads=1))
    snap = take_snapshot(trainer, trainer.val_examples[:2])
    assert all(a.ndim == 4 and a.shape[0] == 2 for a in snap.attention.values())
    assert len(snap.answers) == 2 and snap.seconds > 0
    if arch == "encoder-decoder":
        assert snap.attention["decoder.0.cross_attn"].shape[2:] == (len(snap.probe_tgt_tokens[0]), len(snap.probe_tokens[0]))
    if arch == "lstm":
        assert snap.attention == {} and snap.activations["rnn.hidden"].shape[:2] == (2, len(snap.probe_tokens[0]))
    if task_name == "charlm":  # a language model continues half a window of its text
        assert 0 < len(snap.answers[0]["expected_tokens"]) and len(snap.answers[0]["predicted_tokens"]) <= 16


def test_runs_train_in_their_own_process_so_dropout_runs_at_the_same_time_agree(make_run):
    # Each process has its own random generator: two runs with dropout and one seed, trained
    # side by side, end with the same weights (threads shared one generator and did not).
    limiter = RunLimiter(2)
    model = replace(TINY, dropout=0.3)
    a, b = (make_run(steps=30, limiter=limiter, model=model, train=dict(seed=3)) for _ in range(2))
    a.start(), b.start()
    assert a.join(timeout=120) and b.join(timeout=120)
    assert a.status == b.status == "finished"
    for name, value in a.latest().state_dict.items():
        torch.testing.assert_close(value, b.latest().state_dict[name], rtol=0, atol=0)


def test_a_training_process_that_dies_fails_the_run_with_a_sentence(make_run):
    import multiprocessing

    run = make_run()
    run.start()
    wait_for(lambda: run.progress["step"] > 0, "the first step")
    children = [p for p in multiprocessing.active_children() if p.name == "tlab-training"]
    assert len(children) == 1
    children[0].kill()
    assert run.join(timeout=30)
    assert run.status == "failed" and "ended unexpectedly" in run.message
    assert run.latest() is not None and run.model_copy() is not None  # what it had published stays
