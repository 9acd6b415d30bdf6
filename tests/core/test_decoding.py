"""Sampling rules and task-level prediction for every layout."""
import pytest
import torch

from transformer import build_model
from transformer.decoding import generate, generate_seq2seq, predict, sample_next
from transformer.tasks import get_task, make_batch


def test_temperature_zero_is_argmax():
    logits = torch.tensor([[0.1, 3.0, -1.0], [2.0, 0.0, 1.0]])
    assert sample_next(logits).tolist() == [1, 0]


def test_top_k_never_samples_outside_the_k_best():
    g = torch.Generator().manual_seed(0)
    logits = torch.tensor([[5.0, 4.9, 0.0, -1.0, 4.8]]).repeat(200, 1)
    picks = sample_next(logits, temperature=2.0, top_k=2, generator=g)
    assert set(picks.tolist()) == {0, 1}


def test_high_temperature_spreads_samples():
    g = torch.Generator().manual_seed(0)
    logits = torch.tensor([[2.0, 1.0, 0.0]]).repeat(500, 1)
    cold = sample_next(logits, temperature=0.1, generator=g)
    hot = sample_next(logits, temperature=5.0, generator=g)
    assert (cold == 0).float().mean() > 0.95
    assert len(set(hot.tolist())) == 3


def test_generate_stops_at_eos_and_respects_length():
    torch.manual_seed(0)
    task = get_task("reverse", length=4)
    model = build_model(task.model_config("decoder")).eval()
    idx = torch.tensor([[task.vocab.bos_id]])
    out = generate(model, idx, max_new_tokens=5)
    assert out.shape == (1, 6) and out[0, 0] == task.vocab.bos_id
    src = torch.tensor([task.vocab.encode(list("abcd"))])
    enc_dec = build_model(task.model_config("encoder-decoder")).eval()
    assert generate_seq2seq(enc_dec, src, task.vocab.bos_id, max_new_tokens=3).shape == (1, 3)


def _train(model, task, steps=300):
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    layout = model.cfg.layout
    for step in range(steps):
        batch = make_batch(task, task.examples(32, seed=step), layout)
        _, loss = batch.run(model)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


@pytest.mark.parametrize("arch", ["decoder", "encoder-decoder", "encoder"])
def test_predict_answers_a_learned_copy_task(arch):
    """After a little training, greedy prediction reproduces the task's own answers."""
    torch.manual_seed(0)
    task = get_task("copy", length=3, min_length=3, n_symbols=4)
    model = _train(build_model(task.model_config(arch, d_model=32, n_heads=2, d_ff=64)), task)
    tests = task.examples(20, seed=999)
    answers = predict(model, task, [ex.src for ex in tests])
    right = sum(a == ex.tgt for a, ex in zip(answers, tests))
    assert right >= 18, f"{arch}: {right}/20 copied"
    assert model.training, "predict must restore the model's training mode"


def test_predict_classification_reads_the_label_at_cls():
    torch.manual_seed(0)
    task = get_task("parity", length=3)
    model = build_model(task.model_config("encoder", d_model=32, n_heads=2, d_ff=64)).eval()
    answers = predict(model, task, [list("101"), list("11")])
    assert all(len(a) == 1 and a[0] in task.vocab.tokens for a in answers)
