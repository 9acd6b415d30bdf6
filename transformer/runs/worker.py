"""The training process's side of a `LiveRun`: train, take snapshots, obey the controls.

`train_in_child` is the body of the process that `transformer.runs.live.LiveRun` starts. It owns
the trainer and its model and sends what it publishes through a pipe (metric rows, evaluations,
snapshots, its status, and one last "end" message); it reads pause, step, resume and stop from
the same pipe between optimizer steps.
"""
from __future__ import annotations

import pickle

from .snapshot import take_snapshot
from ..training import Trainer, TrainingDiverged
from .job import first_line

class Worker:
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
            if self.trainer.stop_reason == "early_stop":
                # The best weights are back in the model at the same step count: publish them (with
                # their own evaluation), or the pages would explore the overfitted last ones; and say
                # on the page when and why it stopped (the status message carries the sentence).
                self.publish(self.trainer.early.best_row)
                self.send("end", ("finished", self.trainer.stop_message(), None))
                return
            self.publish_if_new()
            self.send("end", ("stopped" if self.trainer.stop_reason == "stopped" else "finished", "", None))
        except TrainingDiverged as err:
            self.publish_if_new()  # the weights are the last good ones: show them
            self.send("end", ("failed", str(err), ("diverged", err.step)))
        except (EOFError, OSError):
            raise  # the pipe to the parent is gone
        except Exception as err:
            self.send("end", ("failed", f"Training stopped with an error ({type(err).__name__}: {first_line(err)}).",
                              ("error", None)))

    def send(self, kind: str, payload) -> None:
        send_message(self.conn, kind, payload)

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

    def publish(self, metrics: dict | None = None) -> None:
        """Take a snapshot and send it; `metrics` default to the latest evaluation row."""
        trainer = self.trainer
        if metrics is None:
            metrics = trainer.evals[-1] if trainer.evals else {}
        metrics = dict(metrics)
        if trainer.history and "train_loss" not in metrics:  # older rows measured no training side
            metrics["train_loss"] = trainer.history[-1]["loss"]
        snap = take_snapshot(trainer, self.probe, metrics)
        # Snapshot time counts as training time: it is work the run does, and the budget above
        # is measured against it.
        trainer.elapsed += snap.seconds
        self.send("snapshot", snap)
        self.last_snap = (snap.step, trainer.elapsed, snap.seconds)


def send_message(conn, kind: str, payload) -> None:
    # Plain pickle, by value: Connection.send would hand tensors over as shared memory, kept
    # alive by this process, which ends before the parent has read them all.
    conn.send_bytes(pickle.dumps((kind, payload), protocol=pickle.HIGHEST_PROTOCOL))


def train_in_child(conn, task, model_cfg, train_cfg, settings: dict, controls: dict) -> None:
    """The child process's body: train, then close the pipe (the parent sees the end)."""
    try:
        try:
            child = Worker(conn, task, model_cfg, train_cfg, settings, controls)
        except Exception as err:
            message = f"Training could not start ({type(err).__name__}: {first_line(err)})."
            send_message(conn, "end", ("failed", message, ("error", None)))
            return
        child.main()
    except (EOFError, OSError):
        pass  # the parent has gone (its session closed): nothing is left to report to
    finally:
        conn.close()
