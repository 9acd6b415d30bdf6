"""Job control shared by every background run (`BackgroundJob`), and the statuses it goes through."""
from __future__ import annotations

import threading
from dataclasses import replace

from ..training import TrainConfig
from .limiter import RunLimiter, default_limiter, threads_per_run

ACTIVE = ("queued", "training", "paused")


class BackgroundJob:
    """Start, pause, single-step, resume and stop for a job run by a daemon thread.

    Shared by `LiveRun` (one model, trained in a child process that the thread looks after) and
    `transformer.runs.race.RaceRun` (several models, trained in the thread itself). A subclass calls
    `__init__` and implements `_main`, the thread's body, which honours the control flags
    between optimizer steps (or, with `_forward`, passes them on). Every method is safe from any
    thread at any moment.
    """

    thread_name = "tlab-job"

    def __init__(self, limiter: RunLimiter | None = None):
        self.limiter = limiter or default_limiter()
        self._cond = threading.Condition()  # guards the control flags below
        self._status = "idle"
        self._message = ""
        self._paused = False
        self._pending_steps = 0
        self._stop_requested = False
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None  # the exception behind a "failed" status

    def _with_threads(self, train_cfg: TrainConfig | None) -> TrainConfig:
        """`train_cfg` (default: TrainConfig()) with the threads a run gets when it sets none,
        so that all the limiter's slots together fill the cores."""
        train_cfg = train_cfg or TrainConfig()
        if train_cfg.threads is not None:
            return train_cfg
        return replace(train_cfg, threads=threads_per_run(self.limiter.limit))

    # ----------------------------------------------------------------- control (any thread)

    def start(self) -> "BackgroundJob":
        """Start the job's thread (queued first if all slots are busy). Idempotent."""
        with self._cond:
            if self._thread is not None or self._status != "idle":
                return self
            self._status = "queued"
            self._thread = threading.Thread(target=self._main, name=self.thread_name, daemon=True)
            self._thread.start()
        return self

    def pause(self) -> None:
        with self._cond:
            self._paused = True
            if self._status == "training":
                self._status = "paused"  # the step in flight finishes, then training waits
            self._forward("pause")
            self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._pending_steps = 0
            if self._status == "paused":
                self._status = "training"
            self._forward("resume")
            self._cond.notify_all()

    def step_once(self) -> None:
        """Pause (if training) and take exactly one more optimizer step, for demonstrations."""
        with self._cond:
            if self._status not in ACTIVE and self._status != "idle":
                return
            self._paused = True
            self._pending_steps += 1
            if self._status == "training":
                self._status = "paused"
            self._forward("step")
            self._cond.notify_all()
        if self._status == "idle":
            self.start()

    def stop(self, timeout: float | None = 10.0) -> bool:
        """Ask the job to stop after the step in flight and wait for it; True when it ended."""
        with self._cond:
            self._stop_requested = True
            if self._status == "idle":
                self._status = "stopped"
            self._forward("stop")
            self._cond.notify_all()
        self.limiter.wake()
        return self.join(timeout)

    def _set_status(self, status: str, message: str | None = None) -> None:
        with self._cond:
            self._status = status
            if message is not None:
                self._message = message

    def _starting_status(self) -> str:
        """What a job is once it has its slot: paused if it was paused while queued (unless a
        single step is waiting), else training."""
        return "paused" if self._paused and not self._pending_steps else "training"

    def _forward(self, command: str) -> None:
        """Pass a control on to where the training happens (called holding `_cond`); a job
        whose thread trains reads the flags itself, so by default there is nothing to do."""

    def join(self, timeout: float | None = None) -> bool:
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            return not thread.is_alive()
        return True

    # ----------------------------------------------------------------- state (any thread)

    @property
    def status(self) -> str:
        return self._status

    @property
    def message(self) -> str:
        return self._message

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def queue_position(self) -> int | None:
        return self.limiter.position(self) if self._status == "queued" else None


def first_line(err: BaseException) -> str:
    """The first line of an exception's message, for a one-sentence status."""
    text = str(err).strip()
    return text.splitlines()[0] if text else ""
