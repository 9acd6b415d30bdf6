"""The process-wide run limiter: how many runs train at once, and the queue for the rest.

A server shared by a class has a few cores; ten runs at once would each crawl. The limiter lets
`max_concurrent_runs()` train at a time, each with `threads_per_run()` threads, and queues the
rest in arrival order ("queued, position K").
"""
from __future__ import annotations

import os
import threading

def max_concurrent_runs() -> int:
    """How many runs may train at once: $TLAB_MAX_RUNS, else one per CPU core."""
    env = os.environ.get("TLAB_MAX_RUNS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    return max(1, os.cpu_count() or 1)


def threads_per_run(max_runs: int | None = None) -> int:
    """CPU threads each run uses, so that all concurrent runs together fill the cores."""
    return max(1, (os.cpu_count() or 1) // (max_runs or max_concurrent_runs()))


class RunLimiter:
    """At most `limit` holders at once; the others wait in arrival order (FIFO).

    Like a BoundedSemaphore, but a waiter knows its place in the queue and can give up
    (a stopped run must not keep waiting for a slot), which a semaphore cannot tell us.
    """

    def __init__(self, limit: int):
        if limit < 1:
            raise ValueError(f"A run limit must be at least 1 (got {limit}).")
        self.limit = limit
        self._cond = threading.Condition()
        self._active: set = set()
        self._waiting: list = []

    def acquire(self, holder, cancelled=lambda: False) -> bool:
        """Block until `holder` has a slot (True) or `cancelled()` says to give up (False)."""
        with self._cond:
            self._waiting.append(holder)
            try:
                while True:
                    if cancelled():
                        return False
                    if self._waiting[0] is holder and len(self._active) < self.limit:
                        self._active.add(holder)
                        return True
                    self._cond.wait(timeout=0.5)  # the timeout re-checks `cancelled`
            finally:
                self._waiting.remove(holder)
                self._cond.notify_all()

    def release(self, holder) -> None:
        with self._cond:
            self._active.discard(holder)
            self._cond.notify_all()

    def wake(self) -> None:
        """Let waiters re-check whether they were cancelled."""
        with self._cond:
            self._cond.notify_all()

    def position(self, holder) -> int | None:
        """1-based place in the queue, or None when not waiting."""
        with self._cond:
            return self._waiting.index(holder) + 1 if holder in self._waiting else None

    @property
    def active(self) -> int:
        with self._cond:
            return len(self._active)


_LIMITER: RunLimiter | None = None
_LIMITER_LOCK = threading.Lock()


def default_limiter() -> RunLimiter:
    """The process-wide limiter, created on first use with `max_concurrent_runs()` slots."""
    global _LIMITER
    with _LIMITER_LOCK:
        if _LIMITER is None:
            _LIMITER = RunLimiter(max_concurrent_runs())
        return _LIMITER
