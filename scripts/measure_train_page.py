"""Numbers behind the Train page's learning-vs-memorising parts, re-runnable on a quiet machine.

    .venv/bin/python scripts/measure_train_page.py

1. A memorising run as the page trains it from the link
   `/train?task=addition&train_size=200&early_stop=8&steps=3000`: where early stopping stops,
   which step it keeps, and the training / held-out accuracies of the last and the kept weights.
2. The character model's preset: held-out next-character accuracy and the step of its lowest
   validation loss (its built-in text is small: it starts to memorise it within the preset).
3. What the page's character-model samples cost the server: building the model from a snapshot
   and writing 3 x 60 sampled characters (the page does it at most every 4 s while training).
Seeded: the same numbers on any machine, up to the timings.
"""
from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, without installing
from transformer.presets import preset_configs  # noqa: E402
from transformer.tasks import get_task  # noqa: E402
from transformer.training import Trainer, initial_model, run_configs, validation_examples # noqa: E402
from transformer.ui.charlm_panel import prompts_of, sampled_continuations # noqa: E402


# One thread per run, as the server gives a run when it trains two at a time on 2 cores: more
# threads than free cores make OpenMP spin (450 steps took 577 s at a load of 20 with the default).
THREADS = 1


def memorising() -> None:
    task = get_task("addition")
    model_cfg, train_cfg = preset_configs(task)
    train_cfg = dataclasses.replace(train_cfg, train_size=200, early_stop=8, steps=3000, threads=THREADS)
    start = time.perf_counter()
    trainer = Trainer(task, model_cfg, train_cfg)
    trainer.run()
    seconds = time.perf_counter() - start
    last, best = trainer.evals[-1], trainer.early.best_row
    print("1. addition, 200 training examples, early stop patience 8 (eval every "
          f"{train_cfg.eval_every} steps), {seconds:.1f} s")
    print("  ", trainer.stop_message())
    for label, row in (("last evaluation", last), ("kept (best) weights", best)):
        print(f"   {label:20s} step {row['step']:5d}: whole answers right, training {row['train_seq_acc']:.1%} / "
              f"held-out {row['seq_acc']:.1%}; tokens right {row['train_token_acc']:.1%} / {row['token_acc']:.1%}; "
              f"loss {row['train_loss']:.4f} / {row['val_loss']:.4f}")


def charlm() -> None:
    task = get_task("charlm")
    model_cfg, train_cfg = preset_configs(task)
    start = time.perf_counter()
    trainer = Trainer(task, model_cfg, dataclasses.replace(train_cfg, threads=THREADS))
    trainer.run()
    seconds = time.perf_counter() - start
    last = trainer.evals[-1]
    lowest = min(trainer.evals, key=lambda row: row["val_loss"])
    print(f"2. charlm preset, {trainer.step_count} steps, {seconds:.1f} s: next character right, "
          f"training {last['train_token_acc']:.1%} / held-out {last['token_acc']:.1%}; lowest validation loss "
          f"{lowest['val_loss']:.3f} at step {lowest['step']}, {last['val_loss']:.3f} at the end")


def sample_cost(repeats: int = 5) -> None:
    task = get_task("charlm")
    model_cfg, train_cfg = run_configs(task, *preset_configs(task))

    class Probe:  # what `prompts_of` reads from a LiveRun
        probe = validation_examples(task, 3, train_cfg.seed)

    prompts = prompts_of(Probe)
    builds, samples = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model = initial_model(model_cfg, 0).eval()
        t1 = time.perf_counter()
        sampled_continuations(model, task, prompts)
        samples.append(time.perf_counter() - t1)
        builds.append(t1 - t0)
    print(f"3. samples: build the model {1000 * min(builds):.0f} ms, write 3 x 60 characters "
          f"{1000 * min(samples):.0f} ms (best of {repeats}, {torch.get_num_threads()} thread(s))")


if __name__ == "__main__":
    torch.set_num_threads(THREADS)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    memorising()
    charlm()
    sample_cost()
