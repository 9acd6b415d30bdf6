"""Every model family: config errors, causality, capture names, overfitting one batch."""
import pytest
import torch

from transformer import ModelConfig, build_model, count_parameters
from transformer.capture import ablate_heads, capture
from transformer.hooks import hook_points
from transformer.config import ARCHS, LAYOUTS

V = 12


def _cfg(arch, **kw):
    base = dict(vocab_size=V, max_len=24, arch=arch, d_model=32, n_heads=4, n_layers=2, d_ff=64)
    base.update(kw)
    return ModelConfig(**base)


def _forward(model, idx):
    if model.cfg.layout == "seq2seq":
        return model(idx, idx)[0]
    return model(idx)[0]


@pytest.mark.parametrize("kw,fragment", [
    (dict(d_model=30, n_heads=4), "divisible by n_heads"),
    (dict(d_model=-4), "at least 1"),
    (dict(arch="mlp"), "Unknown architecture"),  # "cnn" is one now (transformer.cnn)
    (dict(pos_encoding="alibi"), "positional encoding"),
    (dict(d_model=12, n_heads=4, pos_encoding="rope"), "even"),
    (dict(dropout=1.5), "dropout"),
])
def test_impossible_configs_raise_a_sentence_that_names_the_fix(kw, fragment):
    with pytest.raises(ValueError, match=fragment):
        build_model(_cfg(**{"arch": "decoder", **kw}))


def test_divisibility_error_suggests_a_head_count():
    with pytest.raises(ValueError, match="use 3 heads"):
        _cfg("decoder", d_model=30, n_heads=4).validate()


@pytest.mark.parametrize("arch,pos", [("decoder", p) for p in ("sinusoidal", "learned", "rope", "none")]
                         + [(a, "none") for a in ("rnn", "gru", "lstm")])
def test_language_models_are_causal(arch, pos):
    torch.manual_seed(0)
    model = build_model(_cfg(arch, pos_encoding=pos)).eval()
    idx = torch.randint(1, V, (2, 10))
    changed = idx.clone()
    changed[:, 6:] = (changed[:, 6:] % (V - 1)) + 1  # change every token from position 6 on
    a, b = model(idx)[0], model(changed)[0]
    torch.testing.assert_close(a[:, :6], b[:, :6])
    assert not torch.allclose(a[:, 6:], b[:, 6:])


@pytest.mark.parametrize("arch", ["encoder-decoder", "lstm-seq2seq", "lstm-seq2seq-attn"])
def test_seq2seq_decoders_are_causal_in_the_target(arch):
    torch.manual_seed(0)
    model = build_model(_cfg(arch)).eval()
    src, tgt = torch.randint(1, V, (2, 7)), torch.randint(1, V, (2, 8))
    changed = tgt.clone()
    changed[:, 5:] = (changed[:, 5:] % (V - 1)) + 1
    torch.testing.assert_close(model(src, tgt)[0][:, :5], model(src, changed)[0][:, :5])


def test_encoder_without_positions_is_permutation_equivariant():
    torch.manual_seed(0)
    model = build_model(_cfg("encoder", pos_encoding="none")).eval()
    idx = torch.randint(1, V, (1, 8))
    perm = torch.randperm(8)
    torch.testing.assert_close(model(idx)[0][:, perm], model(idx[:, perm])[0], atol=1e-5, rtol=1e-5)


def test_encoder_ignores_padding_tokens():
    torch.manual_seed(0)
    model = build_model(_cfg("encoder")).eval()
    short = torch.tensor([[3, 4, 5]])
    padded = torch.tensor([[3, 4, 5, 0, 0]])
    torch.testing.assert_close(model(short)[0], model(padded)[0][:, :3], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("arch", ["decoder", "encoder", "encoder-decoder"])
def test_fused_and_capture_paths_agree_and_names_are_stable(arch):
    torch.manual_seed(0)
    model = build_model(_cfg(arch, n_layers=2)).eval()
    idx = torch.randint(1, V, (2, 9))
    fast = _forward(model, idx)
    with capture(model, qkv=True, hidden=True) as cache:
        slow = _forward(model, idx)
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=1e-5)
    stacks = {"decoder": ["decoder"], "encoder": ["encoder"], "encoder-decoder": ["encoder", "decoder"]}[arch]
    for stack in stacks:
        for i in range(2):
            name = f"{stack}.{i}.self_attn"
            assert cache[name].shape == (2, 4, 9, 9)
            torch.testing.assert_close(cache[name].sum(-1), torch.ones(2, 4, 9))
            assert cache[name + ".q"].shape == (2, 4, 9, 8)
            assert cache[f"{stack}.{i}"].shape == (2, 9, 32)
    if arch == "encoder-decoder":
        assert cache["decoder.1.cross_attn"].shape == (2, 4, 9, 9)
    if arch == "decoder":
        assert torch.all(cache["decoder.0.self_attn"].triu(1) == 0)
    # Outside the context nothing is recorded any more.
    _forward(model, idx)
    assert all(not point.recording for _, point in hook_points(model))
    assert cache.attention(0) is cache[f"{stack}.0.self_attn"]


def test_ablation_changes_the_output_and_rejects_unknown_names():
    torch.manual_seed(0)
    model = build_model(_cfg("decoder")).eval()
    idx = torch.randint(1, V, (1, 6))
    base = model(idx)[0]
    with ablate_heads(model, {"decoder.0.self_attn": [0, 1, 2, 3]}):
        assert not torch.allclose(model(idx)[0], base)
    torch.testing.assert_close(model(idx)[0], base)
    with pytest.raises(ValueError, match="No attention layer"):
        with ablate_heads(model, {"decoder.7.self_attn": [0]}):
            pass
    with pytest.raises(ValueError, match="no head 9"):
        with capture(model, ablate={"decoder.0.self_attn": [9]}):
            pass


def test_too_long_input_is_refused_with_a_sentence():
    model = build_model(_cfg("decoder", max_len=8))
    with pytest.raises(ValueError, match="at most 8"):
        model(torch.ones(1, 9, dtype=torch.long))


@pytest.mark.parametrize("arch", ARCHS)
def test_every_model_overfits_one_batch(arch):
    torch.manual_seed(0)
    model = build_model(_cfg(arch, d_model=32, n_layers=1))
    g = torch.Generator().manual_seed(1)
    idx = torch.randint(1, V, (4, 8), generator=g)
    targets = torch.randint(1, V, (4, 8), generator=g)
    targets[:, :2] = -100  # ignored positions must not matter
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(150):
        if LAYOUTS[arch] == "seq2seq":
            _, loss = model(idx, idx, targets)
        else:
            _, loss = model(idx, targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1, f"{arch} could not memorise one batch (loss {loss.item():.3f})"
    assert count_parameters(model) > 0


@pytest.mark.parametrize("arch", ARCHS)
def test_parameter_count_matches_the_built_model(arch):
    from transformer import build

    cfg = _cfg(arch)
    assert build.parameter_count(cfg) == count_parameters(build_model(cfg))
    with pytest.raises(ValueError, match="at least 1"):
        build.parameter_count(_cfg(arch, d_model=-4))
