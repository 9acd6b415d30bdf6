"""Presets trained once per server: shared while training, reused from memory and from disk."""
import os
import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from transformer.config import ModelConfig
from transformer.runs.limiter import RunLimiter
from transformer.runs.preset_cache import PresetCache, preset_key
from transformer.tasks import get_task
from transformer.training import TrainConfig

TINY = ModelConfig(arch="decoder", d_model=16, n_heads=2, n_layers=1, d_ff=32, pos_encoding="learned")
TRAIN = TrainConfig(steps=30, batch_size=8, eval_every=10, eval_size=16, device="cpu", warmup=2, threads=1)
SNAPS = dict(snapshot_every=5, snapshot_min_s=0, snapshot_budget=0)


def wait_for(condition, what, timeout=90.0):
    """Poll until condition() is true; the timeout only guards against a hang."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def caches(tmp_path):
    made = []

    def make(folder=tmp_path / "presets", max_bytes=None):
        cache = PresetCache(folder, max_bytes=max_bytes, limiter=RunLimiter(2))
        made.append(cache)
        return cache

    yield make
    for cache in made:  # nothing left training
        for run in list(cache._runs.values()):
            assert run.stop(timeout=30)


def open_preset(cache, seed=0, train=TRAIN):
    return cache.open(get_task("reverse", length=4), TINY, replace(train, seed=seed), **SNAPS)


def finished(view):
    wait_for(lambda: view.status == "finished", "the preset to finish")
    wait_for(lambda: view.key in view._cache.on_disk() or view._cache.max_bytes < 1, "its file", timeout=30)
    return view


def test_a_finished_preset_is_reused_by_another_session_without_training(caches):
    cache = caches()
    first = finished(open_preset(cache))
    second = open_preset(cache)
    assert cache.started == 1
    assert second.status == "finished"
    assert second.snapshots == first.snapshots and second.history == first.history
    assert second.progress["step"] == first.progress["step"] > 0


def test_a_changed_setting_trains_its_own_model(caches):
    cache = caches()
    finished(open_preset(cache))
    other = finished(open_preset(cache, seed=1))
    assert cache.started == 2
    assert other.key != open_preset(cache).key


def test_from_disk_after_a_restart_with_history_and_snapshots(caches):
    before = finished(open_preset(caches()))
    restarted = caches()  # a new server process over the same folder
    after = open_preset(restarted)
    assert restarted.started == 0 and restarted.loaded == 1
    assert after.status == "finished"
    assert after.history == before.history and after.evals == before.evals
    old, new = before.snapshots, after.snapshots
    assert [s.step for s in new] == [s.step for s in old] and len(new) >= 3  # the film has its frames
    for a, b in zip(old, new):
        assert a.metrics == b.metrics and a.answers == b.answers and a.probe_tokens == b.probe_tokens
        for name in a.attention:
            np.testing.assert_allclose(b.attention[name], a.attention[name], atol=0)
            assert not b.attention[name].flags.writeable  # read-only, as every reader expects
        np.testing.assert_allclose(b.embeddings, a.embeddings, atol=0)
    model_old, model_new = before.model_copy(), after.model_copy()
    for (name, p), q in zip(model_old.state_dict().items(), model_new.state_dict().values()):
        assert torch.equal(p, q), name


def test_two_sessions_asking_at_once_share_one_run_and_both_watch_it(caches):
    cache = caches()
    a, b = open_preset(cache, train=replace(TRAIN, steps=400)), open_preset(cache, train=replace(TRAIN, steps=400))
    assert a.shared is b.shared and cache.started == 1
    wait_for(lambda: a.progress["step"] > 0, "training")
    assert b.progress["step"] > 0
    a.pause()  # two viewers: neither may pause the other's model
    time.sleep(0.2)
    assert b.status == "training"
    assert a.stop(timeout=10)  # one leaves: the other's run goes on
    assert a.status == "stopped" and b.status in ("training", "finished")
    wait_for(lambda: b.status == "finished", "the shared run to finish")
    assert cache.started == 1


def test_the_last_viewer_leaving_stops_the_run_and_it_is_not_kept(caches):
    cache = caches()
    view = open_preset(cache, train=replace(TRAIN, steps=100_000))
    wait_for(lambda: view.progress["step"] > 0, "training")
    assert view.stop(timeout=30)
    assert view.status == "stopped"
    assert cache.on_disk() == []
    again = open_preset(cache, train=replace(TRAIN, steps=100_000))
    assert again.shared is not view.shared and cache.started == 2
    again.stop(timeout=30)


def test_the_cache_evicts_the_least_recently_used_at_its_limit(caches, tmp_path):
    probe = caches(folder=tmp_path / "probe")
    size = os.path.getsize(probe._path(finished(open_preset(probe)).key))
    cache = caches(max_bytes=int(1.5 * size))  # room for one file, not two
    first = finished(open_preset(cache, seed=0))
    second = finished(open_preset(cache, seed=1))
    assert cache.on_disk() == [second.key]
    wait_for(lambda: first.key not in cache._runs, "memory to let the older preset go")
    assert second.key in cache._runs
    assert first.status == "finished" and first.snapshots  # a session viewing it keeps it
    again = open_preset(cache, seed=0)  # evicted: trained anew
    assert cache.started == 3
    again.stop(timeout=30)


def test_a_torn_file_is_trained_again_not_served(caches, tmp_path):
    cache = caches()
    key = preset_key(get_task("reverse", length=4), TINY, TRAIN, SNAPS)
    cache.folder.mkdir(parents=True, exist_ok=True)
    cache._path(key).write_bytes(b"not a torch file")
    view = open_preset(cache)
    assert cache.loaded == 0 and cache.started == 1
    finished(view)
    assert cache.on_disk() == [key]


def test_warm_up_trains_one_at_a_time_and_yields_to_a_sessions_run(caches):
    cache = caches()
    session_run = object()
    assert cache.limiter.acquire(session_run)  # a session's run holds a slot of the server
    long = replace(TRAIN, steps=1000)
    thread = cache.warm_up([lambda: open_preset(cache, seed=0, train=long),
                            lambda: open_preset(cache, seed=1, train=long)], poll_s=0.02)
    wait_for(lambda: cache.started == 1 and next(iter(cache._runs.values())).status == "paused",
             "the warm-up run to yield")
    time.sleep(0.3)
    assert cache.started == 1  # one at a time: the second waits for the first
    cache.limiter.release(session_run)
    thread.join(timeout=180)
    assert not thread.is_alive()
    assert cache.started == 2
    wait_for(lambda: len(cache.on_disk()) == 2, "both presets on disk", timeout=30)
    assert open_preset(cache, seed=1, train=long).status == "finished"
