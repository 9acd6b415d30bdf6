"""Measure the Vision Transformer against its parameter-matched CNN on the shapes task.

    python scripts/measure_vit.py                       # the preset's time to target, then the sizes
    python scripts/measure_vit.py --sizes 200 1000 5000 --steps 600 --seeds 0 1
    python scripts/measure_vit.py --only preset --threads 2 --json

Two measurements, both seeded, so a quiet machine reproduces them:

1. preset: the ViT preset exactly as the app trains it (stopping at its target held-out
   accuracy): steps, wall seconds (the trainer's clock, evaluations included) and the CPU
   seconds the process used. On a busy shared machine CPU seconds with --threads 1 is the
   better guide to what an idle core would take.
2. sizes: ViT and CNN (same data, same seed, same steps and optimizer settings) trained on
   `train_size` fixed pictures reused epoch after epoch, for each size, and on a fresh stream
   ("all"); the held-out accuracy each reaches, best and final. This is the "inductive bias"
   question: the seeds' claim is that the CNN wins with little data; this prints what this run shows.

Timings depend on what else runs on the machine: a measurement, not a test.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from transformer.build import count_parameters  # noqa: E402
from transformer.cnn import matched_cnn_config  # noqa: E402
from transformer.presets import preset_configs  # noqa: E402
from transformer.tasks import get_task  # noqa: E402
from transformer.training import Trainer  # noqa: E402


def load() -> str:
    try:
        return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        return "load unknown"


def measure_preset(task, threads: int, seed: int) -> dict:
    """The ViT preset until it reaches its target (or runs out of steps)."""
    preset = task.preset("vit")
    model_cfg, train_cfg = preset_configs(task, "vit", stop_at_target=True)
    train_cfg = replace(train_cfg, seed=seed, device="cpu", threads=threads)
    trainer = Trainer(task, model_cfg, train_cfg)
    wall, cpu = time.perf_counter(), time.process_time()
    trainer.run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"what": "preset", "seed": seed, "target": preset.target_acc, "stated_s": preset.seconds,
            "reached": trainer.stop_reason == "until_acc", "steps": trainer.step_count,
            "seq_acc": trainer.evals[-1]["seq_acc"], "seconds": round(wall, 1), "cpu_s": round(cpu, 1),
            "parameters": count_parameters(trainer.model), "threads": threads, "machine": load()}


def measure_size(task, size: int | None, steps: int, threads: int, seed: int) -> list[dict]:
    """ViT and CNN on the same `size` training pictures (None: a fresh stream), same steps."""
    vit_cfg, train_cfg = preset_configs(task, "vit")
    vit_cfg = replace(vit_cfg, vocab_size=len(task.vocab), max_len=task.max_len("image"))
    train_cfg = replace(train_cfg, steps=steps, seed=seed, device="cpu", threads=threads, train_size=size,
                        eval_size=512)
    rows = []
    for arch, cfg in (("vit", vit_cfg), ("cnn", matched_cnn_config(vit_cfg))):
        trainer = Trainer(task, cfg, train_cfg)
        start = time.perf_counter()
        trainer.run()
        rows.append({"what": "size", "arch": arch, "train_size": size or "all", "seed": seed, "steps": steps,
                     "parameters": count_parameters(trainer.model),
                     "best_val_acc": max(r["seq_acc"] for r in trainer.evals),
                     "final_val_acc": trainer.evals[-1]["seq_acc"],
                     "final_train_acc": trainer.evals[-1].get("train_seq_acc"),
                     "seconds": round(time.perf_counter() - start, 1), "machine": load()})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=("preset", "sizes"), help="run one of the two measurements")
    parser.add_argument("--sizes", type=int, nargs="*", default=[100, 300, 1000, 3000],
                        help="training-set sizes (a fresh stream is always measured too)")
    parser.add_argument("--steps", type=int, default=800, help="steps per size run")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args(argv)
    task = get_task("shapes")
    rows = []
    for seed in args.seeds:
        if args.only in (None, "preset"):
            rows.append(measure_preset(task, args.threads, seed))
            print(json.dumps(rows[-1]) if args.json else rows[-1], flush=True)
        if args.only in (None, "sizes"):
            for size in [*args.sizes, None]:
                for row in measure_size(task, size, args.steps, args.threads, seed):
                    rows.append(row)
                    print(json.dumps(row) if args.json else row, flush=True)
    if not args.json:
        sizes = [r for r in rows if r["what"] == "size"]
        if sizes:
            print("\ntrain_size  seed  ViT best/final  CNN best/final  (held-out accuracy)")
            for i in range(0, len(sizes), 2):
                v, c = sizes[i], sizes[i + 1]
                print(f"{str(v['train_size']):>10}  {v['seed']:>4}  {v['best_val_acc']:6.1%} / {v['final_val_acc']:6.1%}"
                      f"  {c['best_val_acc']:6.1%} / {c['final_val_acc']:6.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
