"""Trained models for the lessons: the preset a step needs, trained on demand and kept.

A lesson step that shows a trained model names its task and architecture (``task = "dates"``,
``arch = "encoder-decoder"``). `lesson_model` finds one in this order:

1. the session's current model (Train page, uploaded checkpoint), when it is that task and
   architecture and is not still training;
2. a model this session already trained for a lesson (kept, so going back a step is instant);
3. otherwise it draws a button "Train the preset (about N s)" and returns None.

Lesson runs are `LiveRun`s with the task's preset and the link's seed, stopping at the preset's
target accuracy. They live in the session's run registry under "lesson:..." slots, apart from
the session's own run (a lesson never throws away what a student trained on the Train page),
and stop when the browser tab closes, like every run of the session.
"""
from __future__ import annotations

from dataclasses import replace

import streamlit as st

from ..config import ARCH_LABELS
from ..runs.job import ACTIVE
from ..runs.live import LiveRun
from ..tasks import get_task
from ..presets import DEMOS, preset_configs
from .lesson_context import wait
from .session import CurrentModel, current_model, session_runs
from .text import plain
from .widgets import run_progress

# Lesson runs evaluate at least every 10 steps: a preset's 50 would stop the reverse run at its
# target after three points (0, 0, 0.996), hiding the S-shaped rise lesson 9 asks about
# (every 10 steps, seed 0, measured: 0 until step 50, then 0.38, 0.82, 0.93).
LESSON_EVAL_EVERY = 10


def lesson_slot(key: tuple) -> str:
    """The registry slot of a lesson run: ("dates", "encoder-decoder", 0) -> "lesson:dates/encoder-decoder/0"."""
    return "lesson:" + "/".join(map(str, key))


class LessonRuns:
    """The lesson runs of a session's registry, keyed by (task, arch, seed) or a demo's or a race's key."""

    def __init__(self, registry):
        self.registry = registry

    def get(self, key: tuple) -> LiveRun | None:
        return self.registry.get(lesson_slot(key))

    def start(self, key: tuple, task_name: str, arch: str, seed: int, demo: str | None = None) -> LiveRun:
        """Start the task's preset for `arch` with `seed`, stopping at the preset's target;
        or a named demo from `DEMOS` (which runs its full length: the whole curve is the point)."""
        if demo is not None:
            task, model_cfg, train_cfg, _ = DEMOS[demo]()
            return self.start_configs(key, task, model_cfg, replace(train_cfg, seed=seed))
        task = get_task(task_name)
        model_cfg, train_cfg = preset_configs(task, arch, stop_at_target=True)
        train_cfg = replace(train_cfg, seed=seed, eval_every=min(train_cfg.eval_every, LESSON_EVAL_EVERY))
        return self.start_configs(key, task, model_cfg, train_cfg)

    def start_configs(self, key: tuple, task, model_cfg, train_cfg) -> LiveRun:
        """Start a run with explicit configs under `key` (a previous run there is stopped).

        Through the server's preset cache (`transformer.runs.preset_cache`): lesson runs are
        seeded, so thirty students pressing the same button share one run, and a run trained
        before (by anyone, even before a restart) is reused at once with its whole history.
        """
        from ..runs.preset_cache import default_cache

        run = default_cache().open(task, model_cfg, train_cfg)
        return self.add(key, run, f"Lesson {task.name} ({model_cfg.arch})")

    def add(self, key: tuple, run, label: str = "Lesson run"):
        """Keep a started run (a LiveRun or a RaceRun) under `key`; stop the one it replaces.
        `label` names it in the sidebar."""
        return self.registry.put(lesson_slot(key), run, label)

    def model(self, key: tuple, snapshots: list | None = None):
        """The run's model at its newest snapshot (rebuilt once per snapshot, then cached)."""
        return self.registry.model(lesson_slot(key), snapshots)


def lesson_runs() -> LessonRuns:
    """This browser session's lesson runs (stopped when the session ends)."""
    return LessonRuns(session_runs())


def _progress(run: LiveRun, label: str) -> None:
    """Progress of a lesson run; reruns the page once when the run ends."""
    if run.status not in ACTIVE:
        st.rerun()
    run_progress(run, f"Training {label}", "waiting for a free slot: queued, position {position}")


def preset_button_label(task_name: str, arch: str) -> str:
    task = get_task(task_name)
    seconds = task.preset(arch).seconds
    return f"Train the preset: {task.title or task.name}, {ARCH_LABELS.get(arch, arch)} (about {seconds:.0f} s)"


def lesson_run(task_name: str, arch: str, seed: int, key: str, demo: str | None = None) -> LiveRun | None:
    """This session's lesson run for (task, arch, seed) or a named demo, or None after drawing
    the offer to train it.

    The run may still be training: callers that draw live curves use it as it is;
    `lesson_model` waits for it to end.
    """
    runs = lesson_runs()
    run_key = (task_name, arch, int(seed)) if demo is None else ("demo", demo, int(seed))
    run = runs.get(run_key)
    if run is not None and run.status != "failed":
        if run.status in ACTIVE:
            wait("The model is still training: watch it, then compare.")
        return run
    wait("Train the model above first: the answer is what it shows.")
    if run is not None:
        st.warning(plain(f"The last training run failed: {run.message or 'no reason given'} Try again below."))
    if demo is not None:
        label = f"Train the {demo} demo (about {DEMOS[demo]()[3]:.0f} s)"
    else:
        label = preset_button_label(task_name, arch)
    if st.button(label, key=f"{key}.train", type="primary"):
        runs.start(run_key, task_name, arch, int(seed), demo)
        st.rerun()
    return None


def lesson_model(task_name: str, arch: str, seed: int, key: str) -> CurrentModel | None:
    """A trained model of `task_name` with `arch` for a lesson step, or None (offer/progress drawn)."""
    current = current_model()
    if (current is not None and current.task.name == task_name and current.model.cfg.arch == arch
            and (current.run is None or current.run.status not in ACTIVE)):
        st.caption(f"Showing **{plain(current.label)}**, this session's current model.")
        return current
    run = lesson_run(task_name, arch, seed, key)
    if run is None:
        return None
    label = f"{task_name} · {ARCH_LABELS.get(arch, arch)}"
    if run.status in ACTIVE:
        st.fragment(_progress, run_every=1.0)(run, label)
        return None
    snapshots = run.snapshots
    model = lesson_runs().model((task_name, arch, int(seed)), snapshots)
    step = snapshots[-1].step if snapshots else 0
    st.caption(f"Showing the lesson's **{label}** model, trained for {step} steps with seed {seed}.")
    return CurrentModel(model=model, task=run.task, snapshots=snapshots, source="run",
                        label=f"{label} · step {step}", run=run)


