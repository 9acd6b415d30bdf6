"""What one browser session owns: its training run and the model its pages look at.

A run belongs to the browser tab that started it. Streamlit keeps one `SessionLab` per session
through ``st.cache_resource(scope="session", on_release=...)``: when the tab closes (its
websocket goes away) Streamlit drops the session's cache and calls `SessionLab.close`, which
stops the run and joins its thread (and so its training process), so no run outlives its page.

The session's *current model* is what the attention, embedding and lesson pages explore. A
session has one at a time, from whichever happened last:

* this session's run (started on the Train page, or a preset started by `ensure_model_widget`);
  its model is rebuilt from the newest snapshot, never read from the model being trained;
* a checkpoint uploaded on the Train page (which stops and replaces the run).

Only the page scripts call these functions; the training never touches Streamlit.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import streamlit as st

if TYPE_CHECKING:
    from ..runs.live import LiveRun

# PyTorch loads on first use, not at import: the home page and the sidebar of a session with
# no run need none of it (see `transformer.ui.warm_up`).

# How long a page waits for a replaced run's thread to finish its step in flight.
STOP_TIMEOUT_S = 10.0


@dataclass
class CurrentModel:
    """The model a page should show, with where it came from.

    model:     an nn.Module on the CPU in eval mode (a private copy: pages may run it freely)
    task:      the `transformer.tasks` task it was trained on
    snapshots: the run's snapshot history (oldest first) for scrubbing through training time;
               empty for an uploaded checkpoint
    source:    "run" (this session's run, including a preset run) or "checkpoint"
    label:     one line for a caption, e.g. "reverse · Transformer decoder · step 600"
    run:       the LiveRun when source == "run", else None
    meta:      the checkpoint's metadata (model_config, task, metrics, ...) for a checkpoint
    """

    model: Any
    task: Any
    snapshots: list = field(default_factory=list)
    source: str = "run"
    label: str = ""
    run: LiveRun | None = None
    meta: dict = field(default_factory=dict)

    @property
    def model_cfg(self):
        return self.model.cfg

    @property
    def step(self) -> int | None:
        return self.snapshots[-1].step if self.snapshots else None


class SessionLab:
    """One browser session's run, its uploaded checkpoint, and which of them is current.

    Methods are safe to call from the session's script thread; `close` may also be called by
    Streamlit from another thread when the session ends.
    """

    def __init__(self):
        self._lock = threading.RLock()
        self.run: LiveRun | None = None
        self.run_id = 0  # changes with every new run: a cache key for figures built from it
        self.run_origin: str | None = None  # "train" | "preset"
        self.checkpoint: CurrentModel | None = None
        self.current: str | None = None  # "run" | "checkpoint" | None
        self._model_cache: tuple | None = None  # ((run_id, step), model)
        self.closed = False

    def set_run(self, run: LiveRun | None, origin: str = "train") -> None:
        """Make `run` this session's run (None clears it); the previous run is stopped first."""
        with self._lock:
            old, self.run = self.run, run
            self.run_id += 1
            self.run_origin = origin if run is not None else None
            self._model_cache = None
            if run is not None:
                # One model per session: a new run replaces an uploaded checkpoint.
                self.checkpoint = None
                self.current = "run"
            elif self.current == "run":
                self.current = "checkpoint" if self.checkpoint is not None else None
        if old is not None and old is not run:
            old.stop(timeout=STOP_TIMEOUT_S)

    def set_checkpoint(self, loaded: CurrentModel | None) -> None:
        with self._lock:
            self.checkpoint = loaded
            if loaded is not None:
                self.current = "checkpoint"
            elif self.current == "checkpoint":
                self.current = "run" if self.run is not None else None

    def current_model(self) -> CurrentModel | None:
        with self._lock:
            if self.current == "checkpoint":
                return self.checkpoint
            run = self.run
            if self.current != "run" or run is None:
                return None
            snapshots = run.snapshots
            step = snapshots[-1].step if snapshots else -1
            key = (self.run_id, step)
            if self._model_cache is None or self._model_cache[0] != key:
                # A fresh model from the newest snapshot; cached so a page rerun costs nothing.
                self._model_cache = (key, run.model_copy(snapshots[-1] if snapshots else None))
            model = self._model_cache[1]
        label = f"{run.task.name} · {_arch_label(model.cfg.arch)} · step {max(step, 0)}"
        return CurrentModel(model=model, task=run.task, snapshots=snapshots, source="run", label=label, run=run)

    def close(self) -> None:
        """Stop the run and end its thread (the session has ended)."""
        with self._lock:
            self.closed = True
            run, self.run = self.run, None
        if run is not None:
            run.stop(timeout=STOP_TIMEOUT_S)


def _arch_label(arch: str) -> str:
    from ..config import ARCH_LABELS

    return ARCH_LABELS.get(arch, arch)


def _release(lab: SessionLab) -> None:
    lab.close()


@st.cache_resource(scope="session", on_release=_release, show_spinner=False)
def _session_lab() -> SessionLab:
    return SessionLab()


def get_lab() -> SessionLab:
    """This browser session's `SessionLab` (created on first use)."""
    return _session_lab()


def get_run() -> LiveRun | None:
    """This session's run, or None."""
    return get_lab().run


def set_run(run: LiveRun | None, origin: str = "train") -> None:
    """Replace this session's run (the old one is stopped and its thread joined)."""
    get_lab().set_run(run, origin)


def run_id() -> int:
    """A number that changes whenever this session's run is replaced (for cache keys)."""
    return get_lab().run_id


def run_is_active(run: LiveRun | None = None) -> bool:
    run = run if run is not None else get_run()
    if run is None:
        return False
    from ..runs.job import ACTIVE  # loaded already: a run exists

    return run.status in ACTIVE


def current_model() -> CurrentModel | None:
    """The model this session's pages should show, or None when there is none yet."""
    return get_lab().current_model()


def load_checkpoint_bytes(data: bytes, name: str = "checkpoint") -> CurrentModel:
    """Load an uploaded checkpoint and make it the current model.

    Raises `transformer.checkpoint.CheckpointError` (a ValueError, one sentence) for a bad file.
    """
    from ..checkpoint import load_checkpoint

    model, task, meta = load_checkpoint(data, device="cpu")
    label = f"{task.name} · {_arch_label(model.cfg.arch)} · from {name}"
    loaded = CurrentModel(model=model, task=task, snapshots=[], source="checkpoint", label=label, meta=meta)
    lab = get_lab()
    lab.set_run(None)  # one model per session: the loaded one replaces the run (which stops)
    lab.set_checkpoint(loaded)
    return loaded


def clear_checkpoint() -> None:
    get_lab().set_checkpoint(None)


def presenter_mode() -> bool:
    """True when the sidebar's "Presenter mode" toggle is on (pages may enlarge their figures)."""
    return bool(st.session_state.get("presenter_mode", False))
