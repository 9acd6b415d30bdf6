"""The snapshot history's memory budget: per run, across runs, and what the pages need kept."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from transformer.config import ModelConfig
from transformer.runs.history import HistoryBudget, bound_history, history_bytes, run_budget_bytes
from transformer.runs.limiter import RunLimiter
from transformer.runs.live import LiveRun
from transformer.runs.snapshot import Snapshot, model_from_snapshot
from transformer.tasks import get_task
from transformer.training import TrainConfig

KB = 1024


def fake_snapshot(step: int, weight_kb: int = 100, map_kb: int = 4) -> Snapshot:
    """A snapshot with `weight_kb` of weights and `map_kb` of attention maps and embeddings."""
    maps = np.zeros(map_kb * KB // 4 // 2, dtype=np.float32)
    return Snapshot(step=step, elapsed_s=float(step), metrics={}, attention={"decoder.0.self_attn": maps},
                    probe_tokens=[], embeddings=maps.copy(), pos_table=None, answers=[],
                    state_dict={"w": torch.zeros(weight_kb * KB // 4)})


def steps_of(snaps, weighted=None):
    return [s.step for s in snaps if weighted is None or s.has_weights == weighted]


def test_sizes_count_weights_and_maps():
    snap = fake_snapshot(0, weight_kb=100, map_kb=4)
    assert snap.nbytes == 104 * KB and snap.weight_bytes == 100 * KB
    assert history_bytes([snap, snap]) == 108 * KB  # the newest weights are the model, not history
    light = snap.without_weights()
    assert light.nbytes == 4 * KB and not light.has_weights and snap.has_weights
    assert light.attention is snap.attention  # the maps are shared, not copied
    with pytest.raises(ValueError, match="let go"):
        model_from_snapshot(light, ModelConfig())


def test_over_budget_the_middle_lets_its_weights_go_first_evenly():
    snaps = [fake_snapshot(10 * i) for i in range(40)]           # 40 x 104 KB - 100 KB = 4060 KB
    kept = bound_history(snaps, 1000 * KB)
    assert history_bytes(kept) <= 1000 * KB
    assert steps_of(kept) == steps_of(snaps)                    # every map and table is kept
    with_weights = steps_of(kept, weighted=True)
    assert with_weights[0] == 0 and with_weights[-1] == 390      # the first and the newest keep weights
    assert len(with_weights) >= 5
    gaps = np.diff(with_weights)
    assert gaps.max() <= 2 * gaps.min() + 10, with_weights      # spread over the run, not bunched
    assert snaps[5].has_weights                                  # the caller's list is not changed


def test_maps_alone_over_budget_drop_whole_snapshots_but_keep_the_ends():
    snaps = [fake_snapshot(i, weight_kb=100, map_kb=20) for i in range(50)]
    kept = bound_history(snaps, 400 * KB)
    assert history_bytes(kept) <= 400 * KB
    assert kept[0].step == 0 and kept[-1].step == 49 and kept[-1].has_weights
    assert steps_of(kept, weighted=True) == [49]
    assert 3 <= len(kept) < 50


def test_the_newest_weights_stay_and_the_maps_too_when_those_weights_exceed_the_budget():
    kept = bound_history([fake_snapshot(i, weight_kb=500) for i in range(5)], 100 * KB)
    assert [s.step for s in kept] == [0, 1, 2, 3, 4]
    assert steps_of(kept, weighted=True) == [4]
    assert bound_history([fake_snapshot(i, weight_kb=500) for i in range(2)], 1 * KB)[-1].has_weights


class FakeRun:
    """What HistoryBudget needs of a run: its history, fitted under the run's own lock."""

    def __init__(self, n):
        self.snaps = [fake_snapshot(i) for i in range(n)]

    def _bound_history(self, max_bytes):
        self.snaps = bound_history(self.snaps, max_bytes)
        return history_bytes(self.snaps)


def test_runs_share_the_total_budget():
    budget = HistoryBudget(run_bytes=2000 * KB, total_bytes=3000 * KB)
    first = FakeRun(16)                                          # 16 x 104 - 100 KB: under its own budget
    budget.filed(first)
    assert history_bytes(first.snaps) == 1564 * KB
    second = FakeRun(16)                                         # two runs: 1500 KB each at most
    budget.filed(second)
    assert history_bytes(first.snaps) <= 1500 * KB and history_bytes(second.snaps) <= 1500 * KB
    assert budget.held_bytes() <= 3000 * KB
    del first                                                    # a run nobody holds stops counting
    import gc

    gc.collect()
    assert budget.held_bytes() == history_bytes(second.snaps)


def test_budgets_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("TLAB_SNAPSHOT_MB", "2.5")
    assert run_budget_bytes() == int(2.5 * 2**20)
    monkeypatch.setenv("TLAB_SNAPSHOT_MB", "lots")
    assert run_budget_bytes() == 64 * 2**20


def test_a_live_runs_history_stays_in_its_budget_and_keeps_what_pages_need(monkeypatch):
    # A model whose 60 snapshots (about 110 KB each) would hold 6.6 MB, in a 1 MB budget.
    monkeypatch.setenv("TLAB_SNAPSHOT_MB", "1")
    cfg = ModelConfig(arch="decoder", d_model=48, n_heads=2, n_layers=1, d_ff=128, pos_encoding="learned")
    train = TrainConfig(steps=60, batch_size=8, eval_every=20, eval_size=16, device="cpu", warmup=2, threads=1)
    run = LiveRun(get_task("reverse", length=4), cfg, train, snapshot_every=1, max_snapshots=1000,
                  limiter=RunLimiter(1), snapshot_min_s=0, snapshot_budget=0).start()
    try:
        assert run.join(timeout=120) and run.status == "finished", run.message
        snaps = run.snapshots
        one = snaps[-1].nbytes
        assert 60 * one > 5 * 2**20, "the model must be big enough for the budget to matter"
        assert history_bytes(snaps) <= 2**20
        assert snaps[0].step == 0 and snaps[-1].step == 60
        assert snaps[-1].has_weights and len(steps_of(snaps, weighted=True)) >= 2
        assert len(snaps) == 61                                      # every step's maps and tables
        assert all(s.attention and s.embeddings is not None for s in snaps)
        model = run.model_copy()                                     # the newest weights rebuild the model
        assert torch.equal(model.state_dict()["tok_emb.weight"], snaps[-1].state_dict["tok_emb.weight"])
    finally:
        assert run.stop(timeout=30)
