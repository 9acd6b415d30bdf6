"""generation_trace and output_layer: the numbers they report are the model's own."""
import math

import pytest
import torch

from transformer import build_model
from transformer.decoding import Prompt, generation_trace, output_layer, predict, trace_text
from transformer.sampling import next_token_distribution
from transformer.tasks import SPECIALS, get_task


def _model(task, arch, seed=0, **overrides):
    torch.manual_seed(seed)
    return build_model(task.model_config(arch, d_model=32, n_heads=2, d_ff=64, **overrides)).eval()


def _teacher_forced_logits(model, prompt, written):
    """The model's logits [n, V] for every written position, from ONE forward pass over the
    whole sequence (not the trace's step-by-step calls)."""
    with torch.no_grad():
        ids = torch.tensor([prompt.context + written[:-1]])  # the last written token is read by no one
        if prompt.layout == "lm":
            logits, _ = model(ids)
            return logits[0, len(prompt.context) - 1:]
        return model.decode(ids, model.encode(prompt.src), prompt.src)[0]


@pytest.mark.parametrize("arch", ["decoder", "encoder-decoder", "lstm"])
@pytest.mark.parametrize("settings", [dict(temperature=0.0), dict(temperature=1.3, top_k=4, seed=5),
                                      dict(temperature=0.7, top_p=0.8, seed=2)])
def test_the_traces_probabilities_match_the_models_own_logits(arch, settings):
    task = get_task("reverse", length=5)
    model = _model(task, arch)
    steps = generation_trace(model, task, list("abcde"), max_new_tokens=6, **settings)
    written = [s.id for s in steps]
    logits = _teacher_forced_logits(model, Prompt(model, task, list("abcde")), written)
    assert logits.shape[0] == len(steps)
    for step, row in zip(steps, logits):
        assert torch.allclose(step.logits, row, atol=1e-5)
        assert torch.allclose(step.raw_probs, torch.softmax(row, -1), atol=1e-6)
        after = next_token_distribution(row, settings["temperature"], settings.get("top_k"), settings.get("top_p"))
        assert torch.allclose(step.probs, after, atol=1e-6)
        assert step.probs[step.id] > 0, "a sampled token always has probability after the cut"
        assert math.isclose(step.raw_prob, float(step.raw_probs[step.id]), rel_tol=1e-6)
        top = [c.id for c in step.candidates]
        assert top[:10] == torch.sort(step.raw_probs, descending=True, stable=True).indices[:10].tolist()


@pytest.mark.parametrize("arch", ["decoder", "encoder-decoder"])
def test_a_greedy_trace_writes_what_predict_writes(arch):
    task = get_task("sort", length=5)
    model = _model(task, arch, seed=3)
    for src in (list("cab"), list("edcba")):
        steps = generation_trace(model, task, src, max_new_tokens=task.max_len(model.cfg.layout))
        assert trace_text(task, steps) == task.format_tgt(predict(model, task, [src])[0])


def test_seeded_traces_are_reproducible_and_forcing_changes_only_what_follows():
    task = get_task("reverse", length=6)
    model = _model(task, "decoder", seed=1)
    run = dict(max_new_tokens=7, temperature=2.0, seed=11)
    first = generation_trace(model, task, list("abcdef"), **run)
    assert [s.id for s in first] == [s.id for s in generation_trace(model, task, list("abcdef"), **run)]
    others = {tuple(s.id for s in generation_trace(model, task, list("abcdef"), **{**run, "seed": k})) for k in range(8)}
    assert len(others) > 1, "the seed must matter at temperature 2"
    assert [s.id for s in generation_trace(model, task, list("abcdef"), forced=[None, None], **run)] == [s.id for s in first]
    one = generation_trace(model, task, list("abcdef"), forced=["a", "b"], **run)
    two = generation_trace(model, task, list("abcdef"), forced=["a", "c"], **run)
    assert [s.token for s in one[:2]] == ["a", "b"] and [s.token for s in two[:2]] == ["a", "c"]
    assert one[0].forced and two[1].forced and not any(s.forced for s in two[2:])
    assert torch.equal(one[0].probs, two[0].probs) and not torch.equal(one[2].logits, two[2].logits)
    assert [s.u for s in two] == [s.u for s in one][:len(two)], "forcing changes no step's draw"
    # the step after the forced one reads the forced token: its distribution is the model's for that prefix
    prompt = Prompt(model, task, list("abcdef"))
    with torch.no_grad():
        expected = prompt.logits([[two[0].id, two[1].id]])[0]
    assert torch.allclose(two[2].logits, expected, atol=1e-5)


