"""Tiny trained lesson runs for the lesson tests (imported inside AppTest scripts, which can
only see modules on sys.path, not the test file's own helpers)."""
from __future__ import annotations


def seed_tiny_runs(lessons) -> None:
    """Put tiny, already trained lesson runs (and short races) where the lessons' trained parts
    look for them, so walking the course does not train a preset per step."""
    from dataclasses import replace

    from transformer.config import ModelConfig
    from transformer.presets import DEMOS
    from transformer.runs.race import RaceRun
    from transformer.tasks import get_task
    from transformer.training import TrainConfig
    from transformer.ui.lesson_models import lesson_runs
    from transformer.ui.lesson_race import _plan, race_settings
    from transformer.ui.lesson_generalisation import EXPERIMENTS as GENERALISATION
    from transformer.ui.lesson_generalisation import experiment_key, start_experiment

    defaults = {"attention_heatmap": ("reverse", "decoder"), "head_grid": ("sort", "decoder"),
                "date_cross_attention": ("dates", "encoder-decoder"), "embedding_space": ("sentiment", "encoder"),
                "training_curves": ("reverse", "decoder"), "train_preset": ("reverse", "decoder"),
                "output_layer": ("charlm", "decoder")}
    runs, started = lesson_runs(), []
    train = TrainConfig(steps=12, batch_size=8, eval_every=3, eval_size=16, warmup=2, device="cpu", threads=1)
    for lesson in lessons:
        for step in lesson.steps:
            w = step.widget
            if w is None:
                continue
            if w.name == "race":
                task_name, length, archs, steps = race_settings(w.params)
                key = ("race", task_name, length, tuple(archs), steps, 0)
                if runs.get(key) is None:
                    _, entries, cfg = _plan(task_name, length, archs, 0, steps)
                    started.append(runs.add(key, RaceRun(entries, replace(cfg, steps=4, eval_every=2, eval_size=16))
                                            .start()))
            elif w.name in GENERALISATION:  # Learning vs memorising: each experiment, a few steps per run
                if runs.get(experiment_key(GENERALISATION[w.name], 0)) is None:
                    started.append(start_experiment(GENERALISATION[w.name], 0, steps=4))
            elif w.name == "training_curves" and "demo" in w.params:
                key = ("demo", w.params["demo"], 0)
                if runs.get(key) is None:
                    task, cfg, _, _ = DEMOS[w.params["demo"]]()
                    started.append(runs.start_configs(key, task, cfg, train))
            elif w.name in defaults:
                task_name = w.params.get("task", defaults[w.name][0])
                arch = w.params.get("arch", defaults[w.name][1]) if w.name != "date_cross_attention" else "encoder-decoder"
                key = (task_name, arch, 0)
                if runs.get(key) is None:
                    task = get_task(task_name)
                    cfg = ModelConfig(vocab_size=task.vocab_size, max_len=task.max_len(ModelConfig(arch=arch).layout),
                                      arch=arch, d_model=16, n_heads=2, n_layers=2, d_ff=32)
                    started.append(runs.start_configs(key, task, cfg, train))
    import time

    from transformer.runs.job import ACTIVE

    deadline = time.monotonic() + 300          # a queue of runs on a loaded 2-core machine
    for run in started:
        while run.status in ACTIVE and time.monotonic() < deadline:
            run.join(timeout=5)
    assert not [r for r in started if r.status in ACTIVE], [r.status for r in started]
