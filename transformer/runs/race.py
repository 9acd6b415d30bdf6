"""A race: several models learn the same task in one background thread, turn by turn.

    race = RaceRun([RaceEntry("Transformer", task, cfg_t), RaceEntry("LSTM", task, cfg_l)],
                   TrainConfig(steps=600, seed=0), test_lengths=(4, 8, 16))
    race.start()
    race.evals            # {"Transformer": [eval rows], "LSTM": [...]}, each row with "train_s"
    race.model_copy("LSTM")
    race.stop()

Why one thread and not one per model: on a machine with two cores, parallel runs would steal
time from each other unevenly, and a model's measured speed would depend on its neighbours.
Here one thread owns every trainer and always steps the model that has used the least compute
so far, so at any moment all models have had about the same seconds of their own compute
("train_s" = the sum of their own step times), as if each ran alone on its own machine. Every
model sees the same data stream (same seed), the same optimizer settings and the same budget.

Control mirrors `transformer.runs.live.LiveRun` (start, pause, resume, step_once, stop, join, status,
message, queue_position, progress) and the race takes one slot of the same process-wide limiter.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Optional, Sequence

from ..build import count_parameters, parameter_count
from ..analysis.compare import accuracy_by_length, task_at_length
from ..devices import resolve_device
from .job import BackgroundJob, first_line
from .limiter import RunLimiter
from ..training import TrainConfig, Trainer, TrainingDiverged

# What one race may ask of the machine. A class server has a few cores shared by many
# browsers: a model that would take minutes per evaluation is refused up front.
BUDGETS = {
    "cpu": {"max_parameters": 1_000_000, "max_tokens_per_step": 16_384, "max_models": 6},
    "gpu": {"max_parameters": 50_000_000, "max_tokens_per_step": 1_000_000, "max_models": 8},
}


@dataclass(frozen=True)
class RaceEntry:
    """One competitor: a display name, its task (usually shared) and its model config.

    train_cfg: its own training settings (a training-set size, weight decay, early stopping),
        None for the race's. start_from: the name of an earlier entry whose final weights this
        one copies (`transformer.transfer.copy_compatible`) before its first step; it waits
        until that one has finished (pre-training, then fine-tuning, in one race).
    """

    name: str
    task: object
    model_cfg: object
    train_cfg: Optional[TrainConfig] = None
    start_from: Optional[str] = None


def check_budget(entries: Sequence[RaceEntry], batch_size: int, device_type: str = "cpu") -> dict[str, int]:
    """Refuse (ValueError naming the limit) a race too big for this machine, before any model
    is built; return {name: parameter count}."""
    budget = BUDGETS["gpu" if device_type in ("cuda", "mps") else "cpu"]
    if len(entries) > budget["max_models"]:
        raise ValueError(f"A race takes at most {budget['max_models']} models on this machine: remove some.")
    counts = {}
    for e in entries:
        # The trainer sizes the vocabulary and max_len from the task; count what it will build.
        cfg = replace(e.model_cfg, vocab_size=len(e.task.vocab), max_len=e.task.max_len(e.model_cfg.layout))
        counts[e.name] = n = parameter_count(cfg)
        if n > budget["max_parameters"]:
            raise ValueError(
                f"{e.name} has {n:,} parameters; this machine's limit is {budget['max_parameters']:,} per model: "
                "make d_model smaller or use fewer layers."
            )
        tokens = batch_size * cfg.max_len
        if tokens > budget["max_tokens_per_step"]:
            raise ValueError(
                f"{e.name} would read {tokens:,} tokens per step; this machine's limit is "
                f"{budget['max_tokens_per_step']:,}: use a smaller batch or a shorter length."
            )
    return counts


class RaceRun(BackgroundJob):
    """Train several models on a task in one background thread, least-compute-first.

    entries: the competitors (names must differ). train_cfg: the same for all (steps,
    max_seconds and until_acc are per model: a model stops when it has reached its own).
    test_lengths: after training, each model is tested at exactly these lengths (in the task's
    unit), e.g. (N/2, N, 2N) for length generalisation. test_examples: examples per length.
    """

    thread_name = "tlab-race"

    def __init__(self, entries: Sequence[RaceEntry], train_cfg: Optional[TrainConfig] = None,
                 test_lengths: Sequence[int] = (), test_examples: int = 256,
                 limiter: Optional[RunLimiter] = None):
        names = [e.name for e in entries]
        if not names:
            raise ValueError("A race needs at least one model: pick one or more.")
        if len(set(names)) != len(names):
            raise ValueError("Two models in the race have the same name: give each a different one.")
        super().__init__(limiter)
        train_cfg = self._with_threads(train_cfg).validate()
        for e in entries:
            if e.start_from is not None and e.start_from not in names[:names.index(e.name)]:
                raise ValueError(f"{e.name} starts from '{e.start_from}', which is not a model listed before it.")
        check_budget(entries, train_cfg.batch_size, resolve_device(train_cfg.device).type)
        # Built here, in the caller's thread, so a bad configuration raises ValueError at once.
        self.trainers = {e.name: Trainer(e.task, e.model_cfg, self._with_threads(e.train_cfg) if e.train_cfg
                                         else train_cfg) for e in entries}
        self.entries = {e.name: e for e in entries}
        self.train_cfg = train_cfg
        self.transfers: dict[str, str] = {}  # name -> what copy_compatible copied, once it has
        self.parameters = {name: count_parameters(t.model) for name, t in self.trainers.items()}
        self.test_lengths, self.test_examples = tuple(test_lengths), test_examples

        self._lock = threading.Lock()  # guards the published data below
        self._evals: dict[str, list] = {n: [] for n in names}
        self._losses: dict[str, list] = {n: [] for n in names}
        self._weights: dict[str, dict] = {}
        self._model_status = {n: "waiting" for n in names}
        self._model_message = {n: "" for n in names}
        self._lengths: dict[str, list] = {}
        self._train_s = {n: 0.0 for n in names}

    # ----------------------------------------------------------------- state (any thread)

    @property
    def names(self) -> list[str]:
        return list(self.entries)

    @property
    def evals(self) -> dict[str, list[dict]]:
        """{name: evaluation rows}: step, loss, val_loss, token_acc, seq_acc, elapsed_s, train_s."""
        with self._lock:
            return {n: list(rows) for n, rows in self._evals.items()}

    @property
    def losses(self) -> dict[str, list[tuple]]:
        """{name: [(step, train_s, training loss), ...]} one per step."""
        with self._lock:
            return {n: list(rows) for n, rows in self._losses.items()}

    @property
    def model_status(self) -> dict[str, str]:
        """{name: "waiting" | "training" | "finished" | "failed" | "stopped"}."""
        with self._lock:
            return dict(self._model_status)

    @property
    def model_messages(self) -> dict[str, str]:
        with self._lock:
            return dict(self._model_message)

    @property
    def length_results(self) -> dict[str, list[dict]]:
        """{name: rows from `compare.accuracy_by_length`} once training ends (not when stopped)."""
        with self._lock:
            return {n: list(rows) for n, rows in self._lengths.items()}

    @property
    def progress(self) -> dict:
        """{name: {"step", "total", "train_s", "status"}} for every model."""
        with self._lock:
            return {n: {"step": self.trainers[n].step_count, "total": self.trainers[n].cfg.steps,
                        "train_s": self._train_s[n], "status": self._model_status[n]} for n in self.entries}

    def model_copy(self, name: str):
        """A fresh CPU model in eval mode with `name`'s weights at its latest evaluation."""
        from ..build import build_model

        if name not in self.entries:
            raise ValueError(f"No model named '{name}' in this race: choose one of {', '.join(self.entries)}.")
        trainer = self.trainers[name]
        with self._lock:
            state = self._weights.get(name)
        model = build_model(trainer.model_cfg)
        if state is not None:
            model.load_state_dict(state)
        else:  # not trained yet: the initial weights are still in the (idle) trainer's model
            model.load_state_dict({k: v.detach().cpu() for k, v in trainer.model.state_dict().items()})
        return model.eval()

    # ----------------------------------------------------------------- the race thread

    def _set_model(self, name: str, status: str, message: str = "") -> None:
        with self._lock:
            self._model_status[name] = status
            self._model_message[name] = message

    def _main(self) -> None:
        if not self.limiter.acquire(self, cancelled=lambda: self._stop_requested):
            self._set_status("stopped")
            return
        try:
            with self._cond:
                self._status = self._starting_status()
            for name, entry in self.entries.items():
                if entry.start_from is None:  # the others wait for the weights they start from
                    self._evaluate(name)
                    self._set_model(name, "training")
            stopped = self._race()
            for name, trainer in self.trainers.items():
                # The last row of every curve describes the final weights.
                if self._model_status[name] == "waiting":  # stopped before its start
                    self._set_model(name, "stopped")
                    continue
                if self._model_status[name] != "failed" and self._evals[name][-1]["step"] != trainer.step_count:
                    self._evaluate(name)
                if self._model_status[name] == "training":
                    self._set_model(name, "stopped")
            if not stopped and self.test_lengths:
                self._set_status(self._status, "Testing every model at other lengths…")
                self._test_lengths()
            self._set_status("stopped" if stopped else "finished", "Stopped." if stopped else "Race finished.")
        except Exception as err:  # surface any failure as a status, never a dead silent thread
            self.error = err
            self._set_status("failed", f"The race stopped with an error ({type(err).__name__}: {first_line(err)}).")
        finally:
            self.limiter.release(self)

    def _race(self) -> bool:
        """Step the least-trained model until every model is done; True when stopped."""
        while True:
            running = [n for n in self.entries if self._model_status[n] == "training"]
            for name in running:
                trainer = self.trainers[name]
                reason = trainer.done()
                if reason == "early_stop":  # the best weights go back, and the curve's last row says so
                    trainer.stop_reason = reason
                    trainer.early.restore(trainer.model, trainer.step_count)
                    self._evaluate(name)
                if reason:
                    self._set_model(name, "finished", _reason_text(reason, trainer))
            self._start_waiting()
            running = [n for n in self.entries if self._model_status[n] == "training"]
            if not running:
                return False
            if self._gate():
                return True
            name = min(running, key=lambda n: self._train_s[n])  # least own compute goes next
            trainer = self.trainers[name]
            try:
                row = trainer.train_step()
            except TrainingDiverged as err:
                self._set_model(name, "failed", str(err))
                continue
            with self._lock:
                self._train_s[name] += row["step_s"]
                self._losses[name].append((row["step"], self._train_s[name], row["loss"]))
            if trainer.step_count % self.train_cfg.eval_every == 0:
                self._evaluate(name)

    def _start_waiting(self) -> None:
        """Start each waiting model whose source has finished, from the source's final weights."""
        from ..transfer import copy_compatible

        for name, entry in self.entries.items():
            source = entry.start_from
            if self._model_status[name] != "waiting" or source is None:
                continue
            if self._model_status[source] == "failed":
                self._set_model(name, "failed", f"it starts from {source}, which failed")
            elif self._model_status[source] == "finished":
                report = copy_compatible(self.trainers[name].model, self.trainers[source].model.state_dict())
                with self._lock:
                    self.transfers[name] = report.sentence()
                self._evaluate(name)
                self._set_model(name, "training")

    def _gate(self) -> bool:
        """True to stop; blocks while paused (a pending single step lets one step through)."""
        with self._cond:
            while True:
                if self._stop_requested:
                    return True
                if self._pending_steps:
                    self._pending_steps -= 1
                    return False
                if not self._paused:
                    self._status = "training"
                    return False
                self._status = "paused"
                self._cond.wait()

    def _evaluate(self, name: str) -> None:
        trainer = self.trainers[name]
        row = dict(trainer.evaluate_and_log())
        row["train_s"] = self._train_s[name]
        state = {k: v.detach().to("cpu", copy=True) for k, v in trainer.model.state_dict().items()}
        with self._lock:
            self._evals[name].append(row)
            self._weights[name] = state

    def _test_lengths(self) -> None:
        for name, entry in self.entries.items():
            if self._stop_requested:
                return
            tasks, errors = {}, []
            for length in self.test_lengths:
                try:
                    tasks[length] = task_at_length(entry.task, length)
                except ValueError as err:
                    errors.append({"length": length, "error": str(err)})
            trainer = self.trainers[name]
            rows = accuracy_by_length(trainer.model, tasks, self.test_examples, seed=self.train_cfg.seed + 20_000)
            with self._lock:
                self._lengths[name] = sorted(rows + errors, key=lambda r: r["length"])


