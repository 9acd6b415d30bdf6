"""Training in the background while pages watch: `LiveRun`, the server's side of a run.

    run = LiveRun(task, model_cfg, train_cfg, snapshot_every=25)
    run.start()                   # returns at once; a child process trains
    run.status, run.progress      # "queued" | "training" | "paused" | "finished" | ...
    run.latest()                  # the newest Snapshot (immutable, safe to read from any thread)
    run.pause(); run.step_once(); run.resume(); run.stop()

One process owns the trainer and its model (`transformer.runs.worker`); nobody else touches
them. It sends what it publishes through a pipe: metric rows (every step, every evaluation) and
Snapshots (every few steps, at the start, at a pause and at the end). In the server a thread per
run files them under a lock for the pages to read, and passes the controls on; the child checks
for them between steps, so pause, step, resume and stop are safe from any thread at any moment,
and stop leaves no thread or process behind. Why a process and not a thread: see `LiveRun`.
Runs wait for a slot of the process-wide limiter (`transformer.runs.limiter`).
"""
from __future__ import annotations

import pickle
import threading

from .snapshot import Snapshot, model_from_snapshot
from ..training import TrainConfig, TrainingDiverged, initial_model, run_configs, validation_examples
from .fork_server import context
from .history import bound_history, default_budget, history_bytes
from .job import ACTIVE, BackgroundJob, first_line
from .limiter import RunLimiter
from .worker import train_in_child


