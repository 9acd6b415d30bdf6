"""Beam search: width 1 is greedy, a wider beam never ends below greedy, and the tree it draws."""
import math

import pytest
import torch
import torch.nn as nn

from transformer import ModelConfig, build_model
from transformer.beam import MAX_BEAM_TOKENS, MAX_BEAM_WIDTH, beam_search, beam_tree
from transformer.decoding import generation_trace
from transformer.tasks import SPECIALS, get_task


def _model(task, arch, seed=0):
    torch.manual_seed(seed)
    return build_model(task.model_config(arch, d_model=32, n_heads=2, d_ff=64)).eval()


def _text(task):
    return task.kind == "text"


def _greedy_path(model, task, src, n):
    """Greedy ids and their total log-probability over the tokens the model may write."""
    ids = [s.id for s in generation_trace(model, task, src, max_new_tokens=n)]
    # the same path at temperature 1: its probs are the softmax of the logits the model may write
    forced = generation_trace(model, task, src, max_new_tokens=n, temperature=1.0, forced=task.vocab.to_tokens(ids))
    assert [s.id for s in forced] == ids
    return ids, sum(math.log(float(s.probs[s.id])) for s in forced)


CASES = [("reverse", dict(length=5), "decoder", list("abcde")),
         ("sort", dict(length=5), "encoder-decoder", list("ecbd")),
         ("reverse", dict(length=4), "lstm", list("abc")),
         ("charlm", dict(text="the cat sat on the mat. " * 20, length=16), "decoder", list("the "))]


@pytest.mark.parametrize("name, params, arch, src", CASES)
def test_width_one_is_greedy(name, params, arch, src):
    task = get_task(name, **params)
    for seed in range(3):
        model = _model(task, arch, seed)
        ids, log_prob = _greedy_path(model, task, src, 6)
        (beam,) = beam_search(model, task, src, width=1, max_new_tokens=6)
        assert beam.ids == ids and beam.greedy
        assert math.isclose(beam.log_prob, log_prob, abs_tol=1e-4)
        assert math.isclose(beam.log_prob, sum(lp for _, lp in beam.steps), abs_tol=1e-9)


@pytest.mark.parametrize("name, params, arch, src", CASES)
def test_the_best_beam_is_never_below_greedy(name, params, arch, src):
    task = get_task(name, **params)
    for seed in range(3):
        model = _model(task, arch, seed)
        _, greedy = _greedy_path(model, task, src, 6)
        for width in (2, 3, 5):
            beams = beam_search(model, task, src, width=width, max_new_tokens=6)
            assert len(beams) <= width and sum(b.greedy for b in beams) == 1
            assert beams[0].log_prob >= greedy - 1e-4
            assert [b.log_prob for b in beams] == sorted((b.log_prob for b in beams), reverse=True)
            if _text(task):
                assert not any(t in SPECIALS for b in beams for t in b.tokens)


class _Scripted(nn.Module):
    """A language model whose next-token probabilities are a table keyed by what it has written
    after the prompt; everything not in the table is uniform."""

    def __init__(self, vocab_size, prompt_len, table):
        super().__init__()
        self.cfg = ModelConfig(vocab_size=vocab_size, max_len=64, arch="decoder")
        self.dummy = nn.Parameter(torch.zeros(1))
        self.prompt_len, self.table, self.V = prompt_len, table, vocab_size

    def forward(self, idx, targets=None):
        rows = []
        for row in idx.tolist():
            probs = self.table.get(tuple(row[self.prompt_len:]), {})
            rest = (1 - sum(probs.values())) / (self.V - len(probs))
            rows.append([probs.get(i, rest) for i in range(self.V)])
        p = torch.tensor(rows)[:, None, :].expand(-1, idx.size(1), -1)  # (B, T, V)
        return p.log(), None


def test_the_greedy_hypothesis_survives_where_plain_beam_search_drops_it():
    """Plain beam search (width 2) keeps "b c" and "b d" (0.18 each) over greedy's "a x" (0.06),
    then both continue badly (0.18 * 0.12 = 0.02) while "a x <eos>" has 0.06 * 0.99."""
    task = get_task("reverse", length=4)
    v = task.vocab
    a, b, c, d, x, eos = v.stoi["a"], v.stoi["b"], v.stoi["c"], v.stoi["d"], v.stoi["e"], v.eos_id
    table = {(): {a: 0.5, b: 0.4}, (a,): {x: 0.12}, (b,): {c: 0.45, d: 0.45}, (a, x): {eos: 0.99},
             (b, c): {a: 0.12}, (b, d): {a: 0.12}}
    model = _Scripted(len(v), prompt_len=3, table=table)  # the prompt is [BOS] a [SEP]
    history = []
    beams = beam_search(model, task, ["a"], width=2, max_new_tokens=3, history=history)
    assert beams[0].ids == [a, x, eos] and beams[0].greedy and beams[0].finished
    assert math.isclose(beams[0].log_prob, math.log(0.5 * 0.12 * 0.99), abs_tol=1e-6)  # float32 logits
    assert beams[1].ids[:2] in ([b, c], [b, d])
    # after step 2 the pool holds the best extension and the greedy one (which replaced "b d")
    assert [h.ids for h in history[1]] == [[b, c], [a, x]] and history[1][1].greedy
    assert beams[0].parents == [-1, 0, 1]  # from the pool's best at step 1, its second at step 2


def test_beam_tree_merges_shared_prefixes():
    task = get_task("reverse", length=5)
    beams = beam_search(_model(task, "decoder"), task, list("abcde"), width=4, max_new_tokens=4)
    nodes = beam_tree(beams)
    keys = {n["key"] for n in nodes}
    assert len(keys) == len(nodes) == len({tuple(b.ids[:k]) for b in beams for k in range(1, len(b.ids) + 1)})
    for n in nodes:
        assert n["parent"] is None or n["parent"] in keys
        assert n["depth"] == len(n["key"])
    leaves = {tuple(b.ids): b.log_prob for b in beams}
    for n in nodes:
        if n["key"] in leaves:
            assert math.isclose(n["score"], leaves[n["key"]], abs_tol=1e-9)


@pytest.mark.parametrize("width", [0, MAX_BEAM_WIDTH + 1, 2.5, True])
def test_bad_widths_are_one_sentence(width):
    task = get_task("reverse", length=4)
    with pytest.raises(ValueError, match="beam width"):
        beam_search(_model(task, "decoder"), task, list("ab"), width=width)


def test_a_beam_search_is_bounded_in_length():
    task = get_task("charlm", text="the cat sat on the mat. " * 20, length=16)
    with pytest.raises(ValueError, match="1,000"):
        beam_search(_model(task, "decoder"), task, list("the "), width=2, max_new_tokens=MAX_BEAM_TOKENS + 1)
