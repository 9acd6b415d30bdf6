"""Scaled dot-product attention and multi-head attention, written out.

The explicit path computes softmax(Q·Kᵀ / √d_k + mask) · V and returns the weights, so a
page can draw them. When nothing is being captured, `MultiHeadAttention` calls PyTorch's
fused `F.scaled_dot_product_attention` instead: same numbers (a test checks), less memory and
time, and training pays nothing for the teaching path.

Masks follow one convention everywhere: a boolean tensor broadcastable to [B, H, T, S] where
True means "this query may attend to this key".
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .hooks import HookPoint


def scaled_dot_product_attention(q, k, v, mask=None):
    """Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V  (Vaswani et al. 2017, eq. 1).

    q: [B, H, T, d], k and v: [B, H, S, d], mask: bool broadcastable to [B, H, T, S]
    (True = may attend). Returns (out [B, H, T, d], weights [B, H, T, S]).
    """
    out, weights, _ = _attention_with_scores(q, k, v, mask)
    return out, weights


def _attention_with_scores(q, k, v, mask=None):
    """The explicit path; also returns the pre-softmax scores for the step-by-step view."""
    d_k = q.size(-1)
    # Dividing by √d_k keeps the dot products' variance near 1, so softmax does not saturate
    # as d_k grows and gradients keep flowing.
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)  # (B, H, T, S)
    logits = scores if mask is None else scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(logits, dim=-1)
    # A query with every key masked (a padding row) would give NaN; make it attend to nothing.
    weights = torch.nan_to_num(weights, nan=0.0)
    return weights @ v, weights, scores  # (B, H, T, d)


def causal_mask(T: int, device=None) -> torch.Tensor:
    """[T, T] bool, True on and below the diagonal: position t sees positions 0..t only."""
    return torch.ones(T, T, dtype=torch.bool, device=device).tril()


def padding_mask(ids: torch.Tensor, pad_id: int) -> torch.Tensor:
    """ids [B, S] -> [B, 1, 1, S] bool, False where the key is padding."""
    return (ids != pad_id)[:, None, None, :]


class MultiHeadAttention(nn.Module):
    """MultiHead(Q, K, V) = Concat(head_1..head_h) W_O, head_i = Attention(Q W_Qi, K W_Ki, V W_Vi).

    Self-attention calls it with x_q = x_kv; cross-attention passes the encoder's memory as x_kv.
    An optional `rope` module rotates queries and keys by position (rotary encoding).

    Hook points (see transformer.capture): while `hook_weights` records, the explicit path runs
    so the weights exist, and `hook_q/k/v/scores/mask` may record too; otherwise PyTorch's fused
    kernel runs. `hook_z` sees each head's output [B, H, T, d_head]: ablation edits it there.
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0, rope=None):
        super().__init__()
        assert d_model % n_heads == 0, "d_model must be divisible by n_heads"
        self.n_heads = n_heads
        self.d_head = d_model // n_heads
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self.dropout = dropout
        self.rope = rope
        self.hook_weights = HookPoint("always")
        self.hook_q, self.hook_k, self.hook_v = (HookPoint("qkv", name) for name in "qkv")
        self.hook_scores, self.hook_mask = HookPoint("qkv", "scores"), HookPoint("qkv", "mask")
        self.hook_z = HookPoint("edit", "z")

    def _split_heads(self, x):
        B, L, _ = x.shape
        return x.view(B, L, self.n_heads, self.d_head).transpose(1, 2)  # (B, H, L, d_head)

    def forward(self, x_q, x_kv=None, mask=None, is_causal: bool = False):
        """x_q [B, T, d_model], x_kv [B, S, d_model] (defaults to x_q), mask bool -> [B, T, d_model].

        `is_causal` adds the causal mask (T == S); `mask` (e.g. padding) is combined with it.
        """
        x_kv = x_q if x_kv is None else x_kv
        B, T, _ = x_q.shape
        S = x_kv.size(1)
        q = self._split_heads(self.q_proj(x_q))  # (B, H, T, d_head)
        k = self._split_heads(self.k_proj(x_kv))  # (B, H, S, d_head)
        v = self._split_heads(self.v_proj(x_kv))  # (B, H, S, d_head)
        if self.rope is not None:
            q, k = self.rope(q), self.rope(k)
        dropout_p = self.dropout if self.training else 0.0
        if is_causal and mask is not None:
            mask = mask & causal_mask(T, device=x_q.device)
            is_causal = False

        if not self.hook_weights.recording:
            # Fused path; a plain causal mask goes in as a flag, so no [T, T] tensor is built.
            # Rows with every key masked would give NaN here; keys are only masked for padded
            # sources, and every source has at least one real token, so it cannot happen.
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p, is_causal=is_causal)
        else:
            if is_causal:
                mask = causal_mask(T, device=x_q.device)
            out, weights, scores = _attention_with_scores(q, k, v, mask)
            self.hook_weights(weights)  # (B, H, T, S)
            if self.hook_q.recording:
                for hook, value in ((self.hook_q, q), (self.hook_k, k), (self.hook_v, v), (self.hook_scores, scores)):
                    hook(value)
                full = torch.ones(B, 1, T, S, dtype=torch.bool, device=weights.device)
                self.hook_mask(full if mask is None else full & mask)  # (B, 1 or H, T, S)
            if dropout_p:
                out = F.dropout(weights, dropout_p) @ v
        out = self.hook_z(out)  # (B, H, T, d_head): one output per head
        out = out.transpose(1, 2).contiguous().view(B, T, -1)  # (B, T, d_model)
        return self.out_proj(out)
