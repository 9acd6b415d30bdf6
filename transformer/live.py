"""Training in the background while pages watch: `LiveRun` and the process-wide run limiter.

    run = LiveRun(task, model_cfg, train_cfg, snapshot_every=25)
    run.start()                   # returns at once; a child process trains
    run.status, run.progress      # "queued" | "training" | "paused" | "finished" | ...
    run.latest()                  # the newest Snapshot (immutable, safe to read from any thread)
    run.pause(); run.step_once(); run.resume(); run.stop()

One process owns the trainer and its model; nobody else touches them. It sends what it
publishes through a pipe: metric rows (every step, every evaluation) and Snapshots (every few
steps, at the start, at a pause and at the end). In the server a thread per run files them
under a lock for the pages to read, and passes the controls on; the child checks for them
between steps, so pause, step, resume and stop are safe from any thread at any moment, and stop
leaves no thread or process behind. Why a process and not a thread: see `LiveRun`.

A server shared by a class has a few cores; ten runs at once would each crawl. A process-wide
limiter lets `max_concurrent_runs()` train at a time, each with `threads_per_run()` threads,
and queues the rest in arrival order ("queued, position K").
"""
from __future__ import annotations

import multiprocessing
import os
import pickle
import threading
from dataclasses import replace

from .history import bound_history, default_budget, history_bytes
from .snapshot import Snapshot, model_from_snapshot, take_snapshot
from .training import TrainConfig, Trainer, TrainingDiverged, initial_model, run_configs, validation_examples

STATUSES = ("idle", "queued", "training", "paused", "finished", "stopped", "failed")
ACTIVE = ("queued", "training", "paused")


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


class BackgroundJob:
    """Start, pause, single-step, resume and stop for a job run by a daemon thread.

    Shared by `LiveRun` (one model, trained in a child process that the thread looks after) and
    `transformer.race.RaceRun` (several models, trained in the thread itself). A subclass calls
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


class LiveRun(BackgroundJob):
    """A training run in a background process that publishes metrics and snapshots.

    snapshot_every: steps between snapshots at least; snapshot_min_s and snapshot_budget also
    space them so that at most about one per `snapshot_min_s` seconds is taken and taking them
    costs at most `snapshot_budget` of the training time (a refreshing page needs no more).

    The trainer runs in a child process (`_train_in_child`), not a thread of the server: a small
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
            ctx = _context()
            with self._cond:
                if self._stop_requested:
                    self._status = "stopped"
                    return
                here, there = ctx.Pipe()
                controls = {"paused": self._paused, "pending_steps": self._pending_steps}
                settings = {"snapshot_every": self.snapshot_every, "snapshot_min_s": self.snapshot_min_s,
                            "snapshot_budget": self.snapshot_budget, "probe_size": len(self.probe)}
                process = ctx.Process(target=_train_in_child, name="tlab-training",
                                      args=(there, self.task, self.model_cfg, self.train_cfg, settings, controls),
                                      daemon=True)
                process.start()
                there.close()
                self._conn = here
                self._status = "paused" if self._paused and not self._pending_steps else "training"
            self._receive(here, process)
        except Exception as err:  # surface any failure as a status, never a dead silent thread
            self._fail(err, f"Training could not start ({type(err).__name__}: {_first_line(err)}).")
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
        """Fit the snapshot history into `max_bytes` (see `transformer.history`); its bytes now."""
        with self._lock:
            self._snapshots = bound_history(self._snapshots, max_bytes)
            return history_bytes(self._snapshots)

    def _fail(self, err: BaseException, message: str) -> None:
        self.error = err
        self._set_status("failed", message)

    def _set_status(self, status: str, message: str | None = None) -> None:
        with self._cond:
            self._status = status
            if message is not None:
                self._message = message


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else ""


_CONTEXT = None
_CONTEXT_LOCK = threading.Lock()


def _context():
    """The multiprocessing context runs start in, made once per process.

    "forkserver" where there is one (Linux, macOS): a clean process that has already imported
    PyTorch and the library (`transformer._training_process`) forks each run in a few
    milliseconds, and nothing of the server's threads is copied into it. Elsewhere "spawn",
    which imports them again for every run (and, unlike the fork server's children, re-runs the
    parent's __main__ first, as multiprocessing always does: run LiveRun from a guarded script).
    """
    global _CONTEXT
    with _CONTEXT_LOCK:
        if _CONTEXT is None:
            if "forkserver" in multiprocessing.get_all_start_methods():
                _CONTEXT = multiprocessing.get_context("forkserver")
                _CONTEXT.set_forkserver_preload(["transformer._training_process"])
            else:
                _CONTEXT = multiprocessing.get_context("spawn")
        return _CONTEXT


def prepare_training_processes() -> None:
    """Start the fork server now (2-3 s, once per process) rather than at the first Train."""
    ctx = _context()
    if ctx.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


# --------------------------------------------------------------------------- the child process


