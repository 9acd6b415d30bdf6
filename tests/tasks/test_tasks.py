"""The task catalogue: vocabularies, generators, answers, batching and errors.

Answers are checked against independent re-computations (datetime for dates, string
reduction for brackets, ...) rather than against the task's own `solve`.
"""
from __future__ import annotations

import datetime
import random
from collections import Counter

import pytest
import torch

from transformer.config import LAYOUTS, ModelConfig
from transformer.tasks import (IGNORE_INDEX, SPECIALS, TASKS, Example, Preset, Vocab, get_task, list_tasks,
                               make_batch, task_from_dict)
from transformer.tasks.corpus import CORPUS

ALL = list_tasks()


def test_catalogue_has_every_task_the_issue_names():
    assert set(ALL) >= {"copy", "reverse", "sort", "addition", "dates", "induction", "recall",
                        "brackets", "parity", "sentiment", "charlm"}


def test_unknown_task_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown task 'nope'"):
        get_task("nope")


@pytest.mark.parametrize("name", ALL)
def test_task_describes_itself(name):
    cls = TASKS[name]
    for attr in ("title", "description", "teaches"):
        assert isinstance(getattr(cls, attr), str) and getattr(cls, attr)
    assert cls.kind in ("seq", "classify", "text")
    assert cls.archs and all(a in LAYOUTS for a in cls.archs)
    task = get_task(name)
    assert task.vocab.tokens[: len(SPECIALS)] == list(SPECIALS)
    assert task.vocab.pad_id == 0
    if task.kind == "classify":
        assert {ex.tgt[0] for ex in task.examples(100, seed=0)} == set(task.classes)


@pytest.mark.parametrize("name", ALL)
def test_encode_decode_round_trip(name):
    task = get_task(name)
    for ex in task.examples(50, seed=3):
        for tokens in (ex.src, ex.tgt):
            ids = task.vocab.encode(tokens)
            assert task.vocab.to_tokens(ids) == tokens
            assert task.vocab.decode(ids) == task.vocab.joiner.join(tokens)
        # What the UI shows can be typed back in and means the same question.
        assert task.parse(task.format_src(ex.src)) == ex.src
        assert task.parse(task.vocab.decode(task.vocab.encode(ex.src))) == ex.src


@pytest.mark.parametrize("name", ALL)
def test_examples_are_deterministic_per_seed_and_differ_across_seeds(name):
    task = get_task(name)
    assert task.examples(20, seed=1) == task.examples(20, seed=1)
    assert task.examples(20, seed=1) != task.examples(20, seed=2)
    # Seeding is private: the global generator neither affects nor is affected by it.
    random.seed(0)
    a = task.examples(5, seed=7)
    random.seed(1)
    assert task.examples(5, seed=7) == a


@pytest.mark.parametrize("name", ALL)
def test_every_layout_fits_max_len(name):
    task = get_task(name)
    examples = task.examples(200, seed=0)
    for layout in task.layouts:
        batch = make_batch(task, examples, layout)
        assert batch.width <= task.max_len(layout)
        assert all(t.size(1) <= task.max_len(layout) for t in batch.inputs)


@pytest.mark.parametrize("name", ALL)
def test_presets_give_valid_model_configs(name):
    task = get_task(name)
    for arch in task.archs:
        preset = task.preset(arch)
        assert isinstance(preset, Preset) and 0 < preset.target_acc <= 1 and preset.seconds <= 60
        assert {"steps", "batch_size", "lr", "warmup", "schedule", "eval_every"} <= set(preset.train)
        cfg = task.model_config(arch)
        assert isinstance(cfg, ModelConfig)
        assert cfg.vocab_size == len(task.vocab) and cfg.max_len >= task.max_len(LAYOUTS[arch])
    unsupported = [a for a in LAYOUTS if a not in task.archs]
    for arch in unsupported:
        with pytest.raises(ValueError, match="cannot be trained"):
            task.preset(arch)


# ----- answers, recomputed independently --------------------------------------------------
def _examples(name, n=300, **params):
    return get_task(name, **params).examples(n, seed=11)


def test_copy_reverse_sort_answers():
    for ex in _examples("copy"):
        assert ex.tgt == ex.src
    for ex in _examples("reverse"):
        assert all(ex.tgt[i] == ex.src[len(ex.src) - 1 - i] for i in range(len(ex.src)))
    for ex in _examples("sort"):
        assert Counter(ex.tgt) == Counter(ex.src)
        assert all(a <= b for a, b in zip(ex.tgt, ex.tgt[1:]))


