"""`python -m transformer generate`: --top-p, --beam, and the trace --json prints."""
import json
import math

import pytest
import torch

from test_budget import one_sentence
from transformer.checkpoint import load_checkpoint
from transformer.cli import main
from transformer.decoding import Prompt, evaluating
from transformer.sampling import next_token_distribution

TINY = ["--d-model", "16", "--n-heads", "2", "--n-layers", "1", "--d-ff", "32", "--batch-size", "8", "--eval-size", "16",
        "--device", "cpu", "--threads", "1"]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gen")
    rev, lm = folder / "rev.pt", folder / "lm.pt"
    text = folder / "t.txt"
    text.write_text("the cat sat on the mat. " * 20)
    assert main(["train", "--task", "reverse", "--length", "4", "--steps", "20", "--save", str(rev), *TINY]) == 0
    assert main(["train", "--task", "charlm", "--length", "16", "--text-file", str(text), "--steps", "20",
                 "--save", str(lm), *TINY]) == 0
    return rev, lm


def _json(capsys, argv):
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("which, src, flags, settings", [
    (0, "abcd", ["--temperature", "1.5", "--top-k", "3", "--seed", "4"], dict(temperature=1.5, top_k=3)),
    (1, "the ca", ["--temperature", "1", "--top-p", "0.5", "--max-new-tokens", "12"], dict(temperature=1.0, top_p=0.5)),
])
def test_json_prints_each_tokens_candidates_after_the_settings(checkpoints, capsys, which, src, flags, settings):
    path = checkpoints[which]
    out = _json(capsys, ["generate", "--checkpoint", str(path), "--input", src, *flags, "--json"])
    assert {k: out["settings"][k] for k in settings} == settings
    model, task, _ = load_checkpoint(path)
    prompt = Prompt(model, task, list(src))
    written = []
    for step in out["trace"]:
        with evaluating(model):
            logits = prompt.logits([written])[0]
        probs = next_token_distribution(prompt.writable(logits), **settings)
        if "top_k" in settings:
            assert sum(c["prob"] > 0 for c in step["candidates"]) <= settings["top_k"]
        for c in step["candidates"]:
            i = task.vocab.stoi[c["token"]]
            assert math.isclose(c["prob"], float(probs[i]), abs_tol=2e-6)
            assert math.isclose(c["raw_prob"], float(torch.softmax(logits, -1)[i]), abs_tol=2e-6)
        assert step["prob"] > 0
        written.append(task.vocab.stoi[step["token"]])
    answer = "".join(t["token"] for t in out["trace"] if t["token"] != "<eos>")
    assert out["output"] == (src + answer if task.kind == "text" else answer)
    again = _json(capsys, ["generate", "--checkpoint", str(path), "--input", src, *flags, "--json"])
    assert again == out, "the same seed writes the same trace"


def test_beam_prints_the_beams_best_first(checkpoints, capsys):
    rev, lm = checkpoints
    out = _json(capsys, ["generate", "--checkpoint", str(rev), "--input", "abcd", "--beam", "3", "--json"])
    scores = [b["log_prob"] for b in out["beams"]]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True) and out["output"] == out["beams"][0]["output"]
    greedy = _json(capsys, ["generate", "--checkpoint", str(rev), "--input", "abcd", "--json"])
    greedy_lp = sum(math.log(s["raw_prob"]) for s in greedy["trace"])
    assert scores[0] >= greedy_lp - 1e-4
    one = _json(capsys, ["generate", "--checkpoint", str(rev), "--input", "abcd", "--beam", "1", "--json"])
    assert one["output"] == greedy["output"]
    capsys.readouterr()
    assert main(["generate", "--checkpoint", str(lm), "--input", "the ", "--beam", "2", "--max-new-tokens", "5"]) == 0
    assert len(capsys.readouterr().out.rstrip("\n")) == 4 + 5


@pytest.mark.parametrize("flags, words", [
    (["--top-p", "0"], "--top-p"), (["--top-p", "1.5"], "--top-p"), (["--top-p", "nan"], "--top-p"),
    (["--beam", "0"], "--beam"), (["--beam", "33"], "--beam"), (["--beam", "2", "--temperature", "1"], "--beam"),
    (["--beam", "2", "--top-p", "0.9"], "--beam"),
])
def test_bad_values_are_one_sentence(checkpoints, capsys, flags, words):
    rev, _ = checkpoints
    capsys.readouterr()
    assert main(["generate", "--checkpoint", str(rev), "--input", "abcd", *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and words in err and one_sentence(err[len("error: "):]), err


def test_train_tie_weights_saves_a_tied_model(tmp_path, capsys):
    path = tmp_path / "tied.pt"
    assert main(["train", "--task", "reverse", "--length", "4", "--steps", "2", "--tie-weights", "--save", str(path),
                 *TINY]) == 0
    model, _, _ = load_checkpoint(path)
    assert model.cfg.tie_weights and model.lm_head.weight is model.tok_emb.weight
    capsys.readouterr()
    assert main(["train", "--task", "reverse", "--arch", "encoder", "--steps", "2", "--tie-weights", *TINY]) == 2
    assert "tie_weights" in capsys.readouterr().err
