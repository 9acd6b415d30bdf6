"""Held out means held out: every task's training and validation parts never meet."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from transformer import ModelConfig
from transformer.tasks import get_task, list_tasks
from transformer.tasks.base import Example
from transformer.tasks.charlm import CharLM
from transformer.training import TrainConfig, Trainer, validation_examples

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _srcs(examples):
    return {tuple(ex.src) for ex in examples}


@pytest.mark.parametrize("name", list_tasks())
def test_training_examples_never_meet_the_validation_set(name):
    task = get_task(name)
    train = task.examples(20_000, seed=0)
    val = validation_examples(task, 256, seed=0)
    assert not _srcs(train) & _srcs(val)
    assert all(task.split_of(ex) == "train" for ex in train[:2000])
    assert all(task.split_of(ex) == "val" for ex in val)


@pytest.mark.parametrize("name", list_tasks())
def test_the_trainers_validation_examples_are_all_in_the_validation_part(name):
    task = get_task(name)
    arch = task.archs[0]
    trainer = Trainer(task, ModelConfig(arch=arch, d_model=32, n_heads=2, n_layers=1, d_ff=32),
                      TrainConfig(steps=1, eval_size=64, seed=3, device="cpu"))
    assert len(trainer.val_examples) == 64
    assert all(task.split_of(ex) == "val" for ex in trainer.val_examples)
    # (train side: see test_training)


def test_examples_of_a_split_are_reproducible_and_differ_between_splits():
    task = get_task("addition")
    assert task.examples(50, 4, split="val") == task.examples(50, 4, split="val")
    assert not _srcs(task.examples(500, 4, split="val")) & _srcs(task.examples(500, 4, split="train"))
    with pytest.raises(ValueError, match="Unknown split"):
        task.examples(3, 0, split="test")


def test_the_split_does_not_depend_on_pythons_hash_seed():
    """hash() of a str changes with PYTHONHASHSEED; the split must not."""
    code = (
        "import json; from transformer.tasks import get_task; t = get_task('reverse');"
        "print(json.dumps([t.split_of(e) for e in t.examples(200, 1, split='train') + t.examples(200, 1, split='val')]))"
    )
    runs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout))
    assert runs[0] == runs[1] == ["train"] * 200 + ["val"] * 200


@pytest.mark.parametrize("name, params", [("parity", {}), ("addition", {}), ("brackets", {}), ("dates", {}),
                                          ("copy", {"length": 3, "n_symbols": 4})])
def test_small_spaces_are_counted_and_about_fifteen_percent_is_held_out(name, params):
    task = get_task(name, **params)
    size, held = task.space_size(), task.held_out_count
    assert size is not None and held is not None
    assert 0.10 < held / size < 0.20
    assert f"{size:,}" in task.split_note() and f"{held:,}" in task.split_note()


def test_the_counted_validation_part_is_what_sampling_draws():
    task = get_task("parity")
    val = _srcs(task.examples(20_000, 0, split="val"))
    train = _srcs(task.examples(20_000, 0, split="train"))
    assert len(val) == task.held_out_count
    assert len(train) <= task.space_size() - task.held_out_count


def test_big_spaces_are_not_counted():
    task = get_task("reverse")  # 10^8 strings of 8 letters
    assert task.space_size() is None and task.held_out_count is None
    assert "held out" in task.split_note()


def test_an_empty_split_is_refused_with_a_sentence():
    task = get_task("parity")
    task.val_fraction = 0.0  # nothing is held out, so the validation part is empty
    with pytest.raises(ValueError, match="no questions in its validation part"):
        task.examples(1, 0, split="val")
    task.examples(5, 0)  # training still draws


def test_charlm_trains_on_the_first_ninety_percent_and_validates_on_the_rest():
    task = get_task("charlm")
    cut = task.split_at
    assert abs(cut - 0.9 * len(task.text)) <= 1
    head, tail = task.text[:cut], task.text[cut:]
    assert all("".join(ex.src) in head for ex in task.examples(2000, 0))
    val = task.examples(500, 0, split="val")
    assert all("".join(ex.src) in tail and "".join(ex.src) not in head for ex in val)
    assert f"{cut:,}" in task.split_note()


def test_charlm_split_of_names_windows_by_where_their_text_is():
    task = get_task("charlm")
    n = task.params["length"]
    assert task.split_of(Example(list(task.text[:n]), [])) == "train"
    assert task.split_of(Example(list(task.text[-n:]), [])) == "val"


def test_a_short_user_text_still_has_a_window_to_validate_on():
    text = "".join(chr(ord("a") + (i * 7 + i // 26) % 26) for i in range(200))  # 200 characters, no long repeats
    task = CharLM(text=text, length=64)
    assert len(text) - task.split_at == 64  # 10% would be 20 characters, less than one window
    (window,) = task.examples(1, 0, split="val")
    assert "".join(window.src) == text[-64:]
    assert len(task.examples(50, 0)) == 50
    with pytest.raises(ValueError, match="paste at least 200"):
        CharLM(text=text[:199], length=64)
    with pytest.raises(ValueError, match="paste at least 300"):
        CharLM(text=text, length=100)


def test_a_text_that_only_repeats_itself_still_validates_on_its_last_part():
    text = "the cat sat on the mat. " * 20
    task = CharLM(text=text, length=16)
    val = task.examples(20, 0, split="val")
    assert all("".join(ex.src) in text[task.split_at:] for ex in val)


def test_a_space_with_nothing_held_out_is_refused_before_anything_is_built():
    task = get_task("copy", length=1, n_symbols=2)  # "a" and "b", both in the training part
    assert task.space_size() == 2 and task.held_out_count == 0
    from transformer.training import run_configs

    with pytest.raises(ValueError, match="only 2 possible inputs and none of them falls in its validation part"):
        run_configs(task, ModelConfig(arch="decoder", d_model=16, n_heads=2, n_layers=1, d_ff=16), TrainConfig())