class _ChildRun:
    """The trainer's side of a LiveRun: trains, takes snapshots, obeys the controls it is sent."""

    def __init__(self, conn, task, model_cfg, train_cfg, settings: dict, controls: dict):
        self.conn = conn
        self.trainer = Trainer(task, model_cfg, train_cfg, callbacks=[self])
        self.probe = self.trainer.val_examples[:settings["probe_size"]]
        self.snapshot_every = settings["snapshot_every"]
        self.snapshot_min_s, self.snapshot_budget = settings["snapshot_min_s"], settings["snapshot_budget"]
        self.paused, self.pending_steps, self.stop_requested = controls["paused"], controls["pending_steps"], False
        self.status = None
        self.single_step = False  # the next step was asked for by Step: publish a snapshot after it
        self.last_snap = (-1, 0.0, 0.0)  # (step, trainer.elapsed, seconds it took)

    def main(self) -> None:
        try:
            self.trainer.evaluate_and_log()  # so the first snapshot has metrics (chance level)
            self.publish()
            self.trainer.run(should_stop=self.gate)
            self.publish_if_new()
            self.send("end", ("stopped" if self.trainer.stop_reason == "stopped" else "finished", "", None))
        except TrainingDiverged as err:
            self.publish_if_new()  # the weights are the last good ones: show them
            self.send("end", ("failed", str(err), ("diverged", err.step)))
        except (EOFError, OSError):
            raise  # the pipe to the parent is gone
        except Exception as err:
            self.send("end", ("failed", f"Training stopped with an error ({type(err).__name__}: {_first_line(err)}).",
                              ("error", None)))

    def send(self, kind: str, payload) -> None:
        _send(self.conn, kind, payload)

    def obey(self, command: str) -> None:
        if command == "pause":
            self.paused = True
        elif command == "resume":
            self.paused, self.pending_steps = False, 0
        elif command == "step":
            self.paused = True
            self.pending_steps += 1
        elif command == "stop":
            self.stop_requested = True

    def report(self, status: str) -> None:
        if status != self.status:
            self.status = status
            self.send("status", status)

    def gate(self) -> bool:
        """Called by Trainer.run before every step: True to stop; blocks while paused."""
        while self.conn.poll():
            self.obey(self.conn.recv())
        while True:
            if self.stop_requested:
                return True
            if self.pending_steps:
                self.pending_steps -= 1
                self.single_step = True
                return False
            if not self.paused:
                self.report("training")
                return False
            self.report("paused")
            if self.last_snap[0] != self.trainer.step_count:
                self.publish()  # a paused page should show the weights as they are now
            self.obey(self.conn.recv())

    # Trainer callbacks

    def on_step(self, trainer, row: dict) -> None:
        self.send("row", row)
        if self.single_step:
            self.single_step = False
            if self.paused and not self.pending_steps:
                # Say so before the snapshot arrives: whoever sees the step's snapshot sees the
                # run paused, as Step promised.
                self.report("paused")
            self.publish()
        elif self.snapshot_due():
            self.publish()

    def on_eval(self, trainer, row: dict) -> None:
        self.send("eval", row)

    def snapshot_due(self) -> bool:
        step, at, cost = self.last_snap
        if self.trainer.step_count - step < self.snapshot_every:
            return False
        wait = max(self.snapshot_min_s, cost / self.snapshot_budget if self.snapshot_budget > 0 else 0.0)
        return self.trainer.elapsed - at >= wait

    def publish_if_new(self) -> None:
        if self.last_snap[0] != self.trainer.step_count:
            self.publish()

    def publish(self) -> None:
        trainer = self.trainer
        metrics = dict(trainer.evals[-1]) if trainer.evals else {}
        if trainer.history:
            metrics["train_loss"] = trainer.history[-1]["loss"]
        snap = take_snapshot(trainer, self.probe, metrics)
        # Snapshot time counts as training time: it is work the run does, and the budget above
        # is measured against it.
        trainer.elapsed += snap.seconds
        self.send("snapshot", snap)
        self.last_snap = (snap.step, trainer.elapsed, snap.seconds)


def _send(conn, kind: str, payload) -> None:
    # Plain pickle, by value: Connection.send would hand tensors over as shared memory, kept
    # alive by this process, which ends before the parent has read them all.
    conn.send_bytes(pickle.dumps((kind, payload), protocol=pickle.HIGHEST_PROTOCOL))


def _train_in_child(conn, task, model_cfg, train_cfg, settings: dict, controls: dict) -> None:
    """The child process's body: train, then close the pipe (the parent sees the end)."""
    try:
        try:
            child = _ChildRun(conn, task, model_cfg, train_cfg, settings, controls)
        except Exception as err:
            message = f"Training could not start ({type(err).__name__}: {_first_line(err)})."
            _send(conn, "end", ("failed", message, ("error", None)))
            return
        child.main()
    except (EOFError, OSError):
        pass  # the parent has gone (its session closed): nothing is left to report to
    finally:
        conn.close()


def _thin(snapshots: list) -> list:
    """Halve a long history evenly, keeping the first and the last snapshot."""
    middle = snapshots[1:-1]
    return [snapshots[0], *middle[1::2], snapshots[-1]]
