"""Issue 15's library, checkpoint and command-line cases, each as reproduced in the review
(`shared/reviews/hostile-input.md`, F3, F6-F11): every one ends in one sentence, never a
traceback, an allocation error or a run that does not end."""
from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys

import pytest
import torch
from test_budget import one_sentence

from transformer import budget
from transformer.checkpoint import CheckpointError, checkpoint_dict, load_checkpoint
from transformer.cli import main
from transformer.config import ModelConfig
from transformer.tasks import TASKS, get_task
from transformer.training import TrainConfig, Trainer

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = ["--d-model", "16", "--n-heads", "2", "--n-layers", "1", "--d-ff", "32", "--batch-size", "8", "--eval-size", "16",
        "--device", "cpu", "--threads", "1"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": REPO}


# --------------------------------------------------------------------------- F11: configs


@pytest.mark.parametrize("change, words", [
    (dict(d_model=True, n_heads=1), "d_model must be a whole number"),
    (dict(dropout=None), "dropout must be"),
    (dict(dropout="abc"), "dropout must be"),
    (dict(pad_id="0"), "pad_id"),
    (dict(pad_id=None), "pad_id"),
    (dict(pos_encoding="rope", rope_base=0), "rope_base must be a number above 1"),
    (dict(pos_encoding="rope", rope_base=-1), "rope_base must be a number above 1"),
    (dict(pos_encoding="rope", rope_base=float("nan")), "rope_base must be a number above 1"),
    (dict(pos_encoding="rope", rope_base="10000"), "rope_base must be a number above 1"),
])
def test_model_config_values_of_the_wrong_kind_get_a_sentence(change, words):
    with pytest.raises(ValueError) as info:
        ModelConfig(**change).validate()
    assert words in str(info.value) and one_sentence(str(info.value)), str(info.value)


@pytest.mark.parametrize("data", [[("d_model", 8)], "d_model=8", None, 5])
def test_config_from_something_not_a_dict_gets_a_sentence(data):
    for cls in (ModelConfig, TrainConfig):
        with pytest.raises(ValueError) as info:
            cls.from_dict(data)
        assert "dict" in str(info.value) and one_sentence(str(info.value))


@pytest.mark.parametrize("change", [dict(weight_decay=None), dict(grad_clip="abc"), dict(until_acc="x"),
                                    dict(max_seconds=[1]), dict(lr=True), dict(device=None),
                                    dict(seed=2**70), dict(threads=100_000)])
def test_train_config_values_of_the_wrong_kind_get_a_sentence(change):
    with pytest.raises(ValueError) as info:
        TrainConfig(**change).validate()
    assert one_sentence(str(info.value)), str(info.value)


@pytest.mark.parametrize("name", list(TASKS))
@pytest.mark.parametrize("value", [None, 5, b"abc", ["a", "b"]])
def test_parse_of_something_not_text_gets_a_sentence(name, value):
    with pytest.raises(ValueError) as info:
        get_task(name).parse(value)
    assert one_sentence(str(info.value))


def test_charlm_text_is_capped():
    from transformer.tasks.charlm import MAX_TEXT_CHARS

    with pytest.raises(ValueError, match="keep it under"):
        get_task("charlm", text="ab" * (MAX_TEXT_CHARS // 2 + 1))


# --------------------------------------------------------------------------- F3, F6, F10: checkpoints


@pytest.fixture(scope="module")
def payload():
    task = get_task("reverse", length=5, n_symbols=6)
    cfg = ModelConfig(arch="decoder", d_model=16, n_heads=2, n_layers=1, d_ff=32)
    trainer = Trainer(task, cfg, TrainConfig(steps=1, batch_size=8, eval_size=8, device="cpu"))
    return checkpoint_dict(trainer.model, task)


def _bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _crafted(payload, empty_weights=True, **config) -> bytes:
    """The review's recipe: a valid file with its config changed (and, for the huge ones, no weights)."""
    data = dict(payload, model_config=dict(payload["model_config"], **config))
    if empty_weights:
        data["state_dict"] = {}
    return _bytes(data)


@pytest.mark.parametrize("config", [dict(vocab_size=10**9), dict(vocab_size=4 * 10**7), dict(d_model=10**6, n_heads=1),
                                    dict(max_len=10**7), dict(d_model=8192, n_layers=12, d_ff=32768, n_heads=8)])
def test_a_crafted_huge_config_is_refused_before_anything_is_built(payload, monkeypatch, config):
    import transformer.checkpoint

    monkeypatch.setattr(transformer.checkpoint, "build_model", lambda cfg: pytest.fail("the model was built"))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(_crafted(payload, **config))
    message = str(info.value)
    assert "would need" in message and "cannot be loaded here" in message and one_sentence(message), message


def test_a_config_the_weights_do_not_fit_is_refused_before_building(payload, monkeypatch):
    import transformer.checkpoint

    monkeypatch.setattr(transformer.checkpoint, "build_model", lambda cfg: pytest.fail("the model was built"))
    for data in (_crafted(payload, n_layers=40), _crafted(payload, empty_weights=False, n_layers=2),
                 _crafted(payload, empty_weights=False, d_model=32)):
        with pytest.raises(CheckpointError, match="do not fit its model configuration"):
            load_checkpoint(data)
    with pytest.raises(CheckpointError, match="n_layers must be at most"):
        load_checkpoint(_crafted(payload, n_layers=2000))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_weights_are_refused(payload, bad):
    state = {k: v.clone() for k, v in payload["state_dict"].items()}
    state["lm_head.weight"][1, 1] = bad
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(_bytes(dict(payload, state_dict=state)))
    assert "NaN or infinite" in str(info.value) and one_sentence(str(info.value))


def test_the_generate_command_refuses_a_nan_checkpoint(payload, tmp_path, capsys):
    state = {k: v.clone() for k, v in payload["state_dict"].items()}
    state["tok_emb.weight"][0, 0] = float("nan")
    path = tmp_path / "nan.pt"
    path.write_bytes(_bytes(dict(payload, state_dict=state)))
    assert main(["generate", "--checkpoint", str(path), "--input", "abcd"]) == 2
    assert "NaN" in capsys.readouterr().err


class _System:
    def __reduce__(self):
        return (os.system, ("echo pwned > PWNED",))


class _Eval:
    def __reduce__(self):
        return (eval, ("1 + 1",))


def _legacy(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer, _use_new_zipfile_serialization=False)
    return buffer.getvalue()


@pytest.mark.parametrize("make", [
    lambda: _bytes({"format": "transformer-lab/1", "x": _System()}),  # torch 2.13 says "unsupported GLOBAL"
    lambda: _bytes({"format": "transformer-lab/1", "x": _Eval()}),
    lambda: pickle.dumps({"x": _System()}),  # protocol 5: torch stops at an opcode before the global
    lambda: pickle.dumps(_System(), protocol=0),
    lambda: _legacy({"x": _System()}),
], ids=["torch-zip os.system", "torch-zip eval", "raw pickle", "raw pickle protocol 0", "legacy torch format"])
def test_every_malicious_pickle_is_called_not_safe(make, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckpointError, match="not safe to load"):
        load_checkpoint(make())
    assert not (tmp_path / "PWNED").exists()


def test_garbage_is_still_called_corrupted():
    """The control for the test above: a file that only fails to parse is not called unsafe."""
    for data in (bytes(range(256)) * 8, pickle.dumps([1, 2, 3]), b"PK\x03\x04" + b"\x00" * 100):
        with pytest.raises(CheckpointError, match="could not be read"):
            load_checkpoint(data)


def test_a_checkpoint_file_larger_than_the_budget_is_not_read(tmp_path, monkeypatch):
    monkeypatch.setenv(budget.ENV_VAR, "0.0001")  # about 100 KB
    path = tmp_path / "big.pt"
    path.write_bytes(b"\0" * 200_000)
    with pytest.raises(CheckpointError, match="more than the"):
        load_checkpoint(path)


# --------------------------------------------------------------------------- F7-F9: the command line


@pytest.mark.parametrize("args, words", [
    (["--d-model", "100000000", "--n-heads", "1"], "lower d_model"),
    (["--d-model", "65536", "--n-heads", "1", "--n-layers", "1"], "lower d_model"),
    (["--d-ff", "1000000000"], "lower d_ff"),
    (["--n-layers", "100000"], "n_layers must be at most"),
    (["--threads", "100000"], "threads must be a whole number between 1 and"),
])
def test_huge_sizes_exit_2_with_one_sentence_at_once(args, words, capsys, monkeypatch):
    import transformer.training

    monkeypatch.setattr(transformer.training, "build_model", lambda cfg: pytest.fail("the model was built"))
    assert main(["train", "--task", "reverse", "--steps", "3", *args]) == 2
    err = capsys.readouterr().err
    assert words in err and err.startswith("error: ") and one_sentence(err.strip()[len("error: "):]), err


def test_bench_threads_are_bounded(capsys):
    assert main(["bench", "--quick", "--threads", "100000"]) == 2
    assert "at most" in capsys.readouterr().err


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_an_endless_text_file_is_refused_with_a_sentence(capsys):
    assert main(["train", "--task", "charlm", "--steps", "3", "--text-file", "/dev/zero"]) == 2
    assert "more than 2,000,000 characters" in capsys.readouterr().err


def test_save_to_a_folder_is_refused_before_training(tmp_path, capsys, monkeypatch):
    import transformer.training

    monkeypatch.setattr(transformer.training.Trainer, "run", lambda self: pytest.fail("it trained"))
    assert main(["train", "--task", "reverse", "--steps", "3", "--save", str(tmp_path), *TINY]) == 2
    err = capsys.readouterr().err
    assert "is a folder" in err and "model.pt" in err


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_save_to_an_unwritable_place_is_refused_before_training(tmp_path, capsys, monkeypatch):
    import transformer.training

    monkeypatch.setattr(transformer.training.Trainer, "run", lambda self: pytest.fail("it trained"))
    blocked = tmp_path / "file"
    blocked.write_text("a file where a folder would have to be")
    assert main(["train", "--task", "reverse", "--steps", "3", "--save", str(blocked / "x.pt"), *TINY]) == 2
    assert "Cannot save to" in capsys.readouterr().err


def test_a_save_that_fails_after_training_saves_elsewhere_and_says_where(tmp_path, capsys, monkeypatch):
    import transformer.checkpoint

    real = transformer.checkpoint.save_checkpoint
    target = tmp_path / "out" / "rev.pt"

    def full_disk(path, *args, **kw):
        if str(path) == str(target):
            raise OSError(28, "No space left on device")
        return real(path, *args, **kw)

    monkeypatch.setattr(transformer.checkpoint, "save_checkpoint", full_disk)
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--task", "reverse", "--length", "4", "--steps", "3", "--save", str(target), *TINY]) == 0
    err = capsys.readouterr().err
    rescued = tmp_path / "reverse-decoder-step3.pt"
    assert "No space left on device" in err and str(rescued) in err and rescued.exists()
    model, task, _ = load_checkpoint(rescued)
    assert task.name == "reverse"


@pytest.fixture(scope="module")
def charlm_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("lm") / "lm.pt"
    assert main(["train", "--task", "charlm", "--length", "16", "--steps", "2", "--save", str(path), *TINY]) == 0
    return path


@pytest.mark.parametrize("value", ["0", "-5", "1000000000"])
def test_max_new_tokens_is_validated(charlm_checkpoint, capsys, value):
    capsys.readouterr()
    assert main(["generate", "--checkpoint", str(charlm_checkpoint), "--input", "the ", "--max-new-tokens", value]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "--max-new-tokens must be a whole number from 1 to 10,000" in err


def test_the_default_max_new_tokens_is_still_200(charlm_checkpoint, capsys):
    capsys.readouterr()
    assert main(["generate", "--checkpoint", str(charlm_checkpoint), "--input", "the "]) == 0
    assert len(capsys.readouterr().out.rstrip("\n")) == 4 + 200


def _run_into_a_closed_pipe(*args) -> subprocess.CompletedProcess:
    """Run the CLI with stdout a pipe whose reader has already gone, as `... | head -1` ends."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, "-m", "transformer", *args], cwd=REPO, stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=120, env=ENV)
    finally:
        os.close(write)


def test_tasks_into_a_closed_pipe_ends_without_a_traceback():
    proc = _run_into_a_closed_pipe("tasks")
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr, proc.stderr
    assert proc.returncode == 1


def test_train_json_into_a_closed_pipe_ends_without_a_traceback_and_keeps_the_model(tmp_path):
    path = tmp_path / "rev.pt"
    proc = _run_into_a_closed_pipe("train", "--task", "reverse", "--length", "4", "--steps", "50", "--json",
                                   "--save", str(path), *TINY)
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr, proc.stderr
    assert proc.returncode == 1 and path.exists()


def test_a_crafted_checkpoint_gets_its_sentence_from_the_cli_at_once(payload, tmp_path):
    path = tmp_path / "vocab.pt"
    path.write_bytes(_crafted(payload, vocab_size=10**9))
    proc = subprocess.run([sys.executable, "-m", "transformer", "generate", "--checkpoint", str(path), "--input", "abcd"],
                          cwd=REPO, capture_output=True, text=True, timeout=120, env=ENV)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "cannot be loaded here" in proc.stderr


# --------------------------------------------------------------------------- found by the fuzz suite


@pytest.mark.parametrize("temperature", [5e-324, 1e-308, 1e-45])
def test_a_tiny_temperature_samples_the_most_likely_token(temperature):
    from transformer.decoding import sample_next

    logits = torch.tensor([[0.5, 3.0, -1.0, 2.9]])
    assert sample_next(logits, temperature, generator=torch.Generator().manual_seed(0)).tolist() == [1]


@pytest.mark.parametrize("seed", [str(10**30), "-1"])
def test_a_generate_seed_out_of_range_gets_a_sentence(payload, tmp_path, capsys, seed):
    path = tmp_path / "rev.pt"
    path.write_bytes(_bytes(payload))
    assert main(["generate", "--checkpoint", str(path), "--input", "abcd", "--temperature", "1", f"--seed={seed}"]) == 2
    assert "--seed must be a whole number from 0" in capsys.readouterr().err


def test_a_huge_whole_number_is_a_number_not_an_overflow():
    with pytest.raises(ValueError, match="dropout must be"):
        ModelConfig(dropout=10**400).validate()



def test_a_huge_head_count_is_answered_at_once():
    """The divisibility sentence searched every head count up to n_heads: 10**12 never ended."""
    with pytest.raises(ValueError) as info:
        ModelConfig(d_model=64, n_heads=10**12).validate()
    assert one_sentence(str(info.value))


@pytest.mark.parametrize("arch", ["decoder", "encoder-decoder", "encoder", "rnn", "gru", "lstm", "lstm-seq2seq",
                                  "lstm-seq2seq-attn"])
def test_a_valid_checkpoint_of_every_architecture_passes_the_checks_before_building(arch):
    """The weight checks (count, embedding shape, finiteness) must not refuse a real file."""
    from transformer.checkpoint import checkpoint_bytes

    name = next(n for n, cls in TASKS.items() if arch in cls.archs)
    task = get_task(name)
    cfg = ModelConfig(arch=arch, d_model=16, n_heads=2, n_layers=2, d_ff=24, pos_encoding="learned")
    model = Trainer(task, cfg, TrainConfig(steps=1, batch_size=4, eval_size=4, device="cpu")).model
    loaded, loaded_task, _ = load_checkpoint(checkpoint_bytes(model, task))
    assert loaded_task.name == name and loaded.cfg == model.cfg
