"""Checkpoints: a round trip gives the same model; every kind of bad file gets one clear sentence."""
import argparse
import io
import os

import pytest
import torch

from transformer.checkpoint import (
    FORMAT,
    CheckpointError,
    checkpoint_bytes,
    checkpoint_dict,
    load_checkpoint,
    save_checkpoint,
)
from transformer.config import ModelConfig
from transformer.tasks import get_task, make_batch
from transformer.training import TrainConfig, Trainer


@pytest.fixture(scope="module")
def trained():
    task = get_task("reverse", length=5, n_symbols=6)
    cfg = ModelConfig(arch="decoder", d_model=16, n_heads=2, n_layers=1, d_ff=32, pos_encoding="learned")
    trainer = Trainer(task, cfg, TrainConfig(steps=3, batch_size=8, eval_size=8, device="cpu", warmup=1))
    trainer.run()
    return trainer


def assert_same_model(model, task, trained) -> None:
    """The loaded weights are the saved ones, bit for bit (a copy), and give the same logits up
    to float32 rounding: the same matmuls may take other kernels for other buffers (oneDNN and
    MKL choose by alignment), so an exact comparison of outputs would depend on the machine."""
    saved = trained.model.state_dict()
    loaded = model.state_dict()
    assert loaded.keys() == saved.keys() and all(torch.equal(loaded[k], saved[k].cpu()) for k in saved)
    torch.testing.assert_close(logits_of(model, task), logits_of(trained.model, trained.task), rtol=1e-5, atol=1e-6)


def logits_of(model, task):
    batch = make_batch(task, task.examples(4, seed=1), "lm")
    model.eval()
    with torch.no_grad():
        return model(batch.idx)[0]


def test_round_trip_through_a_file_gives_the_same_logits(trained, tmp_path):
    path = save_checkpoint(tmp_path / "sub" / "m.pt", trained.model, trained.task, extra={"metrics": trained.evals[-1]})
    model, task, meta = load_checkpoint(path)
    assert task.name == "reverse" and task.params == trained.task.params
    assert meta["format"] == FORMAT and meta["metrics"]["step"] == 3
    assert ModelConfig.from_dict(meta["model_config"]) == trained.model.cfg
    assert not model.training
    assert_same_model(model, task, trained)
    assert os.listdir(tmp_path / "sub") == ["m.pt"]  # the temporary file was renamed, not left behind


def test_round_trip_through_bytes(trained):
    data = checkpoint_bytes(trained.model, trained.task, extra={"note": "hello", "numbers": [1, 2.5]})
    model, task, meta = load_checkpoint(data)
    assert meta["note"] == "hello" and meta["numbers"] == [1, 2.5]
    assert_same_model(model, task, trained)
    model, _, _ = load_checkpoint(io.BytesIO(data))  # a file object, as an upload widget gives
    assert model.cfg == trained.model.cfg


def test_saving_over_a_file_replaces_it(trained, tmp_path):
    path = tmp_path / "m.pt"
    path.write_bytes(b"old")
    save_checkpoint(path, trained.model, trained.task)
    load_checkpoint(path)


def test_extra_cannot_overwrite_the_checkpoints_own_fields(trained):
    with pytest.raises(ValueError, match="state_dict"):
        checkpoint_dict(trained.model, trained.task, extra={"state_dict": {}})


def _torch_bytes(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _bad_files(good: bytes, payload: dict) -> dict:
    wrong_shape = dict(payload, model_config=dict(payload["model_config"], d_model=32))
    wrong_format = dict(payload, format="transformer-lab/99")
    unknown_task = dict(payload, task={"name": "juggling", "params": {}})
    return {
        "empty": b"",
        "truncated": good[: len(good) // 2],
        "text": b"this is not a checkpoint\n" * 20,
        "garbage": bytes(range(256)) * 8,
        "plain tensor": _torch_bytes(torch.zeros(3)),
        "dict without format": _torch_bytes({"weights": torch.zeros(3)}),
        "unsafe object": _torch_bytes({"format": FORMAT, "x": argparse.Namespace(a=1)}),
        "weights for another size": _torch_bytes(wrong_shape),
        "newer format": _torch_bytes(wrong_format),
        "unknown task": _torch_bytes(unknown_task),
        "missing weights": _torch_bytes({k: v for k, v in payload.items() if k != "state_dict"}),
    }


@pytest.mark.parametrize("kind", [
    "empty", "truncated", "text", "garbage", "plain tensor", "dict without format", "unsafe object",
    "weights for another size", "newer format", "unknown task", "missing weights",
])
def test_bad_files_are_refused_with_one_sentence(trained, tmp_path, kind):
    payload = checkpoint_dict(trained.model, trained.task)
    data = _bad_files(_torch_bytes(payload), payload)[kind]
    path = tmp_path / "bad.pt"
    path.write_bytes(data)
    for source in (path, data):
        with pytest.raises(CheckpointError) as err:
            load_checkpoint(source)
        message = str(err.value)
        assert isinstance(err.value, ValueError)
        assert message.endswith(".") and "\n" not in message and len(message) < 300


def test_missing_path_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint file"):
        load_checkpoint(tmp_path / "nope.pt")
