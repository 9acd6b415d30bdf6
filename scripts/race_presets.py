"""Each decoder preset against the plain learner (transformer.bench.PlainLearner), taking turns.

    python scripts/race_presets.py                          # the tasks of bench.RACE_TASKS
    python scripts/race_presets.py --tasks reverse:length=30 sort --threads 1
    python scripts/race_presets.py --set batch_size=64 warmup=50 eval_every=50   # a preset variant

Prints one JSON row per task: steps and seconds to the preset's target for both sides. The
load average is printed first: on a shared machine rerun on a quiet one before quoting.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from transformer.bench import RACE_TASKS, race_presets  # noqa: E402


def parse_value(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="*", default=None, help="name or name:param=value,... (default: bench.RACE_TASKS)")
    parser.add_argument("--set", nargs="*", default=[], help="TrainConfig overrides for the preset, key=value")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    tasks = RACE_TASKS
    if args.tasks:
        tasks = []
        for spec in args.tasks:
            name, _, rest = spec.partition(":")
            tasks.append((name, {k: parse_value(v) for k, v in (p.split("=") for p in rest.split(",") if p)}))
    overrides = {k: parse_value(v) for k, v in (s.split("=") for s in args.set)}
    print(json.dumps({"load": os.getloadavg(), "threads": args.threads, "overrides": overrides}), flush=True)
    for row in race_presets(tasks, args.seed, args.max_seconds, overrides):
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
