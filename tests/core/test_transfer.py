"""Transfer learning: compatible weights are copied, the rest named, misfits refused; frozen
parameters do not move; the Trainer and the CLI start from a checkpoint."""
from __future__ import annotations

import json

import pytest
import torch

from transformer.build import build_model
from transformer.checkpoint import save_checkpoint
from transformer.cli import main
from transformer.tasks import get_task
from transformer.training import TrainConfig, Trainer, initial_model
from transformer.transfer import copy_compatible, freeze_body, head_modules

SIZES = dict(d_model=32, n_heads=2, n_layers=2, d_ff=64)
TRAIN = dict(steps=6, batch_size=8, warmup=1, eval_every=3, eval_size=16, device="cpu")


def model_for(task, arch="decoder", seed=0):
    return initial_model(task.model_config(arch, **SIZES), seed)


def test_everything_is_copied_between_models_of_the_same_shape():
    source, target = model_for(get_task("copy", length=6), seed=1), model_for(get_task("reverse", length=6), seed=2)
    report = copy_compatible(target, source.state_dict())
    assert report.fraction == 1.0 and not report.new and not report.mismatched
    assert all(torch.equal(v, source.state_dict()[k]) for k, v in target.state_dict().items())


def test_a_new_vocabulary_gets_a_fresh_embedding_and_head_and_the_body_is_copied():
    source = model_for(get_task("copy", length=6, n_symbols=10), seed=1)
    target = model_for(get_task("copy", length=6, n_symbols=14), seed=2)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    report = copy_compatible(target, source.state_dict())
    assert set(report.mismatched) == {"tok_emb.weight", "lm_head.weight", "lm_head.bias"}
    assert 0.5 < report.fraction < 1
    after, theirs = target.state_dict(), source.state_dict()
    for name in report.copied:
        assert torch.equal(after[name], theirs[name])
    for name in report.mismatched:
        assert torch.equal(after[name], before[name])  # left as initialised
    assert "lm_head.weight" in report.sentence() and "start fresh" in report.sentence()


def test_another_architecture_is_refused_with_a_sentence_and_nothing_changes():
    task = get_task("reverse", length=6)
    lstm, decoder = model_for(task, "lstm"), model_for(task, "decoder")
    before = {k: v.clone() for k, v in lstm.state_dict().items()}
    with pytest.raises(ValueError, match=r"another architecture or size") as err:
        copy_compatible(lstm, decoder.state_dict())
    assert "\n" not in str(err.value)
    assert all(torch.equal(v, before[k]) for k, v in lstm.state_dict().items())


@pytest.mark.parametrize("arch, head", [("decoder", "lm_head"), ("encoder", "head"), ("encoder-decoder", "lm_head"),
                                        ("lstm", "lm_head"), ("lstm-seq2seq-attn", "lm_head")])
def test_each_family_names_its_head(arch, head):
    assert head_modules(model_for(get_task("sentiment"), arch)) == [head]


def test_frozen_parameters_do_not_move_and_the_head_learns():
    task = get_task("sentiment")
    t = Trainer(task, task.model_config("encoder", **SIZES), TrainConfig(freeze_body=True, weight_decay=0.1, **TRAIN))
    before = {k: v.detach().clone() for k, v in t.model.named_parameters()}
    t.run()
    for name, value in t.model.named_parameters():
        moved = not torch.equal(value, before[name])
        assert moved == name.startswith("head."), name


def test_the_trainer_starts_from_a_checkpoint(tmp_path):
    pre_task, task = get_task("copy", length=6, n_symbols=10), get_task("copy", length=6, n_symbols=12)
    pre = Trainer(pre_task, pre_task.model_config("decoder", **SIZES), TrainConfig(**TRAIN))
    pre.run()
    path = save_checkpoint(tmp_path / "pre.pt", pre.model, pre_task)
    cfg = TrainConfig(init_from=str(path), **{**TRAIN, "steps": 1})
    t = Trainer(task, task.model_config("decoder", **SIZES), cfg)
    assert t.transfer is not None and "tok_emb.weight" in t.transfer.mismatched
    mine, theirs = t.model.state_dict(), pre.model.state_dict()
    assert all(torch.equal(mine[k], theirs[k]) for k in t.transfer.copied)


def test_a_missing_checkpoint_is_one_sentence(tmp_path):
    task = get_task("copy", length=4)
    with pytest.raises(ValueError, match="There is no checkpoint file"):
        Trainer(task, task.model_config("decoder", **SIZES), TrainConfig(init_from=str(tmp_path / "nope.pt"), **TRAIN))


def test_cli_train_size_early_stop_init_from_and_freeze_body(tmp_path, capsys):
    tiny = ["--d-model", "32", "--n-heads", "2", "--n-layers", "2", "--d-ff", "64", "--batch-size", "8",
            "--eval-size", "16", "--device", "cpu", "--threads", "1"]
    path = tmp_path / "pre.pt"
    assert main(["train", "--task", "copy", "--length", "4", "--steps", "4", "--save", str(path), *tiny]) == 0
    capsys.readouterr()
    args = ["train", "--task", "reverse", "--length", "4", "--steps", "400", "--eval-every", "1", "--lr", "0.05",
            "--train-size", "8", "--early-stop", "2", "--init-from", str(path), "--freeze-body", "--json",
            "--save", str(tmp_path / "tuned.pt"), *tiny]
    assert main(args) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert {"train_loss", "train_token_acc", "train_seq_acc"} <= set(rows[0])
    assert rows[-1]["epoch"] == pytest.approx(rows[-1]["step"] * 8 / 8)
    assert len(rows) < 401 and "Stopped early at step" in err  # a frozen body cannot fit for long
    assert "Copied" in err
    best = min(rows, key=lambda r: r["val_loss"])["step"]  # the first lowest, as early stopping keeps it
    assert f"Saved the model from step {best} " in err and f"the weights from step {best} " in err


def test_cli_init_from_another_architecture_is_refused(tmp_path, capsys):
    path = tmp_path / "pre.pt"
    save_checkpoint(path, build_model(get_task("copy", length=4).model_config("lstm")), get_task("copy", length=4))
    assert main(["train", "--task", "copy", "--length", "4", "--steps", "1", "--init-from", str(path)]) == 2
    assert "another architecture or size" in capsys.readouterr().err


def test_freeze_body_refuses_a_model_without_a_head():
    with pytest.raises(ValueError, match="no output head"):
        freeze_body(torch.nn.Sequential(torch.nn.Linear(2, 2)))


def test_a_tied_output_layer_keeps_training_with_the_body_frozen():
    task = get_task("copy", length=4)
    model = initial_model(task.model_config("decoder", tie_weights=True, **SIZES), 0)
    trained = freeze_body(model)
    assert model.lm_head.weight.requires_grad and model.lm_head.bias.requires_grad
    assert not any(p.requires_grad for p in model.decoder.parameters())
    assert "tok_emb.weight" in trained and all(n.startswith(("lm_head", "tok_emb")) for n in trained)