def test_the_character_model_never_writes_a_special_token():
    text = "the cat sat on the mat. " * 30
    task = get_task("charlm", text=text, length=16)
    model = _model(task, "decoder")
    with torch.no_grad():  # make the specials the most likely tokens of all
        model.lm_head.bias[: len(SPECIALS)] += 50
    steps = generation_trace(model, task, list("the ca"), max_new_tokens=20, temperature=1.0, seed=0)
    assert len(steps) == 20 and all(s.token not in SPECIALS for s in steps)
    assert steps[0].candidates[0].token in SPECIALS and steps[0].candidates[0].prob == 0.0
    with pytest.raises(ValueError, match="special token"):
        generation_trace(model, task, list("the"), forced=["<eos>"])


@pytest.mark.parametrize("call, match", [
    (lambda m, t: generation_trace(m, t, list("ab?")), "Unknown"),
    (lambda m, t: generation_trace(m, t, list("ab"), max_new_tokens=0), "new tokens"),
    (lambda m, t: generation_trace(m, t, list("ab"), temperature=-1), "temperature"),
    (lambda m, t: generation_trace(m, t, list("ab"), forced=["zz"]), "vocabulary"),
    (lambda m, t: generation_trace(m, t, list("ab"), seed=-5), "seed"),
    (lambda m, t: output_layer(m, t, list("ab"), ["?"]), "vocabulary"),
])
def test_bad_values_are_one_sentence(call, match):
    task = get_task("reverse", length=4)
    with pytest.raises(ValueError, match=match):
        call(_model(task, "decoder"), task)


def test_an_encoder_classifier_is_told_to_choose_a_writing_model():
    task = get_task("parity", length=3)
    with pytest.raises(ValueError, match="decoder or encoder-decoder"):
        generation_trace(_model(task, "encoder"), task, list("101"))


@pytest.mark.parametrize("arch, tie", [("decoder", False), ("decoder", True), ("encoder-decoder", True),
                                       ("encoder-decoder", False), ("gru", False)])
def test_output_layer_numbers_are_the_models(arch, tie):
    task = get_task("reverse", length=4)
    model = _model(task, arch, seed=2, **({"tie_weights": True} if tie else {}))
    out = output_layer(model, task, list("abcd"), ["d", "c"])
    assert out["matches"] and out["max_abs_diff"] < 1e-4
    assert torch.allclose(out["logits"], out["h"] @ out["W"].T + out["b"], atol=1e-6)
    assert out["tied"] is tie
    if tie:
        assert torch.equal(out["W"], model.tok_emb.weight.detach())
    if arch != "gru":  # a transformer's h comes out of the final LayerNorm: mean 0, variance 1 at init
        assert abs(float(out["h"].mean())) < 1e-4 and math.isclose(float(out["h"].var(unbiased=False)), 1, rel_tol=1e-3)
    assert out["true_token"] == "b" and math.isclose(float(out["probs"].sum()), 1, abs_tol=1e-5)
    assert math.isclose(out["loss"], -math.log(float(out["probs"][out["true_id"]])), rel_tol=1e-5)
    assert math.isclose(out["ln_V"], math.log(len(task.vocab)))
    # the loss the model itself reports for that one target agrees
    v = task.vocab
    with torch.no_grad():
        if model.cfg.layout == "lm":
            ids = torch.tensor([[v.bos_id] + v.encode(list("abcd")) + [v.sep_id] + v.encode(["d", "c"])])
            targets = torch.full_like(ids, -100)
            targets[0, -1] = v.stoi["b"]
            _, loss = model(ids, targets)
        else:
            tgt = torch.tensor([[v.bos_id] + v.encode(["d", "c"])])
            targets = torch.full_like(tgt, -100)
            targets[0, -1] = v.stoi["b"]
            _, loss = model(torch.tensor([v.encode(list("abcd"))]), tgt, targets)
    assert math.isclose(out["loss"], float(loss), rel_tol=1e-4)


def test_output_layer_after_the_answer_has_the_eos_as_its_true_token():
    task = get_task("reverse", length=4)
    out = output_layer(_model(task, "decoder"), task, list("ab"), ["b", "a"])
    assert out["true_token"] == "<eos>"
    assert output_layer(_model(task, "decoder"), task, list("ab"), ["a"])["true_token"] is None  # off the answer