def test_lengths_follow_parameters():
    assert {len(ex.src) for ex in _examples("reverse", length=5)} == {5}
    assert {len(ex.src) for ex in _examples("reverse", length=6, min_length=2)} == set(range(2, 7))
    assert set("".join(t for ex in _examples("copy", n_symbols=3) for t in ex.src)) == set("abc")


def test_addition_answers_and_carries():
    examples = _examples("addition", n_digits=3)
    for ex in examples:
        a, b = "".join(ex.src).split("+")
        assert len(a) == len(b) == 3 and len(ex.tgt) == 4
        assert int("".join(ex.tgt)) == int(a) + int(b)
    assert any(ex.tgt[0] == "1" for ex in examples)  # carries out of the top digit happen
    task = get_task("addition", n_digits=3)
    assert task.parse("12 + 5") == list("012+005")


def test_dates_answers_match_datetime():
    for ex in _examples("dates"):
        text = "".join(ex.src)
        expected = datetime.datetime.strptime(text, "%d %b %Y").strftime("%Y-%m-%d")
        assert "".join(ex.tgt) == expected
        assert sum(len(t) > 1 for t in ex.src) == 1  # the month is one token
    task = get_task("dates")
    assert task.parse("7 november 2026") == task.parse("7 Nov 2026") == list("7 ") + ["Nov"] + list(" 2026")


def test_induction_repeats_distinct_tokens_with_varying_lengths():
    examples = _examples("induction")
    for ex in examples:
        assert ex.tgt == ex.src and len(set(ex.src)) == len(ex.src)
    assert len({len(ex.src) for ex in examples}) > 1


def test_recall_answers_the_queried_key():
    for ex in _examples("recall", n_pairs=5):
        pairs, (mark, key) = ex.src[:-2], ex.src[-2:]
        keys = [p[0] for p in pairs]
        assert len(pairs) == 5 and len(set(keys)) == 5 and mark == "?"
        assert ex.tgt == [pairs[keys.index(key)][1]]
    assert get_task("recall").parse("A1 b7c3 ?b") == ["a1", "b7", "c3", "?", "b"]


def _balanced(s: str) -> bool:
    previous = None
    while s != previous:
        previous, s = s, s.replace("()", "").replace("[]", "").replace("{}", "")
    return s == ""


@pytest.mark.parametrize("n_types", [1, 3])
def test_brackets_labels_and_hard_negatives(n_types):
    examples = _examples("brackets", n=400, n_types=n_types)
    labels = Counter(ex.tgt[0] for ex in examples)
    assert 150 < labels["balanced"] < 250
    for ex in examples:
        assert ex.tgt == (["balanced"] if _balanced("".join(ex.src)) else ["unbalanced"])
        assert len(ex.src) % 2 == 0
    # Some unbalanced strings have as many openers as closers, so counting alone is not enough.
    openers = set("([{")
    assert any(ex.tgt == ["unbalanced"] and 2 * sum(c in openers for c in ex.src) == len(ex.src) for ex in examples)


def test_parity_answers():
    examples = _examples("parity", length=7)
    for ex in examples:
        assert ex.tgt == [["even", "odd"][sum(int(b) for b in ex.src) % 2]]
    assert {ex.tgt[0] for ex in examples} == {"even", "odd"}


@pytest.mark.parametrize("text, label", [
    ("the movie was good", "positive"),
    ("the movie was not good", "negative"),
    ("the film was never boring", "positive"),
    ("i do not hate this book", "positive"),
    ("I don't like this song!", "negative"),
    ("not a very bland meal", "positive"),
    ("the plot was dull but the acting was great", "positive"),
    ("the plot was great but the acting was not great", "negative"),
])
def test_sentiment_reads_negation(text, label):
    task = get_task("sentiment")
    assert task.solve(task.parse(text)) == [label]


def test_sentiment_needs_negation_to_be_read():
    examples = _examples("sentiment", n=400)
    negated = [ex for ex in examples if {"not", "never"} & set(ex.src)]
    assert 0.35 < len(negated) / len(examples) < 0.65
    # Counting sentiment words alone would get the negated ones wrong: both labels occur among them.
    assert {ex.tgt[0] for ex in negated} == {"positive", "negative"}


