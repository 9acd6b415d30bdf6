"""This browser session's runs, by slot: one registry, one stop rule.

Every background run a session starts lives in one `RunRegistry` under a named slot:

    "train"                      the Train page's run (or a preset a page started for it)
    "lesson:<task>/<arch>/<seed>" a lesson's model, demo or race
    "race:main", "race:dates"    the RNN vs Transformer page's races
    "pe:<scheme>"                the positional-encoding experiment, one run per scheme

Putting a run into a slot stops the run it replaces; closing the registry (Streamlit calls it
when the tab closes, see `transformer.ui.session`) stops them all. Stopping asks every run first
and then waits for them together, at most `STOP_TIMEOUT_S` in all, so closing a session with
many runs takes no longer than closing one.

The registry holds anything with BackgroundJob's `stop`, `join` and `status` (a `LiveRun`, a
`RaceRun`); it imports no Streamlit, so it is tested without a page.
"""
from __future__ import annotations

import threading
import time
from typing import Any

# How long a page (or a closing session) waits for runs to finish their step in flight.
STOP_TIMEOUT_S = 10.0


def stop_runs(runs, timeout: float = STOP_TIMEOUT_S) -> bool:
    """Ask every run to stop, then wait for all of them, `timeout` seconds in all; True when all ended."""
    runs = [run for run in runs if run is not None]
    for run in runs:
        run.stop(timeout=0)  # ask only: the step in flight ends while the others are asked too
    deadline = time.monotonic() + timeout
    return all([run.join(max(0.0, deadline - time.monotonic())) for run in runs])


class RunRegistry:
    """One session's runs by slot name, with a label for each and models rebuilt from them.

    Safe to call from the session's script thread and its fragments; `close` may also come from
    the thread Streamlit ends sessions in.
    """

    def __init__(self, stop_timeout: float = STOP_TIMEOUT_S):
        self.stop_timeout = stop_timeout
        self._lock = threading.Lock()
        self._runs: dict[str, Any] = {}  # slot -> run, in the order the slots were first filled
        self._labels: dict[str, str] = {}
        self._ids: dict[str, int] = {}  # slot -> how many runs it has held (a cache key)
        self._models: dict[str, tuple] = {}  # slot -> ((id, step), model)
        self.closed = False

    def get(self, slot: str):
        with self._lock:
            return self._runs.get(slot)

    def put(self, slot: str, run, label: str | None = None):
        """Keep `run` in `slot` (None empties it); the run it replaces is stopped. Returns `run`."""
        with self._lock:
            old = self._runs.pop(slot, None) if run is None else self._runs.get(slot)
            if run is not None:
                self._runs[slot] = run
                self._labels[slot] = label or slot
            else:
                self._labels.pop(slot, None)
            self._ids[slot] = self._ids.get(slot, 0) + 1
            self._models.pop(slot, None)
        if old is not None and old is not run:
            stop_runs([old], self.stop_timeout)
        return run

    def run_id(self, slot: str) -> int:
        """A number that changes whenever the run in `slot` is replaced (for cache keys)."""
        with self._lock:
            return self._ids.get(slot, 0)

    def label(self, slot: str) -> str:
        with self._lock:
            return self._labels.get(slot, slot)

    def slots(self, prefix: str = "") -> dict[str, Any]:
        """{slot: run} for the slots that start with `prefix`, oldest slot first."""
        with self._lock:
            return {slot: run for slot, run in self._runs.items() if slot.startswith(prefix)}

    def active(self, prefix: str = "") -> dict[str, Any]:
        """{slot: run} of the runs still under way (queued, training or paused)."""
        runs = self.slots(prefix)
        if not runs:
            return {}
        from ..runs.job import ACTIVE  # here, not at the top: loaded already once a run exists

        return {slot: run for slot, run in runs.items() if run.status in ACTIVE}

    def stop(self, prefix: str = "") -> bool:
        """Stop the runs whose slot starts with `prefix` and keep them (what they learned stays)."""
        return stop_runs(self.slots(prefix).values(), self.stop_timeout)

    def clear(self, prefix: str = "") -> bool:
        """Stop the runs whose slot starts with `prefix` and empty their slots."""
        with self._lock:
            gone = [slot for slot in self._runs if slot.startswith(prefix)]
            runs = [self._runs.pop(slot) for slot in gone]
            for slot in gone:
                self._ids[slot] = self._ids.get(slot, 0) + 1
                self._models.pop(slot, None)
                self._labels.pop(slot, None)
        return stop_runs(runs, self.stop_timeout)

    def model(self, slot: str, snapshots: list | None = None):
        """The model of the LiveRun in `slot` at the newest of `snapshots` (default: the run's):
        rebuilt once per snapshot, then cached, so a page rerun costs nothing. None when the
        slot is empty."""
        with self._lock:
            run, run_id = self._runs.get(slot), self._ids.get(slot, 0)
        if run is None:
            return None
        snapshots = run.snapshots if snapshots is None else snapshots
        key = (run_id, snapshots[-1].step if snapshots else -1)
        with self._lock:
            cached = self._models.get(slot)
            if cached is not None and cached[0] == key:
                return cached[1]
        model = run.model_copy(snapshots[-1] if snapshots else None)
        with self._lock:
            if self._ids.get(slot, 0) == run_id:  # not replaced meanwhile
                self._models[slot] = (key, model)
        return model

    def close(self) -> bool:
        """Stop every run and empty every slot (the session has ended)."""
        self.closed = True
        return self.clear()
