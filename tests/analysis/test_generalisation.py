"""The three generalisation experiments: seeded, finite plans; summaries read only the runs'
rows; the race's new pieces (own training settings, start_from, early stopping) really act."""
from __future__ import annotations

from dataclasses import replace

import pytest

from transformer.analysis.generalisation import (FINETUNED, OVERFIT, PRETRAIN, SCRATCH, UnlabelledReviews,
                                                 appetite_points, data_appetite_plan, overfitting_plan,
                                                 overfitting_table, transfer_plan, transfer_result)
from transformer.build import parameter_count
from transformer.runs.race import RaceRun
from transformer.tasks import get_task
from transformer.tasks.sentiment import POLARITY


def _configs(plan):
    return [(e.name, e.task.to_dict(), e.model_cfg.to_dict(), (e.train_cfg or plan.train_cfg).to_dict(), e.start_from)
            for e in plan.entries]


@pytest.mark.parametrize("make", [overfitting_plan, data_appetite_plan, transfer_plan])
def test_plans_are_seeded_and_finite(make):
    a, b, other = make(seed=3), make(seed=3), make(seed=4)
    assert _configs(a) == _configs(b)
    assert {(e.train_cfg or a.train_cfg).seed for e in other.entries} == {4}
    assert 0 < a.total_steps <= 5_000
    for e in a.entries:
        cfg = e.train_cfg or a.train_cfg
        if e.name != PRETRAIN:  # every labelled run trains on a fixed, finite set
            assert cfg.train_size is not None and cfg.train_size <= 2_000
        cfg.validate()


def test_overfitting_cures_each_change_one_setting():
    plan = overfitting_plan()
    base = plan.entries[0]
    assert base.train_cfg.train_size == OVERFIT["small"]
    changed = {}
    for e in plan.entries[1:]:
        diffs = {k for k, v in e.train_cfg.to_dict().items() if base.train_cfg.to_dict()[k] != v}
        diffs |= {k for k, v in e.model_cfg.to_dict().items() if base.model_cfg.to_dict()[k] != v}
        changed[e.name] = diffs
    assert list(changed.values()) == [{"dropout"}, {"weight_decay"}, {"early_stop"}, {"train_size"}]
    assert plan.entries[-1].train_cfg.train_size == 10 * OVERFIT["small"]


def test_data_appetite_matches_the_lstm_to_the_transformer():
    plan = data_appetite_plan(sizes=(100, 10, 100))
    task = plan.entries[0].task
    counts = {}
    for e in plan.entries:
        cfg = replace(e.model_cfg, vocab_size=len(task.vocab), max_len=task.max_len(e.model_cfg.layout))
        counts.setdefault(e.model_cfg.arch, set()).add(parameter_count(cfg))
    (t,), (l,) = counts["decoder"], counts["lstm"]
    assert abs(l - t) / t <= 0.10
    assert sorted(plan.sizes.values()) == [10, 10, 100, 100]
    with pytest.raises(ValueError):
        data_appetite_plan(sizes=())


def test_unlabelled_reviews_share_the_vocabulary_and_lean_one_way():
    reviews, sentiment = UnlabelledReviews(), get_task("sentiment")
    assert reviews.vocab.tokens == sentiment.vocab.tokens
    assert reviews.max_len("lm") == sentiment.max_len("lm")
    for ex in reviews.examples(200, seed=1):
        assert ex.tgt == [] and len(ex.src) <= sentiment.max_src_len
        assert reviews.split_of(ex) == "train" and sentiment.split_of(ex) == "train"
        assert not set(ex.src) & {"not", "never"}
        polarities = {POLARITY[w] for w in ex.src if w in POLARITY}
        assert len(polarities) == 1, ex.src  # both statements praise, or both complain
    negated = UnlabelledReviews(negation_percent=100).examples(50, seed=1)
    assert all(set(ex.src) & {"not", "never"} for ex in negated)