def test_charlm_windows_and_custom_text():
    task = get_task("charlm", length=32)
    for ex in task.examples(20, seed=0):
        assert len(ex.src) == 32 and ex.tgt == [] and "".join(ex.src) in CORPUS
    text = "the cat sat on the mat. " * 20
    custom = get_task("charlm", text=text, length=16)
    assert custom.vocab.symbols == sorted(set(text))
    assert task_from_dict(custom.to_dict()).vocab.tokens == custom.vocab.tokens
    with pytest.raises(ValueError, match="'z'"):
        custom.parse("the zebra")
    with pytest.raises(ValueError, match="at least"):
        get_task("charlm", text="too short")


def test_task_from_dict_round_trip():
    task = get_task("reverse", length=5, n_symbols=4)
    again = task_from_dict(task.to_dict())
    assert again.params == task.params and again.examples(5, 0) == task.examples(5, 0)


# ----- batching ------------------------------------------------------------------------------
def _counted(batch):
    return batch.targets != IGNORE_INDEX


def test_lm_layout_scores_only_the_answer_and_eos():
    task = get_task("reverse", length=3)
    v = task.vocab
    batch = make_batch(task, [Example(list("abc"), list("cba"))], "lm")
    assert batch.tokens[0] == ["<bos>", "a", "b", "c", "<sep>", "c", "b", "a"]
    assert v.to_tokens(batch.idx[0].tolist()) == batch.tokens[0]
    targets = batch.targets[0].tolist()
    assert targets[:4] == [IGNORE_INDEX] * 4
    assert v.to_tokens(targets[4:]) == ["c", "b", "a", "<eos>"]


def test_lm_layout_pads_rows_of_different_lengths():
    task = get_task("copy", length=6, min_length=1)
    examples = [Example(list("ab"), list("ab")), Example(list("abcdef"), list("abcdef"))]
    batch = make_batch(task, examples, "lm")
    assert batch.idx.shape == batch.targets.shape == (2, 1 + 6 + 1 + 6)
    assert _counted(batch).sum(1).tolist() == [3, 7]
    assert batch.idx[0, 6:].eq(task.vocab.pad_id).all()
    assert len(batch.tokens[0]) == 6 and batch.idx.dtype == torch.long


def test_seq2seq_layout():
    task = get_task("dates")
    examples = task.examples(4, seed=0)
    batch = make_batch(task, examples, "seq2seq")
    v = task.vocab
    for b, ex in enumerate(examples):
        assert v.to_tokens(batch.src[b, : len(ex.src)].tolist()) == ex.src
        assert batch.tgt_in[b, 0] == v.bos_id
        assert v.to_tokens(batch.targets[b].tolist()) == ex.tgt + ["<eos>"]
        assert batch.tokens[b] == ex.src and batch.tgt_tokens[b] == ["<bos>"] + ex.tgt
    assert _counted(batch).all()  # dates answers all have the same length


def test_tag_layout_for_classification_reads_the_label_at_cls():
    task = get_task("parity", length=5)
    examples = task.examples(8, seed=0)
    batch = make_batch(task, examples, "tag")
    v = task.vocab
    assert batch.idx[:, 0].eq(v.cls_id).all()
    assert batch.targets[:, 0].tolist() == [v.stoi[ex.tgt[0]] for ex in examples]
    assert not _counted(batch)[:, 1:].any()
    lm = make_batch(task, examples, "lm")
    assert _counted(lm).sum(1).tolist() == [2] * 8  # the label and <eos>


def test_tag_layout_for_sequences_needs_equal_lengths():
    task = get_task("reverse", length=4)
    batch = make_batch(task, [Example(list("abcd"), list("dcba"))], "tag")
    assert task.vocab.to_tokens(batch.targets[0].tolist()) == list("dcba")
    assert _counted(batch).all()
    add = get_task("addition")
    with pytest.raises(ValueError, match="one token per input position"):
        make_batch(add, add.examples(2, 0), "tag")


def test_text_layout_counts_every_position():
    task = get_task("charlm", length=16)
    batch = make_batch(task, task.examples(4, seed=0), "lm")
    assert batch.idx.shape == (4, 16) and _counted(batch).all()
    assert batch.idx[:, 0].eq(task.vocab.bos_id).all()
    assert torch.equal(batch.idx[:, 1:], batch.targets[:, :-1])
    with pytest.raises(ValueError, match="language model"):
        make_batch(task, task.examples(2, 0), "seq2seq")


