"""Learning versus memorising: three seeded experiments a class runs, and what they measure.

    plan = overfitting_plan(seed=0)        # an Experiment: a name, a title and its planned runs
    race = RaceRun(plan.entries, plan.train_cfg).start()     # trained in one background thread
    overfitting_table(race.evals)          # final training and validation accuracy of each run

1. Overfitting and its cures: addition with 200 fixed training examples, trained until it knows
   them by heart, beside the same run with dropout, with weight decay, with early stopping, and
   with ten times the data.
2. Data appetite: validation accuracy against training-set size for the transformer and an LSTM
   with about as many parameters, on the same task with the same steps.
3. Transfer learning: a decoder pre-trained as a next-word model on unlabelled reviews, then
   fine-tuned on a few labelled sentences, against the same model trained from scratch on them.

Each experiment is a plan (pure, seeded, finite): `RaceEntry`s with their own training settings,
run by `transformer.runs.race.RaceRun` like the RNN vs Transformer race, so the machinery that
pauses, stops and queues a race does the same here. The summaries below read only the rows a
run produced, so every number a page quotes comes from the run on its screen.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Mapping, Optional, Sequence

from ..presets import preset_configs
from ..runs.race import RaceEntry
from ..tasks import get_task
from ..tasks.base import Example
from ..tasks.sentiment import Sentiment
from ..training import TrainConfig
from .compare import matched_configs

# The accuracy each experiment reads: whole answers right (every digit of a sum; the label).
METRIC = "seq_acc"
TRAIN_METRIC = "train_seq_acc"


@dataclass(frozen=True)
class Experiment:
    """One experiment: `entries` to race (each with its own training settings) and the
    settings they share (`train_cfg`: seed, batch size, optimizer)."""

    key: str
    title: str
    entries: tuple[RaceEntry, ...]
    train_cfg: TrainConfig

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    @property
    def sizes(self) -> dict[str, int]:
        """A run's name -> its training-set size (for the data-size figure); a run on a fresh
        stream (no `train_size`) has none."""
        return {e.name: e.train_cfg.train_size for e in self.entries
                if e.train_cfg is not None and e.train_cfg.train_size is not None}

    @property
    def total_steps(self) -> int:
        """Optimizer steps of all runs together (at most: early stopping may end one sooner)."""
        return sum((e.train_cfg or self.train_cfg).steps for e in self.entries)


# --------------------------------------------------------------------------------------------
# 1. Overfitting and its cures
# --------------------------------------------------------------------------------------------

OVERFIT = {"task": "addition", "n_digits": 2, "small": 200, "more": 2_000, "steps": 600, "eval_every": 30,
           "dropout": 0.3, "weight_decay": 0.5, "patience": 3}


def overfitting_plan(seed: int = 0, steps: Optional[int] = None) -> Experiment:
    """Two-digit addition (10,000 possible sums, about 15% held out) from 200 fixed examples:
    the baseline, then one cure each, then ten times the data. Same seed, model and steps for
    all; only the named setting differs. `steps` shortens every run (tests)."""
    c = OVERFIT
    task = get_task(c["task"], n_digits=c["n_digits"])
    model, train = preset_configs(task, "decoder")
    steps = steps or c["steps"]
    train = replace(train, steps=steps, seed=seed, eval_every=min(c["eval_every"], steps),
                    warmup=min(train.warmup, steps // 4))
    small = replace(train, train_size=c["small"])
    runs = [
        (f"{c['small']} examples", model, small),
        (f"+ dropout {c['dropout']:g}", replace(model, dropout=c["dropout"]), small),
        (f"+ weight decay {c['weight_decay']:g}", model, replace(small, weight_decay=c["weight_decay"])),
        ("+ early stopping", model, replace(small, early_stop=c["patience"])),
        (f"{c['more']:,} examples", model, replace(train, train_size=c["more"])),
    ]
    entries = tuple(RaceEntry(name, task, m, t) for name, m, t in runs)
    return Experiment("overfitting", "Overfitting and its cures", entries, train)


def overfitting_table(evals: Mapping[str, Sequence[dict]]) -> list[dict]:
    """One row per run that has evaluations: its last row's training and validation accuracy
    (whole answers right, 0-1), the gap between them, and the step. After early stopping the
    last row is that of the restored best weights."""
    rows = []
    for name, runs in evals.items():
        if not runs:
            continue
        last = runs[-1]
        train, val = last.get(TRAIN_METRIC), last[METRIC]
        rows.append({"run": name, "step": last["step"], "train_acc": train, "val_acc": val,
                     "gap": None if train is None else train - val})
    return rows


# --------------------------------------------------------------------------------------------
# 2. How much data does each model need?
# --------------------------------------------------------------------------------------------

# Three sizes, five times apart: with two models that is six runs, the most one race may hold.
APPETITE = {"task": "sentiment", "sizes": (40, 200, 1_000), "steps": 300, "eval_every": 50}
MODEL_NAMES = {"decoder": "Transformer", "lstm": "LSTM"}


def run_name(model: str, size: int) -> str:
    """The display name of one data-size run, e.g. "Transformer · 300"."""
    return f"{model} · {size:,}"


def data_appetite_plan(seed: int = 0, sizes: Sequence[int] = APPETITE["sizes"],
                       steps: Optional[int] = None) -> Experiment:
    """The sentiment task's decoder preset and an LSTM matched to its parameter count (±10%),
    each trained on every size in `sizes` with the same steps, seed and optimizer."""
    sizes = sorted({int(n) for n in sizes})
    if not sizes or sizes[0] < 1:
        raise ValueError("Give at least one training-set size of 1 example or more.")
    task = get_task(APPETITE["task"])
    model, train = preset_configs(task, "decoder")
    steps = steps or APPETITE["steps"]
    train = replace(train, steps=steps, seed=seed, eval_every=min(APPETITE["eval_every"], steps),
                    warmup=min(train.warmup, steps // 4))
    sized = replace(model, vocab_size=len(task.vocab), max_len=task.max_len(model.layout), pad_id=task.vocab.pad_id)
    configs = matched_configs(sized, ["lstm"])
    entries = tuple(RaceEntry(run_name(MODEL_NAMES[arch], n), task, cfg, replace(train, train_size=n))
                    for arch, cfg in configs.items() for n in sizes)
    return Experiment("appetite", "How much data does each model need?", entries, train)


def appetite_points(plan: Experiment, evals: Mapping[str, Sequence[dict]],
                    finished: Sequence[str] = ()) -> dict[str, list[dict]]:
    """{model: [{"size", "val_acc", "train_acc", "done"}, ...]} by size, from each run's last
    evaluation (`done`: the run is in `finished`). Runs without an evaluation are left out."""
    out: dict[str, list[dict]] = {}
    for entry in plan.entries:
        rows = evals.get(entry.name) or []
        if not rows:
            continue
        model = entry.name.split(" · ")[0]
        out.setdefault(model, []).append({"size": plan.sizes[entry.name], "val_acc": rows[-1][METRIC],
                                          "train_acc": rows[-1].get(TRAIN_METRIC),
                                          "done": entry.name in finished})
    return {m: sorted(points, key=lambda p: p["size"]) for m, points in out.items()}


# --------------------------------------------------------------------------------------------
# 3. Transfer learning
# --------------------------------------------------------------------------------------------

class UnlabelledReviews(Sentiment):
    """The sentiment task's words as plain text, without labels, for next-word pre-training.

    Same words, same vocabulary (so every weight of a decoder trained on it fits the classifier
    fine-tuned afterwards), same train / validation split. Each review says two things about a
    work and, as most real reviews do, both lean the same way: "the movie was great i love this
    film", "a dull song the plot was bad". A model that predicts the second half's words does
    better when it knows which way the first half leaned, so it learns which words praise and
    which complain from text alone: the feature the labels will later ask for. No label, and no
    negation ("not" turns a sentence round; `negation_percent` lets some in), is in the text.
    """

    name = "reviews"
    title = "Unlabelled reviews"
    kind = "text"
    archs = ("decoder",)
    params = {"negation_percent": 0}
    param_ranges = {"negation_percent": (0, 100)}

    def _statement(self, rng: random.Random) -> tuple[list[str], int]:
        """One clause, verb or phrase template (words, polarity), negated only as often as asked."""
        negated = rng.random() * 100 < self.params["negation_percent"]
        while True:
            words, sign = rng.choice([self._clause, self._verb, self._phrase])(rng)
            if bool(set(words) & {"not", "never"}) == negated:
                return words, sign

    def draw(self, rng: random.Random) -> Example:
        first, sign = self._statement(rng)
        while True:  # a second statement that leans the same way
            second, other = self._statement(rng)
            if other == sign and len(first) + len(second) <= self.max_src_len:
                return Example(first + second, [])

    def space_size(self) -> None:
        """Not counted: pairs of statements are far more than a pre-training run reads (and the
        labelled task's count, by its own templates, does not describe them)."""
        return None

    def max_len(self, layout: str) -> int:
        """The classifier's length ([BOS] sentence [SEP] label), so positions fit it too."""
        return self.max_src_len + self.max_tgt_len + 2


# Fine-tuning at a third of the preset's learning rate, for both labelled runs alike: the usual
# practice (large steps would wash out what pre-training put in the weights).
TRANSFER = {"labelled": 100, "pretrain_steps": 1_000, "finetune_steps": 300, "eval_every": 30, "lr": 1e-3}
PRETRAIN, FINETUNED, SCRATCH = "Pre-training (no labels)", "Fine-tuned", "From scratch"


def transfer_plan(seed: int = 0, labelled: int = TRANSFER["labelled"], pretrain_steps: Optional[int] = None,
                  finetune_steps: Optional[int] = None) -> Experiment:
    """Pre-train the sentiment decoder as a next-word model on unlabelled reviews (a fresh
    stream: text without labels is plentiful), then fine-tune it on `labelled` labelled
    sentences; beside it the same model, same seed, same examples, steps and learning rate,
    from scratch."""
    task = get_task("sentiment")
    model, train = preset_configs(task, "decoder")
    fine_steps = finetune_steps or TRANSFER["finetune_steps"]
    pre_steps = pretrain_steps or TRANSFER["pretrain_steps"]
    train = replace(train, seed=seed, steps=fine_steps, eval_every=min(TRANSFER["eval_every"], fine_steps),
                    warmup=min(train.warmup, fine_steps // 4))
    few = replace(train, train_size=int(labelled), lr=TRANSFER["lr"])
    pre = replace(train, steps=pre_steps, eval_every=max(10, pre_steps // 10), until_metric="token_acc",
                  warmup=min(train.warmup, pre_steps // 4))
    entries = (RaceEntry(PRETRAIN, UnlabelledReviews(), model, pre),
               RaceEntry(FINETUNED, task, model, few, start_from=PRETRAIN),
               RaceEntry(SCRATCH, task, model, few))
    return Experiment("transfer", "Transfer learning", entries, train)


def transfer_result(evals: Mapping[str, Sequence[dict]]) -> Optional[dict]:
    """{"finetuned", "scratch", "difference"} validation accuracy (0-1) at the runs' last
    evaluations, and the step each reached; None until both have trained."""
    fine, scratch = evals.get(FINETUNED) or [], evals.get(SCRATCH) or []
    if len(fine) < 2 or len(scratch) < 2:  # the first row is before any fine-tuning
        return None
    a, b = fine[-1][METRIC], scratch[-1][METRIC]
    return {"finetuned": a, "scratch": b, "difference": a - b,
            "finetuned_step": fine[-1]["step"], "scratch_step": scratch[-1]["step"]}


PLANS = {"overfitting": overfitting_plan, "appetite": data_appetite_plan, "transfer": transfer_plan}


def report_numbers(plan: Experiment, evals: Mapping[str, Sequence[dict]]) -> dict[str, float]:
    """The numbers a lesson quotes from a finished experiment (percent, or points for a
    difference), by name; only those the rows contain."""
    pct = {}
    if plan.key == "overfitting":
        table = {r["run"]: r for r in overfitting_table(evals)}
        names = dict(zip(("base", "dropout", "decay", "early", "more"), plan.names))
        base = table.get(names["base"])
        if base is not None and base["train_acc"] is not None:
            pct["base_train_pct"] = 100 * base["train_acc"]
        for short, name in names.items():
            if name in table:
                pct[f"{short}_val_pct"] = 100 * table[name]["val_acc"]
    elif plan.key == "appetite":
        for model, pts in appetite_points(plan, evals).items():
            if pts:
                pct[f"{model.lower()}_small_pct"] = 100 * pts[0]["val_acc"]
                pct[f"{model.lower()}_large_pct"] = 100 * pts[-1]["val_acc"]
        sizes = sorted(set(plan.sizes.values()))
        pct["small_size"], pct["large_size"] = float(sizes[0]), float(sizes[-1])
    else:
        result = transfer_result(evals)
        if result is not None:
            pct = {"finetuned_pct": 100 * result["finetuned"], "scratch_pct": 100 * result["scratch"],
                   "difference_pts": 100 * result["difference"]}
        pct["labelled"] = float(plan.sizes[FINETUNED])
    return pct


# The names `report_numbers` gives per experiment (the lesson widgets declare the same).
REPORTS = {
    "overfitting": ("base_train_pct", "base_val_pct", "dropout_val_pct", "decay_val_pct", "early_val_pct",
                    "more_val_pct"),
    "appetite": ("transformer_small_pct", "transformer_large_pct", "lstm_small_pct", "lstm_large_pct",
                 "small_size", "large_size"),
    "transfer": ("finetuned_pct", "scratch_pct", "difference_pts", "labelled"),
}