def test_summaries_read_the_rows():
    evals = {"a": [{"step": 0, "seq_acc": 0.0, "train_seq_acc": 0.0},
                   {"step": 50, "seq_acc": 0.25, "train_seq_acc": 1.0}], "b": []}
    (row,) = overfitting_table(evals)
    assert row["run"] == "a" and row["step"] == 50 and row["gap"] == pytest.approx(0.75)
    assert transfer_result({FINETUNED: evals["a"], SCRATCH: evals["a"][:1]}) is None
    result = transfer_result({FINETUNED: evals["a"], SCRATCH: [dict(r, seq_acc=r["seq_acc"] / 5) for r in evals["a"]]})
    assert result["difference"] == pytest.approx(0.2)
    plan = data_appetite_plan(sizes=(10, 100), steps=20)
    rows = {e.name: [{"step": 20, "seq_acc": plan.sizes[e.name] / 1000}] for e in plan.entries}
    points = appetite_points(plan, rows, finished=["Transformer · 100"])
    assert [p["size"] for p in points["Transformer"]] == [10, 100]
    assert [p["done"] for p in points["Transformer"]] == [False, True]
    assert points["LSTM"][1]["val_acc"] == pytest.approx(0.1)


def test_a_fine_tuned_model_starts_from_the_pre_trained_weights():
    plan = transfer_plan(pretrain_steps=20, finetune_steps=10, labelled=20)
    race = RaceRun(plan.entries, plan.train_cfg).start()
    assert race.join(180), "the experiment did not finish"
    assert race.status == "finished", race.message
    assert race.transfers[FINETUNED].startswith("Copied") and "(100% of the numbers)" in race.transfers[FINETUNED]
    evals = race.evals
    # Same seed, so the two labelled runs start from the same random weights: only the copy
    # of the pre-trained ones can make their first evaluations differ.
    assert evals[FINETUNED][0]["val_loss"] != pytest.approx(evals[SCRATCH][0]["val_loss"], abs=1e-6)
    assert evals[FINETUNED][-1]["step"] == evals[SCRATCH][-1]["step"] == 10
    assert SCRATCH not in race.transfers


def test_start_from_must_name_an_earlier_model():
    plan = transfer_plan(pretrain_steps=10, finetune_steps=10)
    pre, fine, scratch = plan.entries
    with pytest.raises(ValueError, match="starts from"):
        RaceRun([fine, pre, scratch], plan.train_cfg)


def test_early_stopping_in_a_race_keeps_the_best_weights():
    plan = overfitting_plan(steps=400)
    entry = next(e for e in plan.entries if e.train_cfg.early_stop)
    entry = replace(entry, train_cfg=replace(entry.train_cfg, early_stop=1, eval_every=20))
    race = RaceRun([entry], plan.train_cfg).start()
    assert race.join(300)
    rows = race.evals[entry.name]
    message = race.model_messages[entry.name]
    assert message.startswith("Stopped early"), message
    best = min(rows[:-1], key=lambda r: r["val_loss"])
    # The last row measures the restored weights: the best validation loss, not the last one.
    assert rows[-1]["val_loss"] == pytest.approx(best["val_loss"], rel=1e-4)
    assert rows[-2]["val_loss"] > best["val_loss"]
    assert f"step {best['step']}" in message


def test_the_lesson_widgets_declare_exactly_what_the_experiments_report():
    from transformer.analysis.generalisation import PLANS, REPORTS, report_numbers
    from transformer.course import WIDGET_REPORTS
    from transformer.ui.lesson_generalisation import EXPERIMENTS

    for widget, experiment in EXPERIMENTS.items():
        assert WIDGET_REPORTS[widget] == REPORTS[experiment]
        plan = PLANS[experiment](0)
        rows = {name: [{"step": 0, "seq_acc": 0.5, "train_seq_acc": 0.5},
                       {"step": 10, "seq_acc": 0.25, "train_seq_acc": 1.0}] for name in plan.names}
        numbers = report_numbers(plan, rows)
        assert set(numbers) == set(REPORTS[experiment])
    numbers = report_numbers(PLANS["overfitting"](0), {"200 examples": [{"step": 5, "seq_acc": 0.1, "train_seq_acc": 0.9}]})
    assert numbers == pytest.approx({"base_train_pct": 90.0, "base_val_pct": 10.0})
