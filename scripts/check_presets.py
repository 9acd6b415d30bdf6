"""Train each task's preset and report how long it takes to reach its target accuracy.

    python scripts/check_presets.py                     # every task: recommended arch (+ decoder for seq tasks)
    python scripts/check_presets.py --tasks reverse dates --archs decoder encoder-decoder
    python scripts/check_presets.py --all-archs --threads 2 --json

Each preset promises to reach `target_acc` (measured as `preset.metric`) within 60 seconds on
2 CPU cores; this script is how that promise is checked and how presets were tuned. Timings
depend on the machine and on what else is running: it is a measurement, not a test.
`seconds` is the trainer's own clock (training plus evaluation, wall time); `cpu_s` is the CPU
time the process used, which on a busy shared machine is the better guide to what an idle
one would take (with --threads 1 it is close to the single-core wall time). `eval_s` is the part
of `seconds` spent evaluating: since every evaluation measures a training sample as well as the
held-out validation set, it runs twice the forward passes it used to. Validation is held out
(`split="val"`), so `best` is accuracy on questions the model never trained on; `train` is the
same metric on training examples at the end. On a machine
whose cores are busy, --threads 2 can be many times slower than 1: each step waits for the
slower of two threads that share one core with other processes.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from transformer.tasks import get_task, list_tasks  # noqa: E402
from transformer.presets import preset_configs  # noqa: E402
from transformer.training import Trainer  # noqa: E402


def archs_to_check(task, all_archs: bool, only: list[str] | None) -> list[str]:
    if only:
        return [a for a in only if a in task.archs]
    if all_archs:
        return list(task.archs)
    archs = [task.archs[0]]
    if task.kind == "seq" and "decoder" not in archs:
        archs.append("decoder")
    return archs


def check(task, arch: str, threads: int, seed: int, max_seconds: float) -> dict:
    """Train the preset until its target (or its step budget, or max_seconds) and measure."""
    preset = task.preset(arch)
    # The preset exactly as the app trains it: it stops itself at its target.
    model_cfg, train_cfg = preset_configs(task, arch, stop_at_target=True)
    train_cfg = replace(train_cfg, seed=seed, device="cpu", threads=threads, max_seconds=max_seconds)
    trainer = Trainer(task, model_cfg, train_cfg)
    wall, cpu = time.perf_counter(), time.process_time()
    trainer.run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    best = max(row[preset.metric] for row in trainer.evals)
    eval_s = trainer.elapsed - sum(row["step_s"] for row in trainer.history)
    return {
        "task": task.name, "arch": arch, "metric": preset.metric, "target": preset.target_acc,
        "reached": trainer.stop_reason == "until_acc", "step": trainer.step_count, "steps": preset.train["steps"],
        "seconds": round(trainer.elapsed, 1), "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "best": round(best, 4),
        "train": round(trainer.evals[-1]["train_" + preset.metric], 4), "eval_s": round(eval_s, 1),
        "evals": len(trainer.evals), "expected_s": preset.seconds,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="*", default=None, help="task names (default: all)")
    parser.add_argument("--archs", nargs="*", default=None, help="only these architectures")
    parser.add_argument("--all-archs", action="store_true", help="every architecture each task supports")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads per run (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=120.0, help="give up on one run after this long")
    parser.add_argument("--json", action="store_true", help="one JSON object per run")
    args = parser.parse_args(argv)

    failures = 0
    if not args.json:
        print(f"{'task':<10} {'arch':<18} {'metric':<9} {'target':>6} {'best':>6} {'train':>6} {'step':>9} {'seconds':>8} {'eval_s':>7} {'cpu_s':>7} {'preset_s':>8}  ok")
    for name in args.tasks or list_tasks():
        task = get_task(name)
        for arch in archs_to_check(task, args.all_archs, args.archs):
            row = check(task, arch, args.threads, args.seed, args.max_seconds)
            failures += not row["reached"]
            if args.json:
                print(json.dumps(row), flush=True)
            else:
                steps = f"{row['step']}/{row['steps']}"
                print(f"{row['task']:<10} {row['arch']:<18} {row['metric']:<9} {row['target']:>6.2f} {row['best']:>6.3f} {row['train']:>6.3f} "
                      f"{steps:>9} {row['seconds']:>8.1f} {row['eval_s']:>7.1f} {row['cpu_s']:>7.1f} {row['expected_s']:>8.0f}  {'yes' if row['reached'] else 'NO'}",
                      flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
