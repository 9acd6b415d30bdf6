"""The character model's samples on the Train page: seeded, from the model, never special tokens."""
from __future__ import annotations

import torch

from transformer.tasks import get_task
from transformer.training import initial_model, run_configs, TrainConfig
from transformer.config import ModelConfig
from transformer.tasks.vocab import SPECIALS
from transformer.ui.charlm_panel import samples_html, sampled_continuations


def _untrained(text=None):
    task = get_task("charlm", length=16, **({"text": text} if text else {}))
    model_cfg, _ = run_configs(task, ModelConfig(arch="decoder", d_model=16, n_heads=2, n_layers=1, d_ff=32),
                               TrainConfig())
    return task, initial_model(model_cfg, seed=0).eval()


def test_samples_are_seeded_and_written_by_the_model():
    task, model = _untrained()
    prompts = [list("attention is"), list("the model "), list("a head")]  # two lengths: two groups
    first = sampled_continuations(model, task, prompts, max_new_tokens=20, seed=3)
    assert first == sampled_continuations(model, task, prompts, max_new_tokens=20, seed=3)
    assert first != sampled_continuations(model, task, prompts, max_new_tokens=20, seed=4)
    assert [len(t) for t in first] == [20, 20, 20]
    # Greedy (temperature 0) is the argmax of the model's own next-token logits.
    [greedy] = sampled_continuations(model, task, [prompts[0]], max_new_tokens=1, temperature=0)
    idx = torch.tensor([[task.vocab.bos_id] + task.vocab.encode(prompts[0])])
    logits, _ = model(idx)
    logits[0, -1, sorted(task.vocab.special_ids)] = -float("inf")
    assert greedy == task.vocab.tokens[int(logits[0, -1].argmax())]


def test_an_untrained_model_never_writes_special_tokens_and_uses_the_texts_alphabet():
    task, model = _untrained("xyz xzy yzx " * 60)
    texts = sampled_continuations(model, task, [list("xyz x")] * 3, max_new_tokens=200, temperature=2.0)
    written = "".join(texts)
    assert set(written) <= set("xyz "), set(written)
    assert not any(s in written for s in SPECIALS)


def test_the_samples_table_shows_a_persons_text_as_text():
    html = samples_html([(list("<b>hi</b>"), "<img src=x>\nnext")])
    assert "<img" not in html and "&lt;img src=x&gt;" in html and "&lt;b&gt;hi&lt;/b&gt;" in html
    assert "↵" in html, "a line break is shown, not lost"
