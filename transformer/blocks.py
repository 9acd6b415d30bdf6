"""The transformer block: attention and a feed-forward network, each wrapped in a residual
connection and a layer normalisation.

Post-norm is the 2017 paper's order, x = LayerNorm(x + Sublayer(x)). Pre-norm,
x = x + Sublayer(LayerNorm(x)), is what GPT-2 and most later models use: the residual path
stays an identity from input to output, so deep stacks train without warmup tricks.
"""
from __future__ import annotations

import torch.nn as nn

from .attention import MultiHeadAttention
from .hooks import HookPoint
from .positional import RotaryEmbedding


class FeedForward(nn.Module):
    """Position-wise FFN(x) = W_2 · act(W_1 x + b_1) + b_2, applied to every token alone.

    x [B, T, d_model] -> [B, T, d_model], through a wider hidden layer of d_ff units.
    """

    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.0, activation: str = "gelu"):
        super().__init__()
        self.fc1 = nn.Linear(d_model, d_ff)
        self.act = nn.GELU() if activation == "gelu" else nn.ReLU()
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(d_ff, d_model)

    def forward(self, x):
        return self.fc2(self.dropout(self.act(self.fc1(x))))


def _rope(cfg):
    return RotaryEmbedding(cfg.d_head, cfg.max_len, cfg.rope_base) if cfg.pos_encoding == "rope" else None


class _Block(nn.Module):
    """Shared residual plumbing; `hook_out` sees the residual stream the block passes on."""

    def __init__(self, cfg):
        super().__init__()
        self.pre_norm = cfg.norm == "pre"
        self.dropout = nn.Dropout(cfg.dropout)
        self.hook_out = HookPoint("hidden")  # recorded as the block's own name, e.g. "decoder.0"

    def _sublayer(self, x, norm, fn):
        if self.pre_norm:
            return x + self.dropout(fn(norm(x)))
        return norm(x + self.dropout(fn(x)))


class EncoderBlock(_Block):
    """Bidirectional self-attention + FFN. x [B, S, d], pad_mask [B, 1, 1, S] -> [B, S, d]."""

    def __init__(self, cfg):
        super().__init__(cfg)
        self.self_attn = MultiHeadAttention(cfg.d_model, cfg.n_heads, cfg.dropout, rope=_rope(cfg))
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.ff = FeedForward(cfg.d_model, cfg.d_ff, cfg.dropout, cfg.activation)
        self.ln2 = nn.LayerNorm(cfg.d_model)

    def forward(self, x, pad_mask=None):
        x = self._sublayer(x, self.ln1, lambda h: self.self_attn(h, mask=pad_mask))
        x = self._sublayer(x, self.ln2, self.ff)
        return self.hook_out(x)


class DecoderBlock(_Block):
    """Causal self-attention, then (encoder-decoder only) cross-attention to the encoder's
    memory, then FFN. x [B, T, d], memory [B, S, d], src_mask [B, 1, 1, S] -> [B, T, d]."""

    def __init__(self, cfg, cross: bool = False):
        super().__init__(cfg)
        self.self_attn = MultiHeadAttention(cfg.d_model, cfg.n_heads, cfg.dropout, rope=_rope(cfg))
        self.ln1 = nn.LayerNorm(cfg.d_model)
        if cross:
            # No rotary here: query and key positions live in different sequences.
            self.cross_attn = MultiHeadAttention(cfg.d_model, cfg.n_heads, cfg.dropout)
            self.ln_cross = nn.LayerNorm(cfg.d_model)
        else:
            self.cross_attn = None
        self.ff = FeedForward(cfg.d_model, cfg.d_ff, cfg.dropout, cfg.activation)
        self.ln2 = nn.LayerNorm(cfg.d_model)

    def forward(self, x, memory=None, src_mask=None):
        x = self._sublayer(x, self.ln1, lambda h: self.self_attn(h, is_causal=True))
        if self.cross_attn is not None:
            x = self._sublayer(x, self.ln_cross, lambda h: self.cross_attn(h, memory, mask=src_mask))
        x = self._sublayer(x, self.ln2, self.ff)
        return self.hook_out(x)
