"""Measure the three experiments of the Learning vs memorising page and print the README tables.

    python scripts/measure_generalisation.py                 # all three, seed 0
    python scripts/measure_generalisation.py --only transfer --seed 1

Each experiment is the page's own plan (`transformer.analysis.generalisation`), trained by the
same race machinery, so a teacher who presses the button with the same seed sees these
numbers (up to the small run-to-run noise of dropout on a busy machine). Wall-clock time is
printed with the machine's load average: on a shared machine it is an upper bound.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from transformer.analysis.generalisation import (FINETUNED, PLANS, SCRATCH, TRANSFER,  # noqa: E402
                                                 appetite_points, overfitting_table, transfer_result)
from transformer.runs.race import RaceRun  # noqa: E402


def _run(plan) -> tuple[RaceRun, float]:
    start = time.perf_counter()
    race = RaceRun(plan.entries, plan.train_cfg).start()
    race.join()
    if race.status != "finished":
        raise SystemExit(f"{plan.title}: the run ended as {race.status}: {race.message}")
    return race, time.perf_counter() - start


def _load() -> str:
    try:
        return "load average %.1f, %.1f, %.1f" % os.getloadavg()
    except OSError:
        return "load average unknown"


def overfitting(seed: int) -> None:
    plan = PLANS["overfitting"](seed)
    race, seconds = _run(plan)
    print(f"### {plan.title} (addition, seed {seed}; {seconds:.0f} s wall, {_load()})\n")
    print("| run | final step | training sums right | new (held-out) sums right | gap (points) |")
    print("|---|---:|---:|---:|---:|")
    for r in overfitting_table(race.evals):
        print(f"| {r['run']} | {r['step']} | {r['train_acc']:.1%} | {r['val_acc']:.1%} | {100 * r['gap']:.0f} |")
    stopped = race.model_messages.get("+ early stopping", "")
    if stopped:
        print(f"\nEarly stopping: {stopped}")
    print()


def appetite(seed: int) -> None:
    plan = PLANS["appetite"](seed)
    race, seconds = _run(plan)
    points = appetite_points(plan, race.evals, plan.names)
    sizes = sorted(set(plan.sizes.values()))
    print(f"### {plan.title} (sentiment, seed {seed}; {seconds:.0f} s wall, {_load()})\n")
    print("| model | parameters | " + " | ".join(f"{n:,} examples" for n in sizes) + " |")
    print("|---|---:|" + "---:|" * len(sizes))
    for model, pts in points.items():
        params = race.parameters[plan.names[[n.split(" · ")[0] for n in plan.names].index(model)]]
        print(f"| {model} | {params:,} | " + " | ".join(f"{p['val_acc']:.1%}" for p in pts) + " |")
    print()


def transfer(seed: int) -> None:
    plan = PLANS["transfer"](seed)
    race, seconds = _run(plan)
    result = transfer_result(race.evals)
    pre = race.evals[plan.names[0]][-1]
    print(f"### {plan.title} (sentiment, {TRANSFER['labelled']} labelled sentences, seed {seed}; "
          f"{seconds:.0f} s wall, {_load()})\n")
    print(f"Pre-training: {pre['step']} steps of next-word prediction on unlabelled reviews, "
          f"held-out next-word accuracy {pre['token_acc']:.1%}. {race.transfers.get(FINETUNED, '')}\n")
    print("| model | fine-tuning steps | held-out sentences right |")
    print("|---|---:|---:|")
    print(f"| {FINETUNED} | {result['finetuned_step']} | {result['finetuned']:.1%} |")
    print(f"| {SCRATCH} | {result['scratch_step']} | {result['scratch']:.1%} |")
    print(f"\nDifference: {100 * result['difference']:+.1f} points.\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=sorted(PLANS), action="append",
                        help="run only this experiment (repeatable)")
    args = parser.parse_args(argv)
    for name in args.only or ["overfitting", "appetite", "transfer"]:
        {"overfitting": overfitting, "appetite": appetite, "transfer": transfer}[name](args.seed)


if __name__ == "__main__":
    main()
