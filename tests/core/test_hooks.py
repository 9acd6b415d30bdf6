"""Hook points: the stable names a capture records under, and that they cost nothing when off."""
import pytest
import torch

from transformer.build import build_model
from transformer.capture import capture
from transformer.config import ModelConfig
from transformer.hooks import ActivationCache, HookPoint, hook_points

V = 14


def _cfg(arch, **kw):
    return ModelConfig(**{**dict(vocab_size=V, max_len=16, arch=arch, d_model=16, n_heads=2, n_layers=2, d_ff=32,
                                 dropout=0.0), **kw})


def _names(arch, **opts):
    torch.manual_seed(0)
    model = build_model(_cfg(arch)).eval()
    idx = torch.randint(1, V, (1, 5))
    with capture(model, **opts) as cache:
        model(idx, idx) if model.cfg.layout == "seq2seq" else model(idx)
    return set(cache)


def test_the_names_pages_use_stay_the_same():
    attn = {"decoder.0.self_attn", "decoder.1.self_attn"}
    assert _names("decoder") == attn
    qkv = {f"{a}.{part}" for a in attn for part in ("q", "k", "v", "scores", "mask")}
    assert _names("decoder", qkv=True, hidden=True) == attn | qkv | {"embed", "decoder.0", "decoder.1"}
    assert _names("encoder-decoder", hidden=True) == {
        "encoder.0.self_attn", "encoder.1.self_attn", "decoder.0.self_attn", "decoder.1.self_attn",
        "decoder.0.cross_attn", "decoder.1.cross_attn", "encoder.embed", "decoder.embed",
        "encoder.0", "encoder.1", "decoder.0", "decoder.1"}
    assert _names("lstm", hidden=True) == {"embed", "rnn.0", "rnn.1", "rnn.hidden", "rnn.cell"}
    assert _names("lstm-seq2seq-attn") == {"encoder.hidden", "decoder.hidden", "decoder.cross_attn"}


@pytest.mark.parametrize("arch", ["decoder", "encoder-decoder", "lstm", "lstm-seq2seq-attn"])
def test_hook_points_add_no_parameters_so_checkpoints_still_load(arch):
    model = build_model(_cfg(arch))
    assert hook_points(model)
    assert not any("hook" in key for key in model.state_dict())


def test_the_cache_accessors_read_the_same_tensors_as_the_names():
    torch.manual_seed(0)
    model = build_model(_cfg("encoder-decoder")).eval()
    src, tgt = torch.randint(1, V, (2, 6)), torch.randint(1, V, (2, 4))
    with capture(model, hidden=True) as cache:
        model(src, tgt)
    assert isinstance(cache, ActivationCache)
    assert cache.attention(1) is cache["decoder.1.self_attn"]                  # the decoder by default
    assert cache.attention(0, "encoder").shape == (2, 2, 6, 6)
    assert cache.attention(1, kind="cross_attn").shape == (2, 2, 4, 6)
    assert cache.hidden(0, "encoder").shape == (2, 6, 16)
    assert cache.attention_names()[0] == "encoder.0.self_attn"


def test_a_hook_point_is_an_identity_until_asked():
    point = HookPoint("hidden", "x")
    x = torch.randn(2, 3)
    assert point(x) is x and not point.recording
    cache = {}
    point.attach(cache, "here")
    point.edit = lambda t: 2 * t
    torch.testing.assert_close(point(x), 2 * x)
    torch.testing.assert_close(cache["here"], 2 * x)                           # records what it passes on
    point.detach_all()
    assert point(x) is x
    with pytest.raises(ValueError, match="group"):
        HookPoint("everything")


def test_ablation_inside_a_capture_is_undone_with_it_but_an_outer_ablation_survives():
    from transformer.capture import ablate_heads

    torch.manual_seed(0)
    model = build_model(_cfg("decoder")).eval()
    idx = torch.randint(1, V, (1, 5))
    base = model(idx)[0]
    with ablate_heads(model, {"decoder.0.self_attn": [0]}):
        ablated = model(idx)[0]
        with capture(model) as cache:
            torch.testing.assert_close(model(idx)[0], ablated, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(model(idx)[0], ablated)                    # the outer switch-off holds
    assert not torch.allclose(ablated, base)
    torch.testing.assert_close(model(idx)[0], base)
    assert "decoder.0.self_attn" in cache
