"""A small race for lesson 11, on the RNN vs Transformer page's machinery (`transformer.runs.race`).

`plan_race` gives the task's transformer preset and recurrent models with about the same number
of parameters; `RaceRun` trains them in one background thread, always stepping the model that
has used the least compute, so they share the same data, seed, optimizer and budget. The race
is kept as one of this session's lesson runs (stopped when the tab closes). The page with every
option is "RNN vs Transformer"; here a lesson gets one button and the live curves.
"""
from __future__ import annotations

import streamlit as st

from ..runs.job import ACTIVE
from .lesson_models import lesson_runs
from .text import plain


def _plan(task_name: str, length: int | None, archs: list[str], seed: int, steps: int | None = None):
    from dataclasses import replace

    from ..analysis.compare import task_length
    from ..runs.race import plan_race, race_task
    from ..tasks import get_task
    from ..presets import preset_configs

    task = race_task(task_name, length if length is not None else task_length(get_task(task_name)))
    entries = plan_race(task, archs)
    _, train_cfg = preset_configs(task, "decoder")
    return task, entries, replace(train_cfg, seed=seed, steps=steps or train_cfg.steps)


def race_settings(params) -> tuple[str, int | None, list[str], int | None]:
    """(task, length, archs, steps) from a lesson's params: a named preset of the RNN vs
    Transformer page (`transformer.presets.RACE_PRESETS`), or task / length / archs given directly."""
    from ..presets import RACE_PRESETS

    archs = list(params.get("archs", ["decoder", "lstm", "rnn"]))
    name = params.get("preset")
    if name is not None:
        if name not in RACE_PRESETS:
            raise ValueError(f"There is no race preset '{name}': choose one of {', '.join(RACE_PRESETS)}.")
        preset = RACE_PRESETS[name]
        return preset["task"], preset.get("length"), list(preset.get("archs", archs)), preset.get("steps")
    return params.get("task", "reverse"), params.get("length"), archs, params.get("steps")


def race_widget(ctx) -> None:
    """ctx.params: a race preset, or task / archs (decoder first) / length. A start button, then live curves."""
    from ..runs.race import RaceRun

    task_name, length, archs, steps = race_settings(ctx.params)
    key = ("race", task_name, length, tuple(archs), steps, int(ctx.seed))
    runs = lesson_runs()
    race = runs.get(key)
    if race is None or race.status == "failed":
        if race is not None:
            st.warning(plain(f"The last race failed: {race.message or 'no reason given'} Try again below."))
        task, entries, train_cfg = _plan(task_name, length, archs, ctx.seed, steps)
        seconds = task.preset("decoder").seconds * train_cfg.steps / task.preset("decoder").train["steps"]
        sizes = ", ".join(e.name for e in entries)
        st.markdown(f"**{task.title or task.name}**, {train_cfg.steps} steps for each of {sizes} "
                    f"(about the same number of parameters), seed {ctx.seed}.")
        if st.button(f"Start the race (about {seconds * len(entries):.0f} s)", key=f"{ctx.key}.race",
                     type="primary"):
            runs.add(key, RaceRun(entries, train_cfg).start(), f"Lesson race {task.name}")
            st.rerun()
        ctx.wait("Start the race first: the answer is how it ends.")
        return
    if show_race(ctx, race, "The race is still running: watch it to the end, then compare.", _draw, race):
        report_race(ctx, race.evals)


def show_race(ctx, race, waiting: str, draw, *args) -> bool:
    """Draw a lesson's race with `draw(ctx, *args)`: in a fragment refreshed every second (with
    `live=True`, and `waiting` in place of the answer) while it runs, once when it has ended.
    True when it has ended, so the caller reports its numbers."""
    if race.status in ACTIVE:
        ctx.wait(waiting)
        st.fragment(draw, run_every=1.0)(ctx, *args, live=True)
        return False
    draw(ctx, *args)
    return True


def report_race(ctx, evals: dict) -> None:
    """The race's final numbers: each model's share of answers entirely right (%), and its steps."""
    for name, rows in evals.items():
        if rows:
            ctx.report(f"{name.lower()}_acc_pct", 100 * rows[-1]["seq_acc"])
            ctx.report("steps", rows[-1]["step"])


def _draw(ctx, race, live: bool = False) -> None:
    from ..figures.compare import race_curves
    from .state import memo

    if live and race.status not in ACTIVE:
        st.rerun()                                    # the race just ended: redraw the page once
    # Built once per evaluation, not once a second, and redrawn in place (the reader's zoom stays).
    version = (id(race), tuple(len(rows) for rows in race.evals.values()), ctx.presenter)
    fig = memo(f"{ctx.key}.race_fig", version,
               lambda: race_curves(race.evals, x="step", title="Same task, same data, same steps: who learns it?"))
    ctx.plot_live({"race": fig}, "race_curves", columns=1)
    cells = []
    for name, p in race.progress.items():
        rows = race.evals[name]
        acc = f"{rows[-1]['seq_acc']:.0%}" if rows else "–"
        cells.append(f"**{name}** ({race.parameters[name]:,} parameters): step {p['step']} of {p['total']}, "
                     f"{p['train_s']:.0f} s of compute, {acc} right")
    state = race.status if race.status != "queued" else f"queued (position {race.queue_position or 1})"
    st.markdown(f"Race {state}.  \n" + "  \n".join(cells))
    st.caption("More races, lengths and the per-second view on the RNN vs Transformer page.")
