"""Running one input with everything captured: input checks, axes, one query by hand, ablation."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from transformer import build_model
from transformer.capture import capture
from transformer.analysis.inspection import (
    InputTooLong,
    ablation_accuracy,
    parse_input,
    query_walkthrough,
    run_attention,
)
from transformer.tasks import MAX_INPUT_CHARS, TASKS, get_task


@pytest.fixture(scope="module")
def reverse():
    return get_task("reverse", length=6)


def tiny(task, arch="decoder"):
    torch.manual_seed(0)
    return build_model(task.model_config(arch, d_model=16, n_heads=2, n_layers=2, d_ff=32)).eval()


# --------------------------------------------------------------------------- bad input


def test_empty_input_is_one_sentence(reverse):
    with pytest.raises(ValueError, match="^The input is empty"):
        parse_input(reverse, "   ")


def test_a_text_prompt_keeps_its_spaces_and_a_question_loses_them(reverse):
    """A character model continues "and now " differently from "and now": its spaces are input."""
    charlm = get_task("charlm")
    assert parse_input(charlm, "and now ") == list("and now ")
    assert parse_input(reverse, " abcd ", trained_lengths=False) == list("abcd")
    with pytest.raises(ValueError, match="^The input is empty"):
        parse_input(charlm, "  ")


def test_unknown_characters_are_named(reverse):
    with pytest.raises(ValueError, match="'Z'") as err:
        parse_input(reverse, "abZ")
    assert not isinstance(err.value, InputTooLong)  # no truncation offered for a typo


def test_too_long_for_the_task_offers_the_start_that_fits(reverse):
    with pytest.raises(InputTooLong) as err:
        parse_input(reverse, "abcdefabc")
    assert err.value.fits == "abcdef"
    assert parse_input(reverse, err.value.fits) == list("abcdef")


def test_too_long_for_the_models_context(reverse):
    # [BOS] 6 letters [SEP] 6 answer letters = 14 positions; a context of 12 holds 5 letters
    with pytest.raises(InputTooLong, match="context holds 12") as err:
        parse_input(reverse, "abcdef", max_len=12)
    assert err.value.fits == "abcd"
    # (shorter than the task's 6 letters: accepted only when the trained lengths are not enforced)
    assert parse_input(reverse, "abcd", max_len=12, trained_lengths=False) == list("abcd")


def test_shorter_than_every_training_example_is_refused_with_the_lengths(reverse):
    """The reverse preset trains on exactly its length: "abc" used to answer "(nothing)"."""
    with pytest.raises(ValueError, match="trained only on inputs of exactly 6 letters and this one has 3") as err:
        parse_input(reverse, "abc")
    assert not isinstance(err.value, InputTooLong)
    ranged = get_task("reverse", length=6, min_length=3)
    assert parse_input(ranged, "abc") == list("abc")
    with pytest.raises(ValueError, match="3 to 6 letters"):
        parse_input(ranged, "ab")


@pytest.mark.parametrize("name", list(TASKS))
def test_a_megabyte_is_refused_before_any_parsing(name):
    """Every task, through parse_input and task.parse: one sentence naming the limit."""
    task = get_task(name)
    huge = "a" * 1_000_000
    for parse in (lambda t: parse_input(task, t, 64), task.parse):
        with pytest.raises(ValueError, match=f"at most {MAX_INPUT_CHARS:,}") as err:
            parse(huge)
        assert not isinstance(err.value, InputTooLong)
        assert str(err.value).count(". ") == 0  # one sentence


@pytest.mark.parametrize("name, filler", [("reverse", "a"), ("sentiment", "good movie "), ("dates", "22 Nov 2026 "),
                                          ("charlm", "the cat sat "), ("addition", "1")])
def test_the_start_that_fits_is_found_within_a_fixed_number_of_parses(name, filler, monkeypatch):
    """At the limit, the search for a start that fits parses a bounded number of short prefixes,
    not every prefix of the whole text (which made a long paste quadratic)."""
    task = get_task(name)
    text = (filler * MAX_INPUT_CHARS)[:MAX_INPUT_CHARS]
    calls = []
    parse = type(task).parse
    monkeypatch.setattr(type(task), "parse", lambda self, t: (calls.append(len(t)), parse(self, t))[1])
    try:
        parse_input(task, text, 64)
    except InputTooLong as err:
        assert text.startswith(err.fits)
    except ValueError:
        pass
    assert len(calls) <= 300 and max(calls[1:], default=0) <= 300


# --------------------------------------------------------------------------- run_attention


def test_decoder_run_reads_input_and_its_own_answer(reverse):
    model = tiny(reverse)
    run = run_attention(model, reverse, list("abc"))
    assert run.tokens[:5] == ["<bos>", "a", "b", "c", "<sep>"]
    assert run.tokens[5:] == run.answer
    assert run.names == ["decoder.0.self_attn", "decoder.1.self_attn"]
    q, k = run.axes("decoder.1.self_attn")
    w = run.weights("decoder.1.self_attn")
    assert w.shape == (2, len(q), len(k))
    allowed = run.allowed("decoder.0.self_attn")
    assert np.array_equal(allowed, np.tril(np.ones_like(allowed)))
    assert run.is_causal("decoder.0.self_attn")


def test_encoder_decoder_run_has_cross_attention_axes():
    task = get_task("dates")
    model = tiny(task, "encoder-decoder")
    src = parse_input(task, "22 Nov 2026")
    run = run_attention(model, task, src)
    q, k = run.axes("decoder.0.cross_attn")
    assert k == src and q[0] == "<bos>"
    assert run.weights("decoder.0.cross_attn").shape == (2, len(q), len(k))
    assert run.axes("encoder.0.self_attn") == (src, src)
    assert not run.is_causal("encoder.0.self_attn") and not run.is_causal("decoder.0.cross_attn")
    assert run.allowed("encoder.0.self_attn").all()


def test_a_given_answer_is_teacher_forced_instead_of_the_models_own():
    """What a lesson shows: attention while the right answer is written, whatever the
    (untrained) model would have said."""
    task = get_task("dates")
    model = tiny(task, "encoder-decoder")
    src = parse_input(task, "22 Nov 2026")
    right = task.solve(src)
    run = run_attention(model, task, src, answer=right)
    assert run.answer == right
    assert run.tgt_tokens == ["<bos>"] + right                         # what the decoder read
    assert run.weights("decoder.0.cross_attn").shape == (2, len(right) + 1, len(src))


# --------------------------------------------------------------------------- walkthrough


@pytest.mark.parametrize("query", [0, 3, 6])
def test_walkthrough_reproduces_the_models_weights(reverse, query):
    model = tiny(reverse)
    idx = torch.tensor([[1, 6, 7, 8, 3, 8, 7]])
    with capture(model, qkv=True) as cache:
        model(idx)
    wt = query_walkthrough(cache, "decoder.1.self_attn", query=query, head=1)
    assert wt.max_abs_error < 1e-5
    assert wt.allowed.sum() == query + 1  # causal: itself and earlier tokens
    assert np.isneginf(wt.masked[~wt.allowed]).all()
    assert wt.weights.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(wt.scaled, cache["decoder.1.self_attn.scores"][0, 1, query].numpy(), atol=1e-5)
    np.testing.assert_allclose(wt.out, wt.weights @ wt.v, rtol=1e-5, atol=1e-6)  # float32, as captured


def test_walkthrough_without_qkv_says_how_to_fix(reverse):
    model = tiny(reverse)
    with capture(model) as cache:
        model(torch.tensor([[1, 6, 7]]))
    with pytest.raises(ValueError, match="qkv=True"):
        query_walkthrough(cache, "decoder.0.self_attn", query=1)


# --------------------------------------------------------------------------- ablation


def test_ablation_changes_answers_only_while_it_lasts(reverse):
    model = tiny(reverse)
    examples = reverse.examples(6, seed=1)
    before = ablation_accuracy(model, reverse, examples)
    every_head = {"decoder.0.self_attn": [0, 1], "decoder.1.self_attn": [0, 1]}
    ablated = ablation_accuracy(model, reverse, examples, every_head)
    after = ablation_accuracy(model, reverse, examples)
    assert [a["predicted"] for a in after["answers"]] == [a["predicted"] for a in before["answers"]]
    assert [a["predicted"] for a in ablated["answers"]] != [a["predicted"] for a in before["answers"]]
    assert 0.0 <= ablated["token_acc"] <= 1.0 and len(ablated["answers"]) == 6


def test_ablating_a_missing_head_is_a_clear_error(reverse):
    with pytest.raises(ValueError, match="no head 5"):
        ablation_accuracy(tiny(reverse), reverse, reverse.examples(1, seed=0), {"decoder.0.self_attn": [5]})
