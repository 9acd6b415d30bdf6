"""Measure the generation library (issue 18) and weight tying; not a test.

    .venv/bin/python scripts/measure_decoding.py [--threads 1] [--seeds 0 1] [--skip-training]

1. Speed on CPU, each on a preset-sized model (untrained: speed does not depend on the weights):
   next_token_distribution with top-k and top-p on one row of V logits; generation_trace of the
   character model (tokens per second, a full forward per token as `generate` does); beam search
   on `reverse` for widths 1, 3, 8; output_layer.
2. Weight tying: parameters of each preset with and without `tie_weights`, and the preset
   trained both ways (same seed, same steps; default `reverse` and `charlm` with the decoder,
   `reverse` with the LSTM; --train TASK:ARCH ... to choose):
   held-out val_loss, token and sequence accuracy at the end, and seconds.
Prints one JSON object. Timings depend on the machine and its load (`uptime`).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from transformer import build_model  # noqa: E402
from transformer.beam import beam_search  # noqa: E402
from transformer.build import count_parameters, parameter_count  # noqa: E402
from transformer.decoding import generation_trace, output_layer  # noqa: E402
from transformer.presets import preset_configs  # noqa: E402
from transformer.sampling import next_token_distribution  # noqa: E402
from transformer.tasks import get_task  # noqa: E402
from transformer.training import Trainer  # noqa: E402


def timed(fn, repeat: int) -> float:
    """Median seconds of `repeat` calls."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def speed() -> dict:
    out = {}
    logits = torch.randn(80)
    out["distribution_us"] = 1e6 * timed(lambda: next_token_distribution(logits, 0.8, top_k=20, top_p=0.9), 200)
    text = get_task("charlm")
    torch.manual_seed(0)
    lm = build_model(text.model_config("decoder")).eval()
    n = 200
    secs = timed(lambda: generation_trace(lm, text, list("the "), n, temperature=0.8, top_p=0.9, seed=0), 3)
    out["charlm_trace_tokens_per_s"] = n / secs
    rev = get_task("reverse")
    dec = build_model(rev.model_config("decoder")).eval()
    src = rev.examples(1, seed=0)[0].src
    for width in (1, 3, 8):
        out[f"reverse_beam{width}_ms"] = 1e3 * timed(lambda: beam_search(dec, rev, src, width), 5)
    out["reverse_greedy_trace_ms"] = 1e3 * timed(lambda: generation_trace(dec, rev, src), 5)
    out["output_layer_ms"] = 1e3 * timed(lambda: output_layer(dec, rev, src, []), 20)
    return out


def tying(seeds: list[int]) -> dict:
    out = {}
    for name, arch in (("reverse", "decoder"), ("charlm", "decoder"), ("dates", "encoder-decoder")):
        task = get_task(name)
        model_cfg, train_cfg = preset_configs(task, arch)
        model_cfg = replace(task.model_config(arch), **{k: v for k, v in model_cfg.to_dict().items()
                                                        if k not in ("vocab_size", "max_len")})
        out[f"{name}_{arch}_params"] = {"untied": parameter_count(model_cfg),
                                        "tied": parameter_count(replace(model_cfg, tie_weights=True))}
    return out


def train_both(seeds: list[int], runs: list[str]) -> dict:
    out = {}
    for run in runs:
        name, arch = run.split(":")
        task = get_task(name)
        model_cfg, train_cfg = preset_configs(task, arch)
        for tie in (False, True):
            rows = []
            for seed in seeds:
                trainer = Trainer(task, replace(model_cfg, tie_weights=tie),
                                  replace(train_cfg, seed=seed, until_acc=None, max_seconds=None))
                assert count_parameters(trainer.model) == parameter_count(trainer.model_cfg)
                start = time.perf_counter()
                trainer.run()
                last = trainer.evals[-1]
                rows.append({"seed": seed, "steps": trainer.step_count, "val_loss": round(last["val_loss"], 4),
                             "token_acc": round(last["token_acc"], 4), "seq_acc": round(last["seq_acc"], 4),
                             "seconds": round(time.perf_counter() - start, 1)})
            out[f"{name}_{arch}_{'tied' if tie else 'untied'}"] = rows
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--train", nargs="+", default=["reverse:decoder", "charlm:decoder", "reverse:lstm"],
                        metavar="TASK:ARCH", help="presets to train with and without tie_weights")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result = {"load_average": os.getloadavg(), "threads": args.threads, **speed(), **tying(args.seeds)}
    if not args.skip_training:
        result.update(train_both(args.seeds, args.train))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
