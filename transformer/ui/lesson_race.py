"""A small race for lesson 9: a transformer and recurrent models on one task, drawn together.

The models get about the same number of parameters (`transformer.compare.matched_configs`), the
same data, seed, optimizer and number of steps. They train as this session's lesson runs (see
`lesson_models`), at the same time when the server has a free slot for each; a run that has to
wait says so, and the curves are drawn against optimizer steps so that waiting does not
distort the comparison. The full comparison lives on the RNN vs Transformer page.
"""
from __future__ import annotations

from dataclasses import replace

import streamlit as st

from ..config import ARCH_LABELS
from ..live import ACTIVE
from ..tasks import get_task
from ..training import preset_configs
from .lesson_models import lesson_runs

SHORT = {"decoder": "Transformer", "encoder": "Transformer (encoder)", "encoder-decoder": "Transformer (enc-dec)",
         "lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}


def race_configs(task_name: str, archs: list[str], seed: int) -> tuple:
    """(task, {arch: ModelConfig}, TrainConfig): the transformer's preset, recurrent models matched to it."""
    from ..compare import matched_configs

    task = get_task(task_name)
    model_cfg, train_cfg = preset_configs(task, archs[0])
    configs = matched_configs(model_cfg, [a for a in archs[1:]])
    return task, configs, replace(train_cfg, seed=seed)


def _keys(task_name: str, archs: list[str], seed: int) -> dict[str, tuple]:
    return {arch: ("race", task_name, arch, int(seed)) for arch in archs}


def race_widget(ctx) -> None:
    """Draw the race for ctx.params task / archs: a start button, then live curves."""
    task_name = ctx.get("task", "recall")
    archs = list(ctx.get("archs", ["decoder", "lstm", "rnn"]))
    runs = lesson_runs()
    keys = _keys(task_name, archs, ctx.seed)
    current = {arch: runs.get(key) for arch, key in keys.items()}
    task, configs, train_cfg = race_configs(task_name, archs, ctx.seed)
    if any(run is None for run in current.values()):
        from ..build import build_model, count_parameters

        sizes = ", ".join(f"{SHORT.get(a, a)} {count_parameters(build_model(c)):,}" for a, c in configs.items())
        seconds = task.preset(archs[0]).seconds
        st.markdown(f"**{task.title or task.name}**: {train_cfg.steps} steps each, seed {ctx.seed}. "
                    f"Parameters: {sizes}.")
        names = " vs ".join(SHORT.get(a, a) for a in archs)
        if st.button(f"Start the race: {names} (about {seconds * len(archs) / 2:.0f} s on 2 cores)",
                     key=f"{ctx.key}.race", type="primary"):
            for arch, cfg in configs.items():
                runs.start_configs(keys[arch], task, cfg, train_cfg)
            st.rerun()
        return
    active = any(run.status in ACTIVE for run in current.values())
    if active:
        st.fragment(_draw, run_every=1.0)(ctx, current, live=True)
    else:
        _draw(ctx, current)


def _draw(ctx, runs: dict, live: bool = False) -> None:
    from ..figures.compare import race_curves

    if live and not any(run.status in ACTIVE for run in runs.values()):
        st.rerun()                                    # the race just ended: redraw the page once
    histories = {SHORT.get(arch, arch): run.evals for arch, run in runs.items()}
    ctx.plot(race_curves(histories, x="step", title="Same task, same steps: who learns it?"), "race")
    cells = []
    for arch, run in runs.items():
        evals = run.evals
        acc = f"{evals[-1]['seq_acc']:.0%}" if evals else "–"
        state = run.status if run.status != "queued" else f"queued (position {run.queue_position or 1})"
        cells.append(f"**{SHORT.get(arch, arch)}**: {state}, step {run.progress['step']}, accuracy {acc}")
    st.markdown(" · ".join(cells))
    st.caption(f"{ARCH_LABELS.get(next(iter(runs)), '')} and recurrent models with about the same number of "
               "parameters. More on the RNN vs Transformer page.")