def _reason_text(reason: str, trainer: Trainer) -> str:
    if reason == "until_acc":
        what = "sequence" if trainer.cfg.until_metric == "seq_acc" else "token"
        return f"reached {trainer.cfg.until_acc:.0%} {what} accuracy at step {trainer.step_count}"
    if reason == "max_seconds":
        return f"used its {trainer.cfg.max_seconds:g} s of compute"
    if reason == "early_stop":
        return trainer.early.message()
    return f"finished its {trainer.cfg.steps} steps"


# --------------------------------------------------------------------------------------------
# Planning a race: the transformer and parameter-matched recurrent models on one task
# --------------------------------------------------------------------------------------------

SHORT_NAMES = {"decoder": "Transformer", "rnn": "RNN", "gru": "GRU", "lstm": "LSTM",
               "lstm-seq2seq": "LSTM enc-dec", "lstm-seq2seq-attn": "LSTM enc-dec + attention"}
RACE_ARCHS = ("decoder", "rnn", "gru", "lstm")


def default_test_lengths(task) -> tuple[int, ...]:
    """N/2, N, 3N/2 and 2N in the task's own length unit (N = its training length)."""
    from ..analysis.compare import task_length

    n = task_length(task)
    lengths = set()
    for want in (max(1, n // 2), n, max(n + 1, (3 * n) // 2), 2 * n):
        for length in (want, want + 1):  # brackets only come in even lengths
            try:
                task_at_length(task, length)
            except ValueError:
                continue
            lengths.add(length)
            break
    return tuple(sorted(lengths))


def plan_race(task, archs: Sequence[str] = RACE_ARCHS, transformer: Optional[dict] = None,
              rnn_layers: int = 1) -> list[RaceEntry]:
    """Entries for a fair race on `task`: the transformer (the task's preset, with `transformer`
    overrides such as d_model, n_heads, n_layers, d_ff, pos_encoding) and each recurrent arch
    in `archs` with its hidden size matched to the transformer's parameter count (±10%).

    Recurrent models default to one layer: for a fixed parameter budget one wide layer keeps
    more memory in its state than two narrow ones, which gives them their best chance.
    """
    from ..analysis.compare import matched_configs

    unknown = [a for a in archs if a not in RACE_ARCHS]
    if unknown:
        raise ValueError(f"A race takes {', '.join(RACE_ARCHS)}; '{unknown[0]}' is not one of them.")
    if not archs:
        raise ValueError("Pick at least one model for the race.")
    for arch in archs:
        task.check_arch(arch)
    t_cfg = task.model_config("decoder", **(transformer or {}))
    recurrent = [a for a in archs if a != "decoder"]
    configs = matched_configs(t_cfg, recurrent, n_layers=rnn_layers)
    return [RaceEntry(SHORT_NAMES[a], task, configs[a]) for a in RACE_ARCHS if a in archs]


# Tasks a race runs on, the unit of their length, and how their training inputs vary in length.
RACE_TASKS = {
    "reverse": {"unit": "letters", "fixed": {"min_length": 1}},
    "copy": {"unit": "letters", "fixed": {"min_length": 1}},
    "recall": {"unit": "key-value pairs", "fixed": {}},
    "parity": {"unit": "bits", "fixed": {"min_length": 1}},
    "brackets": {"unit": "brackets", "fixed": {"min_length": 2}},
}


def race_task(name: str, length: int):
    """The task `name` with inputs up to `length` long (in its own unit; recall: pairs).

    Training inputs vary in length (from 1 up to `length`) where the task allows, so a
    model meets every length up to N and "accuracy against length" compares like with like.
    """
    from ..analysis.compare import length_param
    from ..tasks import TASKS, get_task

    if name not in RACE_TASKS:
        raise ValueError(f"The race runs on {', '.join(RACE_TASKS)}; '{name}' is not one of them.")
    key = length_param(TASKS[name]())
    return get_task(name, **{key: int(length), **RACE_TASKS[name]["fixed"]})
