"""What one browser session owns: its runs and the model its pages look at.

A run belongs to the browser tab that started it. Streamlit keeps one `SessionLab` per session
through ``st.cache_resource(scope="session", on_release=...)``. Its `runs` registry holds every
run of the session by slot (`transformer.ui.runs`: the Train page's, the lessons', the races',
the positional-encoding experiment's); when the tab closes (its websocket goes away) Streamlit
drops the session's cache and calls `SessionLab.close`, which stops them all and joins their
threads (and so their training processes), so no run outlives its page.

The session's *current model* is what the attention, embedding and lesson pages explore. A
session has one at a time, from whichever happened last:

* this session's run, in the registry's "train" slot (started on the Train page, or a preset
  started by `ensure_model_widget`); its model is rebuilt from the newest snapshot, never read
  from the model being trained;
* a checkpoint uploaded on the Train page (which stops and replaces the run).

Only the page scripts call these functions; the training never touches Streamlit.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import streamlit as st

from .runs import RunRegistry

if TYPE_CHECKING:
    from ..runs.live import LiveRun

# PyTorch loads on first use, not at import: the home page and the sidebar of a session with
# no run need none of it (see `transformer.ui.warm_up`).

# The registry slot of the session's own run (the Train page's, or a preset a page started).
TRAIN = "train"


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
    """One browser session's runs, its uploaded checkpoint, and which model is current.

    Methods are safe to call from the session's script thread; `close` may also be called by
    Streamlit from another thread when the session ends.
    """

    def __init__(self):
        self._lock = threading.RLock()
        self.runs = RunRegistry()
        self.run_origin: str | None = None  # "train" | "preset" | "follow"
        self.checkpoint: CurrentModel | None = None
        self.current: str | None = None  # "run" | "checkpoint" | None
        self.share = None      # the class code (`transformer.runs.follow.Share`) this session's run is shared under
        self.following = None  # the Share this session follows, read only; None for its own runs

    @property
    def run(self) -> LiveRun | None:
        """This session's own run (the "train" slot), or None; while following, the teacher's
        run, read only (a `FollowedRun`)."""
        if self.following is not None:
            self._sync_follow()
        return self.runs.get(TRAIN)

    @property
    def run_id(self) -> int:
        """Changes with every new run: a cache key for figures built from it."""
        if self.following is not None:
            self._sync_follow()
        return self.runs.run_id(TRAIN)

    # ----------------------------------------------------------------- a class: share, follow

    def share_run(self, owner: str = ""):
        """Share this session's run under a class code (the same code for every later run)."""
        from ..runs.follow import default_classes

        with self._lock:
            if self.share is None:
                self.share = default_classes().share(lambda: self.runs.get(TRAIN), owner)
            elif owner:
                self.share.owner = owner
            return self.share

    def follow(self, share) -> None:
        """Watch the run shared as `share`, read only, instead of a run of this session's own."""
        with self._lock:
            self.following = share
        self.runs.clear(TRAIN)
        self._sync_follow()

    def unfollow(self) -> None:
        with self._lock:
            self.following = None
        self.set_run(None)

    def _sync_follow(self) -> None:
        """Put the teacher's current run, read only, into the "train" slot when it changed
        (the teacher pressed Train again): pages then see a new run, as for one's own."""
        share = self.following
        if share is None:
            return
        teacher = share.run()
        mine = self.runs.get(TRAIN)
        if teacher is None or getattr(mine, "followed", None) is teacher:
            return
        from ..runs.follow import FollowedRun

        with self._lock:
            self.run_origin, self.checkpoint, self.current = "follow", None, "run"
        self.runs.put(TRAIN, FollowedRun(teacher, share), f"{teacher.task.name} · followed")

    def set_run(self, run: LiveRun | None, origin: str = "train") -> None:
        """Make `run` this session's run (None clears it); the previous run is stopped first."""
        with self._lock:
            self.run_origin = origin if run is not None else None
            if run is not None:
                self.following = None  # a run of one's own ends following the teacher's
                # One model per session: a new run replaces an uploaded checkpoint.
                self.checkpoint = None
                self.current = "run"
            elif self.current == "run":
                self.current = "checkpoint" if self.checkpoint is not None else None
        label = f"{run.task.name} · {_arch_label(run.model_cfg.arch)}" if run is not None else None
        self.runs.put(TRAIN, run, label)

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
            # A fresh model from the newest snapshot, cached so a page rerun costs nothing.
            model = self.runs.model(TRAIN, snapshots)
        label = f"{run.task.name} · {_arch_label(model.cfg.arch)} · step {max(step, 0)}"
        return CurrentModel(model=model, task=run.task, snapshots=snapshots, source="run", label=label, run=run)

    def close(self) -> None:
        """Stop every run of the session and end their threads (the session has ended);
        followers of its run are told and keep the last snapshot."""
        if self.share is not None:
            from ..runs.follow import default_classes

            default_classes().end(self.share)
        self.runs.close()


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


def session_runs() -> RunRegistry:
    """This browser session's run registry (every page's runs, by slot)."""
    return get_lab().runs


def get_run() -> LiveRun | None:
    """This session's run, or None."""
    return get_lab().run


def set_run(run: LiveRun | None, origin: str = "train") -> None:
    """Replace this session's run (the old one is stopped and its thread joined)."""
    get_lab().set_run(run, origin)


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
    if model.cfg.is_image:  # the pages that show a current model read tokens, not pictures
        from ..checkpoint import CheckpointError

        raise CheckpointError(f"This checkpoint holds a picture model ({_arch_label(model.cfg.arch)}): the pages that "
                              "explore a model read text, so open it in Python (transformer.load_checkpoint) instead.")
    label = f"{task.name} · {_arch_label(model.cfg.arch)} · from {name}"
    loaded = CurrentModel(model=model, task=task, snapshots=[], source="checkpoint", label=label, meta=meta)
    lab = get_lab()
    lab.set_run(None)  # one model per session: the loaded one replaces the run (which stops)
    lab.set_checkpoint(loaded)
    return loaded


def presenter_mode() -> bool:
    """True when the sidebar's "Presenter mode" toggle is on (pages may enlarge their figures)."""
    return bool(st.session_state.get("presenter_mode", False))
