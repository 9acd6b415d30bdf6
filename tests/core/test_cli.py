"""`python -m transformer` end to end on tiny runs: JSON rows, errors as one sentence, save then generate."""
import json
import os
import subprocess
import sys

import pytest

from transformer.cli import main
from transformer.tasks import TASKS

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = ["--d-model", "16", "--n-heads", "2", "--n-layers", "1", "--d-ff", "32", "--batch-size", "8", "--eval-size", "16",
        "--device", "cpu", "--threads", "1"]


def test_train_json_prints_one_object_per_evaluation(capsys):
    code = main(["train", "--task", "reverse", "--length", "4", "--steps", "5", "--eval-every", "2", "--json", *TINY])
    assert code == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["step"] for r in rows] == [0, 2, 4, 5]
    for row in rows:
        assert set(row) == {"step", "loss", "val_loss", "token_acc", "seq_acc", "train_loss", "train_token_acc",
                            "train_seq_acc", "epoch", "lr", "elapsed_s", "tokens_per_s"}
        assert row["epoch"] is None  # a fresh stream has no epochs
    assert rows[-1]["loss"] > 0 and 0 <= rows[-1]["seq_acc"] <= 1


def test_train_progress_without_json(capsys):
    assert main(["train", "--task", "copy", "--length", "3", "--steps", "3", *TINY]) == 0
    out, err = capsys.readouterr()
    assert "Step 3/3" in out and "seq_acc" in out
    assert "step 3/3" in err  # the progress line (a log gets one line per evaluation)


def test_save_then_generate(tmp_path, capsys):
    path = tmp_path / "rev.pt"
    assert main(["train", "--task", "reverse", "--length", "4", "--steps", "3", "--save", str(path), *TINY]) == 0
    assert path.exists()
    capsys.readouterr()
    assert main(["generate", "--checkpoint", str(path), "--input", "abcd", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["input"] == "abcd" and out["expected"] == "dcba" and isinstance(out["correct"], bool)
    assert main(["generate", "--checkpoint", str(path), "--input", "abcd", "--temperature", "1.5", "--top-k", "3"]) == 0
    answer = capsys.readouterr().out.strip()
    assert set(answer) <= set("abcdefghij")
    code = main(["generate", "--checkpoint", str(path), "--input", "ab?d"])
    err = capsys.readouterr().err
    assert code == 2 and "?" in err and err.count("\n") == 1


def test_charlm_generate_continues_the_prompt(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("the cat sat on the mat. " * 20)
    path = tmp_path / "lm.pt"
    args = ["train", "--task", "charlm", "--length", "16", "--text-file", str(text), "--steps", "2", "--save", str(path), *TINY]
    assert main(args) == 0
    capsys.readouterr()
    assert main(["generate", "--checkpoint", str(path), "--input", "the ca", "--max-new-tokens", "10"]) == 0
    out = capsys.readouterr().out.rstrip("\n")
    assert out.startswith("the ca") and len(out) == 16


@pytest.mark.parametrize("args, words", [
    (["train", "--task", "juggling"], "Unknown task"),
    (["train", "--task", "reverse", "--arch", "transformerxl"], "architecture"),
    (["train", "--task", "reverse", "--d-model", "16", "--n-heads", "3"], "divisible"),
    (["train", "--task", "reverse", "--lr", "-1"], "learning rate"),
    (["train", "--task", "reverse", "--length", "500"], "length"),
    (["train", "--task", "reverse", "--device", "cuda"] if not __import__("torch").cuda.is_available()
     else ["train", "--task", "reverse", "--device", "tpu"], "device"),
])
def test_bad_settings_exit_2_with_one_sentence(args, words, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert words.lower() in err.lower() and err.startswith("error: ") and err.count("\n") == 1


def test_bad_checkpoint_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["generate", "--checkpoint", str(bad), "--input", "abc"]) == 2
    assert "checkpoint" in capsys.readouterr().err


def test_tasks_lists_every_task(capsys):
    assert main(["tasks", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == list(TASKS)
    assert all(r["archs"] and r["description"] for r in rows)


def test_module_entry_point_exits_2_without_a_traceback():
    proc = subprocess.run([sys.executable, "-m", "transformer", "train", "--task", "nope"], cwd=REPO,
                          capture_output=True, text=True, timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "Unknown task 'nope'" in proc.stderr
