"""Attention against PyTorch's reference implementations, used as oracles."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from transformer.attention import MultiHeadAttention, causal_mask, padding_mask, scaled_dot_product_attention
from transformer.blocks import EncoderBlock
from transformer.capture import capture
from transformer.config import ModelConfig


def _qkv(B=2, H=3, T=5, S=7, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(B, H, T, d, generator=g), torch.randn(B, H, S, d, generator=g),
            torch.randn(B, H, S, d, generator=g))


def test_explicit_attention_matches_torch_sdpa_with_and_without_mask():
    q, k, v = _qkv()
    out, w = scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v))
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 3, 5))
    mask = torch.rand(2, 1, 5, 7, generator=torch.Generator().manual_seed(1)) > 0.3
    mask[..., 0] = True  # every query keeps at least one key
    out, w = scaled_dot_product_attention(q, k, v, mask)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask))
    assert (w[~mask.expand_as(w)] == 0).all()


def test_weights_are_softmax_of_scaled_scores():
    q, k, v = _qkv(T=4, S=4)
    _, w = scaled_dot_product_attention(q, k, v)
    manual = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.size(-1)), dim=-1)
    torch.testing.assert_close(w, manual)


def test_causal_mask_blocks_the_future():
    m = causal_mask(4)
    assert m.tolist() == [[True, False, False, False], [True, True, False, False],
                          [True, True, True, False], [True, True, True, True]]
    q, k, v = _qkv(T=4, S=4)
    _, w = scaled_dot_product_attention(q, k, v, m)
    assert torch.all(w.triu(1) == 0)


def test_fully_masked_row_gives_zero_weights_not_nan():
    q, k, v = _qkv(T=2, S=3)
    mask = torch.zeros(1, 1, 2, 3, dtype=torch.bool)
    out, w = scaled_dot_product_attention(q, k, v, mask)
    assert not torch.isnan(out).any() and (w == 0).all()


def test_padding_mask_shape_and_values():
    ids = torch.tensor([[5, 6, 0, 0], [7, 0, 0, 0]])
    m = padding_mask(ids, pad_id=0)
    assert m.shape == (2, 1, 1, 4)
    assert m[0, 0, 0].tolist() == [True, True, False, False]


def _copy_into_reference(ours: MultiHeadAttention, ref: nn.MultiheadAttention):
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([ours.q_proj.weight, ours.k_proj.weight, ours.v_proj.weight]))
        ref.in_proj_bias.copy_(torch.cat([ours.q_proj.bias, ours.k_proj.bias, ours.v_proj.bias]))
        ref.out_proj.weight.copy_(ours.out_proj.weight)
        ref.out_proj.bias.copy_(ours.out_proj.bias)


@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention_matches_nn_multiheadattention(causal):
    torch.manual_seed(0)
    ours = MultiHeadAttention(d_model=16, n_heads=4)
    ref = nn.MultiheadAttention(16, 4, batch_first=True)
    _copy_into_reference(ours, ref)
    x = torch.randn(2, 6, 16)
    ref_mask = ~causal_mask(6) if causal else None  # torch: True = NOT allowed
    expected, ref_w = ref(x, x, x, attn_mask=ref_mask, average_attn_weights=False)
    torch.testing.assert_close(ours(x, is_causal=causal), expected, atol=1e-5, rtol=1e-5)
    with capture(ours) as cache:  # the explicit path gives the same output and the same weights
        torch.testing.assert_close(ours(x, is_causal=causal), expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(cache[""], ref_w, atol=1e-5, rtol=1e-5)


def test_cross_attention_matches_reference_with_key_padding():
    torch.manual_seed(1)
    ours = MultiHeadAttention(d_model=12, n_heads=3)
    ref = nn.MultiheadAttention(12, 3, batch_first=True)
    _copy_into_reference(ours, ref)
    x, memory = torch.randn(2, 4, 12), torch.randn(2, 5, 12)
    src = torch.tensor([[3, 4, 5, 0, 0], [3, 4, 5, 6, 7]])
    expected, _ = ref(x, memory, memory, key_padding_mask=src == 0)
    torch.testing.assert_close(ours(x, memory, mask=padding_mask(src, 0)), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("norm,activation", [("post", "relu"), ("pre", "gelu")])
def test_encoder_block_matches_nn_transformer_encoder_layer(norm, activation):
    torch.manual_seed(2)
    cfg = ModelConfig(d_model=16, n_heads=2, d_ff=32, dropout=0.0, norm=norm, activation=activation)
    ours = EncoderBlock(cfg).eval()
    ref = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, activation=activation,
                                     batch_first=True, norm_first=norm == "pre").eval()
    _copy_into_reference(ours.self_attn, ref.self_attn)
    with torch.no_grad():
        ref.linear1.load_state_dict(ours.ff.fc1.state_dict())
        ref.linear2.load_state_dict(ours.ff.fc2.state_dict())
        ref.norm1.load_state_dict(ours.ln1.state_dict())
        ref.norm2.load_state_dict(ours.ln2.state_dict())
    x = torch.randn(3, 5, 16)
    src = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]])
    expected = ref(x, src_key_padding_mask=src == 0)
    got = ours(x, padding_mask(src, 0))
    # Padded query rows are meaningless (and torch's fast path may zero them): compare real ones.
    real = src.bool()
    torch.testing.assert_close(got[real], expected[real], atol=1e-5, rtol=1e-5)


def test_head_ablation_zeroes_that_heads_contribution():
    torch.manual_seed(3)
    mha = MultiHeadAttention(d_model=8, n_heads=2)
    x = torch.randn(1, 3, 8)
    mha.hook_z.edit = lambda z: z * 0.0  # what ablate_heads does for a head list of [0, 1]
    # With every head off, only the output projection's bias is left.
    torch.testing.assert_close(mha(x), mha.out_proj.bias.expand(1, 3, 8))
