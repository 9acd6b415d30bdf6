"""The Vision transformer lesson's live part: a ViT and its matched CNN race on pictures.

Same machinery as the Vision transformer page (`transformer.runs.race.RaceRun` on the shapes
task's presets), one button and the live views: the accuracy curves, then the ViT's position
embedding similarity grid or its [CLS] attention on a held-out picture, refreshed at each
evaluation. When the race ends the part reports what it shows (`WIDGET_REPORTS["vision_race"]`):
each model's held-out accuracy, the steps, and numbers read off the position grid.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from ..runs.job import ACTIVE
from .lesson_models import lesson_runs
from .lesson_race import show_race
from .text import plain

VIEWS = ("positions", "cls")


def _plan(steps: int, train_size: int | None, seed: int):
    from dataclasses import replace

    from ..cnn import matched_cnn_config
    from ..presets import preset_configs
    from ..runs.race import RaceEntry
    from ..tasks import get_task
    from ..training import run_configs

    task = get_task("shapes")
    vit_cfg, train_cfg = run_configs(task, *preset_configs(task, "vit"))
    train_cfg = replace(train_cfg, steps=steps, seed=seed, eval_every=50, train_size=train_size)
    return task, [RaceEntry("ViT", task, vit_cfg), RaceEntry("CNN", task, matched_cnn_config(vit_cfg))], train_cfg


def vision_race(ctx) -> None:
    """ctx.params: steps (default 1000), train_size (none: a fresh picture every step), view
    ("positions" or "cls"). A start button, then live curves and the ViT's view."""
    from ..runs.race import RaceRun

    steps, train_size = int(ctx.get("steps", 1000)), ctx.get("train_size")
    view = ctx.get("view", "positions")
    if view not in VIEWS:
        st.error(f"The vision race shows 'positions' or 'cls', not '{plain(view)}'.")
        return
    key = ("vision", steps, train_size, int(ctx.seed))
    runs = lesson_runs()
    race = runs.get(key)
    if race is None or race.status == "failed":
        if race is not None:
            st.warning(plain(f"The last race failed: {race.message or 'no reason given'} Try again below."))
        task, entries, train_cfg = _plan(steps, train_size, int(ctx.seed))
        seconds = 2 * task.preset("vit").seconds * steps / task.preset("vit").train["steps"]
        data = "a fresh picture at every step" if train_size is None else f"the same {train_size:,} pictures, reused"
        st.markdown(f"**{task.title}**: a ViT and a CNN with about the same number of parameters, {steps} steps "
                    f"each on {data}, seed {ctx.seed}.")
        if st.button(f"Start the race: ViT against CNN (about {seconds:.0f} s)", key=f"{ctx.key}.vision",
                     type="primary"):
            runs.add(key, RaceRun(entries, train_cfg).start(), "Lesson: ViT vs CNN")
            st.rerun()
        ctx.wait("Start the race first: the answer is what it shows.")
        return
    show_race(ctx, race, "The race is still running: watch it to the end, then answer.", _draw, race, view)


def _views(race) -> dict:
    from ..analysis.vision import inspect_vit

    task = race.entries["ViT"].task
    examples = task.examples(4, seed=4321, split="val")
    return {"task": task, "examples": examples, **inspect_vit(race.model_copy("ViT"), task, examples)}


def _draw(ctx, race, view: str, live: bool = False) -> None:
    from ..figures.compare import race_curves
    from ..figures.vision import attention_overlay_grid, position_similarity, position_similarity_figure
    from .state import memo

    if live and race.status not in ACTIVE:
        st.rerun()  # the race just ended: redraw the page once, with its numbers
    evals = race.evals
    version = (id(race), tuple(len(rows) for rows in evals.values()), ctx.presenter)
    figs = memo(f"{ctx.key}.vision_figs", version, lambda: _figures(race, view, race_curves,
                                                                     attention_overlay_grid,
                                                                     position_similarity_figure))
    if figs is None:
        return
    curves, picture, views = figs
    ctx.plot_live({"race": curves}, "vision_curves", columns=1)
    cells = [f"**{name}** ({race.parameters[name]:,} parameters): step {p['step']} of {p['total']}, "
             + (f"{evals[name][-1]['seq_acc']:.0%} of held-out pictures right" if evals[name] else "–")
             for name, p in race.progress.items()]
    st.markdown("  \n".join(cells))
    ctx.plot_live({"view": picture}, "vision_view", columns=1)
    if race.status in ACTIVE:
        return
    for name, rows in evals.items():
        if rows:
            ctx.report(f"{name.lower()}_acc_pct", 100 * rows[-1]["seq_acc"])
    ctx.report("steps", evals["ViT"][-1]["step"] if evals["ViT"] else None)
    if views["pos"] is not None:
        sim, grid = position_similarity(views["pos"]), views["grid"]
        ctx.report("cos_6_7", sim[5, 6])  # patches 6 and 7: neighbours in the second row
        near, far = _neighbour_means(sim, grid)
        ctx.report("neighbour_cos", near)
        ctx.report("far_cos", far)


def _figures(race, view, race_curves, attention_overlay_grid, position_similarity_figure):
    if not race.evals["ViT"]:
        return None
    views = _views(race)
    curves = race_curves(race.evals, x="step", title="Same pictures, same steps, same size: who learns them?")
    step = race.evals["ViT"][-1]["step"]
    if view == "positions" and views["pos"] is not None:
        picture = position_similarity_figure(views["pos"], views["grid"],
                                             title=f"The ViT's position embeddings at step {step}: each tile, one patch "
                                                   "against all others")
    else:
        image = views["task"].pixels(views["examples"][0])
        maps = {name: m[0] for name, m in views["maps"].items()}
        picture = attention_overlay_grid(image, maps, views["patch"],
                                         title=f"Where [CLS] looks at step {step} (a held-out "
                                               f"{views['examples'][0].tgt[0]})")
    return curves, picture, views


def _neighbour_means(sim: np.ndarray, grid: int) -> tuple[float, float]:
    """Mean cosine of the position vectors of patches side by side (one step in row or
    column) and of patches at least 2 steps apart in both directions."""
    rows, cols = np.divmod(np.arange(grid * grid), grid)
    dr, dc = np.abs(rows[:, None] - rows[None]), np.abs(cols[:, None] - cols[None])
    near = (dr + dc) == 1
    far = (dr >= 2) & (dc >= 2)
    return float(sim[near].mean()), float(sim[far].mean()) if far.any() else float("nan")
