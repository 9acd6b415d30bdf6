"""A run's snapshot history, bounded in bytes: per run, and for all runs of the process together.

A snapshot's weights (`Snapshot.state_dict`) are most of its size: 19 MB for a 4.7M-parameter
model, so 100 snapshots of one run held 1.9 GB of a class server. What the pages read from old
snapshots is much smaller: the attention maps on the probe batch (Attention page: a map through
training, head scores over time), the embedding and position tables (Embeddings page, lessons:
the film of the table forming). Full weights of an old step are needed only to scrub the
Attention page back to it and rerun the model there; the newest snapshot's weights are the model
every page explores and every checkpoint saves.

So a history over its budget first lets go of the weights of old snapshots (keeping their maps and
tables), choosing each time the one whose neighbours with weights are closest in training steps,
so the steps one can scrub back to stay spread over the run; the first snapshot's weights go
last. Only if the maps and tables alone are over the budget does it drop whole snapshots from the
middle, in the same order. The first and the newest snapshot are always kept, and the newest
keeps its weights: they are the run's model itself, not its history, so the budget counts
everything else (`history_bytes`), and a run holds at most its budget plus one copy of its
weights (which the model size budget of `transformer.budget` bounds).

Budgets, in MB (2**20 bytes), like the run limit: `$TLAB_SNAPSHOT_MB` per run (default
`RUN_MB`), `$TLAB_SNAPSHOT_TOTAL_MB` for all runs of the process (default `TOTAL_MB`), shared
equally among the runs that hold a history. A value that is not a positive number is ignored.
"""
from __future__ import annotations

import threading
import weakref

from ..budget import MB, positive_env

RUN_ENV, TOTAL_ENV = "TLAB_SNAPSHOT_MB", "TLAB_SNAPSHOT_TOTAL_MB"
# 64 MB keeps every snapshot of a preset run whole (about 0.5 MB each, at most 100); a class of
# thirty sessions at 1 GB in all has about 34 MB each.
RUN_MB, TOTAL_MB = 64, 1024


def _megabytes(env: str, default: int) -> int:
    return int((positive_env(env) or default) * MB)


def run_budget_bytes() -> int:
    """The most bytes one run's snapshot history may hold: $TLAB_SNAPSHOT_MB, else RUN_MB."""
    return _megabytes(RUN_ENV, RUN_MB)


def total_budget_bytes() -> int:
    """The most bytes all histories of this process may hold: $TLAB_SNAPSHOT_TOTAL_MB, else TOTAL_MB."""
    return _megabytes(TOTAL_ENV, TOTAL_MB)


def history_bytes(snapshots) -> int:
    """Bytes the budget counts: every snapshot's maps and tables, and the weights of all but the
    newest (the run's model, kept whatever the budget)."""
    if not snapshots:
        return 0
    return sum(s.nbytes for s in snapshots) - snapshots[-1].weight_bytes


def _most_crowded(steps: list[int], candidates: list[int], order: list[int]) -> int:
    """The candidate (an index into `order`, never its first or last) whose neighbours in `order`
    are closest together in training steps: letting it go leaves the others most evenly spread."""
    def gap(j):
        return steps[order[j + 1]] - steps[order[j - 1]]
    return min(candidates, key=gap)


def bound_history(snapshots: list, max_bytes: int) -> list:
    """`snapshots` (oldest first) fitted into `max_bytes` as the module says; a new list.

    Snapshots are immutable: one that lets its weights go is replaced by a copy without them, so
    a page still holding the old list keeps what it had.
    """
    total = history_bytes(snapshots)
    if total <= max_bytes or len(snapshots) < 2:
        return list(snapshots)
    snaps = list(snapshots)
    steps = [s.step for s in snaps]
    last = len(snaps) - 1

    def let_weights_go(i):
        nonlocal total
        total -= snaps[i].weight_bytes
        snaps[i] = snaps[i].without_weights()

    # 1. weights of the middle snapshots, the most crowded first; the first and newest keep theirs
    weighted = [i for i, s in enumerate(snaps) if s.has_weights]
    while total > max_bytes and len(weighted) > 2:
        j = _most_crowded(steps, list(range(1, len(weighted) - 1)), weighted)
        let_weights_go(weighted.pop(j))
    # 2. the first snapshot's weights (never the newest's: every page explores that model)
    if total > max_bytes and weighted and weighted[0] != last:
        let_weights_go(weighted.pop(0))
    # 3. whole snapshots from the middle, the most crowded first
    order = list(range(len(snaps)))
    while total > max_bytes and len(order) > 2:
        j = _most_crowded(steps, list(range(1, len(order) - 1)), order)
        total -= snaps[order.pop(j)].nbytes
    return [snaps[i] for i in order]


class HistoryBudget:
    """The process-wide share of snapshot memory: each run that holds a history gets
    min(run budget, total budget / number of such runs).

    A run calls `filed(run)` after adding a snapshot (holding none of its own locks); the run
    must have `_bound_history(max_bytes) -> bytes held`, which takes the run's lock. Runs are
    held weakly: a run nobody uses any more stops counting when it is garbage-collected.
    """

    def __init__(self, run_bytes: int | None = None, total_bytes: int | None = None):
        self._run_bytes, self._total_bytes = run_bytes, total_bytes
        self._lock = threading.Lock()
        self._held: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # run -> bytes

    @property
    def run_bytes(self) -> int:
        return self._run_bytes if self._run_bytes is not None else run_budget_bytes()

    @property
    def total_bytes(self) -> int:
        return self._total_bytes if self._total_bytes is not None else total_budget_bytes()

    def share(self, runs: int) -> int:
        return min(self.run_bytes, self.total_bytes // max(1, runs))

    def filed(self, run) -> None:
        """Fit `run`'s history into its share; when all runs together are over the total budget
        (a new run has come), fit every run into the smaller share."""
        with self._lock:
            self._held[run] = 0
            share = self.share(len(self._held))
            self._held[run] = run._bound_history(share)
            if sum(self._held.values()) > self.total_bytes:
                for other in list(self._held):
                    self._held[other] = other._bound_history(share)

    def held_bytes(self) -> int:
        """Bytes of snapshots all runs of the process hold (as of their last filing)."""
        with self._lock:
            return sum(self._held.values())


_BUDGET = HistoryBudget()


def default_budget() -> HistoryBudget:
    """The process-wide budget (its limits read from the environment at each use)."""
    return _BUDGET