class LiveRun(BackgroundJob):
    """A training run in a background process that publishes metrics and snapshots.

    snapshot_every: steps between snapshots at least; snapshot_min_s and snapshot_budget also
    space them so that at most about one per `snapshot_min_s` seconds is taken and taking them
    costs at most `snapshot_budget` of the training time (a refreshing page needs no more).

    The trainer runs in a child process (`transformer.runs.worker`), not a thread of the server: a small
    model spends much of each step in Python between PyTorch calls, so in a thread it would
    wait for the GIL whenever the page refreshing it runs Python, and runs on many cores would
    queue for one GIL. In this process a thread (`_main`) waits for a slot, starts the child,
    forwards the controls to it and files what it sends: metric rows, evaluations, snapshots
    and its status.
    """

    thread_name = "tlab-live-run"

    def __init__(self, task, model_cfg, train_cfg: TrainConfig | None = None, snapshot_every: int = 25,
                 max_snapshots: int = 100, probe_size: int = 4, limiter: RunLimiter | None = None,
                 snapshot_min_s: float = 1.0, snapshot_budget: float = 0.05):
        if snapshot_every < 1:
            raise ValueError(f"snapshot_every must be at least 1 step (got {snapshot_every}).")
        if max_snapshots < 2:
            raise ValueError(f"max_snapshots must be at least 2, to keep the first and the last (got {max_snapshots}).")
        super().__init__(limiter)
        # Checked here, in the caller's thread (often a click handler), so a bad configuration or
        # one over the memory budget raises ValueError at once. Nothing is built here: building
        # the model (and keeping its initial weights) took 4.6 s and 1 GB for the largest the
        # sliders allowed. The child builds the trainer; `model_copy` rebuilds the same initial
        # weights from the seed if they are asked for before the first snapshot.
        self.model_cfg, self.train_cfg = run_configs(task, model_cfg, self._with_threads(train_cfg))
        self.task = task
        self.snapshot_every, self.max_snapshots = snapshot_every, max_snapshots
        self.snapshot_min_s, self.snapshot_budget = snapshot_min_s, snapshot_budget
        # The first examples of the trainer's validation set (the same seeded generator).
        self.probe = validation_examples(task, min(probe_size, self.train_cfg.eval_size), self.train_cfg.seed)

        self._lock = threading.Lock()  # guards the published data below
        self._rows: list[dict] = []
        self._evals: list[dict] = []
        self._snapshots: list[Snapshot] = []
        self._conn = None  # this end of the pipe to the child, while it runs (under self._cond)

    @property
    def history(self) -> list[dict]:
        """One row per optimizer step: step, loss, lr, grad_norm, tokens, step_s, tokens_per_s, elapsed_s."""
        with self._lock:
            return list(self._rows)

    @property
    def evals(self) -> list[dict]:
        """One row per evaluation: step, loss, val_loss, token_acc, seq_acc, lr, elapsed_s, tokens_per_s."""
        with self._lock:
            return list(self._evals)

    @property
    def snapshots(self) -> list[Snapshot]:
        with self._lock:
            return list(self._snapshots)

    def latest(self) -> Snapshot | None:
        with self._lock:
            return self._snapshots[-1] if self._snapshots else None

    @property
    def progress(self) -> dict:
        """step, total, tokens_per_s (recent average), eta_s (None when unknown), elapsed_s."""
        with self._lock:
            recent = self._rows[-20:]
            step = self._rows[-1]["step"] if self._rows else 0
            elapsed = self._rows[-1]["elapsed_s"] if self._rows else 0.0
        total = self.train_cfg.steps
        seconds = sum(r["step_s"] for r in recent)
        tokens_per_s = sum(r["tokens"] for r in recent) / seconds if seconds > 0 else 0.0
        eta = (total - step) * seconds / len(recent) if recent else None
        if eta is not None and self.train_cfg.max_seconds is not None:
            eta = min(eta, max(0.0, self.train_cfg.max_seconds - elapsed))
        if self._status not in ACTIVE:
            eta = 0.0 if self._status == "finished" else None
        return {"step": step, "total": total, "tokens_per_s": tokens_per_s, "eta_s": eta, "elapsed_s": elapsed}

    def model_copy(self, snapshot: Snapshot | None = None):
        """A fresh CPU model in eval mode with the weights of `snapshot` (default: the latest).

        Built from a snapshot, the only weights that leave the training process. When paused,
        stopped, finished or failed the latest snapshot holds the current weights.
        """
        snapshot = snapshot or self.latest()
        if snapshot is None:
            return initial_model(self.model_cfg, self.train_cfg.seed).eval()
        return model_from_snapshot(snapshot, self.model_cfg)

    def restore(self, rows: list[dict], evals: list[dict], snapshots: list[Snapshot],
                status: str = "finished", message: str = "") -> "LiveRun":
        """Fill a run that was never started with what a run of the same settings published
        (a preset kept by `transformer.runs.preset_cache`); it then reads as that run, ended."""
        with self._cond:
            if self._thread is not None or self._status != "idle":
                raise ValueError("Only a run that was never started can be restored.")
            self._status, self._message = status, message
        with self._lock:
            self._rows, self._evals, self._snapshots = list(rows), list(evals), list(snapshots)
        return self

    def _forward(self, command: str) -> None:
        if self._conn is None:
            return  # not started yet: the child starts from the flags
        try:
            self._conn.send(command)
        except (OSError, ValueError):
            pass  # the child has just ended; its last message settles the status

    # ----------------------------------------------------------------- this process's thread

    def _main(self) -> None:
        got_slot = self.limiter.acquire(self, cancelled=lambda: self._stop_requested)
        if not got_slot:
            self._set_status("stopped")
            return
        process = None
        try:
            ctx = context()
            with self._cond:
                if self._stop_requested:
                    self._status = "stopped"
                    return
                here, there = ctx.Pipe()
                controls = {"paused": self._paused, "pending_steps": self._pending_steps}
                settings = {"snapshot_every": self.snapshot_every, "snapshot_min_s": self.snapshot_min_s,
                            "snapshot_budget": self.snapshot_budget, "probe_size": len(self.probe)}
                process = ctx.Process(target=train_in_child, name="tlab-training",
                                      args=(there, self.task, self.model_cfg, self.train_cfg, settings, controls),
                                      daemon=True)
                process.start()
                there.close()
                self._conn = here
                self._status = self._starting_status()
            self._receive(here, process)
        except Exception as err:  # surface any failure as a status, never a dead silent thread
            self._fail(err, f"Training could not start ({type(err).__name__}: {first_line(err)}).")
        finally:
            with self._cond:
                conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()
            if process is not None:
                process.join(timeout=5)
                if process.is_alive():
                    process.kill()
                    process.join()
            self.limiter.release(self)

    def _receive(self, conn, process) -> None:
        """File the child's messages until its last one (or until it dies without one)."""
        while True:
            try:
                kind, payload = pickle.loads(conn.recv_bytes())
            except (EOFError, OSError):
                process.join(timeout=5)
                self._fail(RuntimeError("the training process ended"),
                           f"The training process ended unexpectedly (exit code {process.exitcode}).")
                return
            if kind == "row":
                with self._lock:
                    self._rows.append(payload)
            elif kind == "eval":
                with self._lock:
                    self._evals.append(payload)
            elif kind == "snapshot":
                with self._lock:
                    self._snapshots.append(payload)
                    if len(self._snapshots) > self.max_snapshots:
                        self._snapshots = _thin(self._snapshots)
                default_budget().filed(self)  # and in bytes, per run and for the whole server
            elif kind == "status":
                with self._cond:
                    if self._status in ACTIVE:
                        self._status = payload
            elif kind == "end":
                status, message, error = payload
                if error is not None:  # the exception stayed in the child: its kind and sentence came
                    kind, step = error
                    self.error = TrainingDiverged(message, step) if kind == "diverged" else RuntimeError(message)
                self._set_status(status, message)
                return

    def _bound_history(self, max_bytes: int) -> int:
        """Fit the snapshot history into `max_bytes` (see `transformer.runs.history`); its bytes now."""
        with self._lock:
            self._snapshots = bound_history(self._snapshots, max_bytes)
            return history_bytes(self._snapshots)

    def _fail(self, err: BaseException, message: str) -> None:
        self.error = err
        self._set_status("failed", message)



def _thin(snapshots: list) -> list:
    """Halve a long history evenly, keeping the first and the last snapshot."""
    middle = snapshots[1:-1]
    return [snapshots[0], *middle[1::2], snapshots[-1]]
