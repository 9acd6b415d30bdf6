"""The session's run registry (transformer.ui.runs): slots, replacing, stopping, closing."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from transformer.runs.job import ACTIVE, BackgroundJob
from transformer.runs.limiter import RunLimiter
from transformer.ui.runs import RunRegistry


class Spinner(BackgroundJob):
    """A job whose thread 'trains' until it is asked to stop (each wait is one 'step')."""

    def __init__(self):
        super().__init__(RunLimiter(8))

    def _main(self) -> None:
        with self._cond:
            self._status = "training"
            while not self._stop_requested:
                self._cond.wait(timeout=0.05)
            self._status = "stopped"


class Recorder:
    """A run that records the stop protocol instead of running a thread."""

    def __init__(self, name: str, log: list, status: str = "training"):
        self.name, self.log, self.status = name, log, status

    def stop(self, timeout=None):
        self.log.append(("stop", self.name, timeout))
        return False

    def join(self, timeout=None):
        self.log.append(("join", self.name, timeout))
        return True


@pytest.fixture
def registry():
    reg = RunRegistry(stop_timeout=30.0)
    yield reg
    reg.close()


def test_slots_hold_runs_by_name_and_prefix(registry):
    log = []
    runs = {slot: Recorder(slot, log) for slot in ("train", "race:main", "race:dates", "pe:rope")}
    for slot, run in runs.items():
        registry.put(slot, run, label=f"the {slot} run")
    assert registry.get("race:main") is runs["race:main"]
    assert registry.get("lesson:none") is None
    assert list(registry.slots("race:")) == ["race:main", "race:dates"]
    assert registry.label("pe:rope") == "the pe:rope run"
    runs["race:dates"].status = "finished"
    assert list(registry.active("race:")) == ["race:main"]
    assert log == []  # filling empty slots stops nothing


def test_replacing_a_slot_stops_the_old_run_and_changes_its_id(registry):
    first = registry.put("lesson:reverse/decoder/0", Spinner().start())
    before = registry.run_id("lesson:reverse/decoder/0")
    second = registry.put("lesson:reverse/decoder/0", Spinner().start())
    assert first.status == "stopped" and not first.alive
    assert second.status in ACTIVE and registry.get("lesson:reverse/decoder/0") is second
    assert registry.run_id("lesson:reverse/decoder/0") != before
    registry.put("lesson:reverse/decoder/0", None)  # emptying a slot stops its run too
    assert second.status == "stopped" and registry.slots() == {}


def test_stop_keeps_the_runs_and_clear_empties_only_its_prefix(registry):
    main, dates, train = (registry.put(slot, Spinner().start()) for slot in ("race:main", "race:dates", "train"))
    assert registry.stop("race:")
    assert main.status == dates.status == "stopped" and train.status in ACTIVE
    assert list(registry.slots()) == ["race:main", "race:dates", "train"]
    assert registry.clear("race:")
    assert list(registry.slots()) == ["train"] and train.status in ACTIVE


def test_closing_asks_every_run_first_then_waits_within_the_one_timeout():
    log = []
    registry = RunRegistry(stop_timeout=4.0)
    for slot in ("train", "lesson:dates/encoder-decoder/0", "race:main", "pe:learned"):
        registry.put(slot, Recorder(slot, log))
    assert registry.close()
    assert registry.closed and registry.slots() == {}
    stops = [entry for entry in log if entry[0] == "stop"]
    joins = [entry for entry in log if entry[0] == "join"]
    assert len(stops) == len(joins) == 4
    assert log[:4] == stops  # all asked before any is waited for
    assert all(timeout == 0 for _, _, timeout in stops)
    assert all(0 <= timeout <= 4.0 for _, _, timeout in joins)


def test_closing_ends_every_thread():
    registry = RunRegistry()
    runs = [registry.put(slot, Spinner().start()) for slot in ("train", "lesson:sort/decoder/0", "race:main")]
    assert registry.close()
    assert all(run.status == "stopped" and not run.alive for run in runs)


def test_model_is_rebuilt_once_per_snapshot(registry):
    built = []

    class Run(Recorder):
        snapshots = [SimpleNamespace(step=10)]

        def model_copy(self, snapshot):
            built.append(snapshot.step)
            return object()

    run = registry.put("train", Run("train", []))
    assert registry.model("train") is registry.model("train")
    run.snapshots = [SimpleNamespace(step=10), SimpleNamespace(step=20)]
    registry.model("train")
    assert built == [10, 20]
    assert registry.model("empty") is None


def test_session_lab_keeps_its_run_in_the_train_slot_and_closes_every_slot():
    from transformer.ui.session import TRAIN, SessionLab

    lab = SessionLab()
    run = SimpleNamespace(task=SimpleNamespace(name="reverse"), model_cfg=SimpleNamespace(arch="decoder"),
                          status="training", stop=lambda timeout=None: True, join=lambda timeout=None: True)
    lab.set_run(run)
    assert lab.run is run and lab.runs.get(TRAIN) is run and lab.current == "run"
    race = lab.runs.put("race:main", Spinner().start())
    lab.set_run(None)
    assert lab.run is None and lab.current is None and race.status in ACTIVE  # other slots untouched
    lab.close()
    assert race.status == "stopped" and lab.runs.slots() == {}