def test_bad_layout_and_empty_batch():
    task = get_task("copy")
    with pytest.raises(ValueError, match="Unknown layout"):
        make_batch(task, task.examples(2, 0), "sideways")
    with pytest.raises(ValueError):
        make_batch(task, [], "lm")


# ----- errors a user can trigger ----------------------------------------------------------------
def test_unknown_characters_are_named():
    with pytest.raises(ValueError) as err:
        get_task("reverse").parse("ab#cé")
    assert "'#'" in str(err.value) and "'é'" in str(err.value) and "a-j" in str(err.value)
    with pytest.raises(ValueError, match="'/'"):
        get_task("dates").parse("22/11/2026")
    with pytest.raises(ValueError, match="'x'"):
        get_task("addition").parse("12x+3")


def test_unknown_words_and_bad_shapes_are_named():
    with pytest.raises(ValueError, match="'awesome'"):
        get_task("sentiment").parse("the movie was awesome")
    with pytest.raises(ValueError, match="'Novem'"):
        get_task("dates").parse("22 Novem 2026")
    with pytest.raises(ValueError, match="no day 31"):
        get_task("dates").parse("31 Feb 2026")
    with pytest.raises(ValueError, match="at most 3 digits"):
        get_task("addition", n_digits=3).parse("1234+1")
    with pytest.raises(ValueError, match="'c' after the question mark is not among the keys"):
        get_task("recall").parse("a1 b2 ? c")
    with pytest.raises(ValueError, match="got 9"):
        get_task("reverse", length=8).parse("abcdefghi")
    with pytest.raises(ValueError, match="empty"):
        get_task("copy").parse("   ")


def test_vocab_errors():
    v = Vocab(list("ab"))
    with pytest.raises(ValueError, match="'c'"):
        v.encode(["a", "c"])
    with pytest.raises(ValueError, match="outside"):
        v.decode([99])
    with pytest.raises(ValueError):
        Vocab(["a", "a"])


@pytest.mark.parametrize("name, params, match", [
    ("reverse", {"length": 0}, "length must be a whole number from 1 to 64"),
    ("reverse", {"length": 100}, "from 1 to 64"),
    ("reverse", {"length": "many"}, "length"),
    ("reverse", {"length": 2.5}, "length"),
    ("reverse", {"lenght": 5}, "no parameter 'lenght'"),
    ("reverse", {"length": 4, "min_length": 6}, "must not exceed"),
    ("brackets", {"length": 7}, "even"),
    ("induction", {"length": 20, "n_symbols": 10}, "at least length"),
    ("dates", {"min_year": 2030, "max_year": 2000}, "must not be after"),
    ("addition", {"n_digits": 0}, "n_digits"),
    ("recall", {"n_pairs": 27}, "n_pairs"),
])
def test_bad_params_raise_clear_errors(name, params, match):
    with pytest.raises(ValueError, match=match):
        get_task(name, **params)


@pytest.mark.parametrize("layout", ["lm", "seq2seq", "tag"])
def test_a_batch_runs_its_model_without_the_caller_knowing_the_layout(layout):
    from transformer.build import build_model

    task = get_task("reverse", length=5)
    arch = {"lm": "decoder", "seq2seq": "encoder-decoder", "tag": "encoder"}[layout]
    torch.manual_seed(0)
    model = build_model(task.model_config(arch)).eval()
    batch = make_batch(task, task.examples(3, seed=0), layout)
    logits, loss = batch.run(model)
    direct = model(*(batch.inputs + (batch.targets,)))
    torch.testing.assert_close(loss, direct[1])
    torch.testing.assert_close(batch.forward(model), logits)
    assert batch.n_tokens == sum(t.numel() for t in batch.inputs)
    assert batch.width == max(t.size(1) for t in batch.inputs)
    assert len(batch.inputs) == (2 if layout == "seq2seq" else 1)
    assert (batch.tgt_tokens is not None) == (layout == "seq2seq")


def test_every_task_tuning_names_a_task_and_its_architectures():
    """A misspelt task or architecture in presets.TASK_TUNING would silently train from the base."""
    from transformer.presets import TASK_TUNING

    for name, tuning in TASK_TUNING.items():
        assert name in TASKS, name
        for key in tuning:
            assert key in ("*", "transformer", "recurrent") or key in TASKS[name].archs, (name, key)
