"""The Learning vs memorising experiments as lesson parts: one button, the live curves, and the
numbers the lesson quotes (`transformer.analysis.generalisation.report_numbers`).

Each experiment is the page's own seeded plan, trained by `transformer.runs.race.RaceRun` and kept
as one of the session's lesson runs (stopped when the tab closes). The page
"Learning vs memorising" has the same experiments with a table and a seed setting.
"""
from __future__ import annotations

import streamlit as st

from ..runs.job import ACTIVE
from .lesson_models import lesson_runs
from .lesson_race import show_race
from .text import plain

BUTTONS = {"overfitting": "Train the five runs", "appetite": "Train the eight runs",
           "transfer": "Pre-train, then fine-tune"}
# The lesson widgets (`transformer.course.WIDGET_SPECS`) and the experiment each draws.
EXPERIMENTS = {"overfitting_experiment": "overfitting", "data_appetite": "appetite",
               "transfer_experiment": "transfer"}


def experiment_key(experiment: str, seed: int) -> tuple:
    """Where a lesson keeps this experiment's race (one per experiment and seed)."""
    return ("generalise", experiment, int(seed))


def start_experiment(experiment: str, seed: int, steps: int | None = None):
    """Start the experiment's race as a lesson run (`steps`: every run that long, for tests)."""
    from ..analysis.generalisation import PLANS
    from ..runs.race import RaceRun

    if steps is None:
        plan = PLANS[experiment](int(seed))
    elif experiment == "transfer":
        plan = PLANS[experiment](int(seed), pretrain_steps=steps, finetune_steps=steps)
    else:
        plan = PLANS[experiment](int(seed), steps=steps)
    race = RaceRun(plan.entries, plan.train_cfg).start()
    return lesson_runs().add(experiment_key(experiment, seed), race, f"Lesson: {plan.title}")


def _widget(ctx, experiment: str) -> None:
    from ..analysis.generalisation import PLANS

    plan = PLANS[experiment](int(ctx.seed))
    key = experiment_key(experiment, ctx.seed)
    runs = lesson_runs()
    race = runs.get(key)
    if race is None or race.status in ("failed", "stopped"):
        if race is not None:
            st.warning(plain(f"The last run did not finish ({race.message or race.status}). Run it again below."))
        st.markdown(f"**{plan.title}**: {len(plan.entries)} runs, {plan.total_steps:,} training steps in all, "
                    f"seed {ctx.seed}.")
        if st.button(BUTTONS[experiment], key=f"{ctx.key}.gen", type="primary"):
            start_experiment(experiment, ctx.seed)
            st.rerun()
        ctx.wait("Run the experiment first: the answer is how it ends.")
        return
    if show_race(ctx, race, "The experiment is still running: watch it to the end.", _draw, plan, race):
        report(ctx, plan, race.evals)


def report(ctx, plan, evals) -> None:
    from ..analysis.generalisation import report_numbers

    for name, value in report_numbers(plan, evals).items():
        ctx.report(name, value)


def _draw(ctx, plan, race, live: bool = False) -> None:
    from ..figures.generalisation import experiment_figures
    from .state import memo

    if live and race.status not in ACTIVE:
        st.rerun()  # it just ended: redraw the page once, with the numbers
    evals, status = race.evals, race.model_status
    version = (id(race), tuple(len(rows) for rows in evals.values()), tuple(status.values()), ctx.presenter)
    figs = memo(f"{ctx.key}.gen_figs", version,
                lambda: experiment_figures(plan, evals, [n for n, s in status.items() if s == "finished"],
                                           key=f"{ctx.key}.gen"))
    ctx.plot_live(figs, "gen_curves", columns=1)
    progress = race.progress
    done = sum(p["step"] for p in progress.values())
    state = race.status if race.status != "queued" else f"queued (position {race.queue_position or 1})"
    st.caption(f"Experiment {state}: {done:,} of {plan.total_steps:,} steps. "
               "The same experiment, with a table of every run, is on the Learning vs memorising page.")


def overfitting_experiment(ctx) -> None:
    """Overfitting and its cures: 200 addition sums, then dropout, weight decay, early stopping, 10× data."""
    _widget(ctx, "overfitting")


def data_appetite(ctx) -> None:
    """Validation accuracy against training-set size, transformer vs a matched LSTM."""
    _widget(ctx, "appetite")


def transfer_experiment(ctx) -> None:
    """Pre-train on unlabelled reviews, fine-tune on a few labelled ones, against from scratch."""
    _widget(ctx, "transfer")
