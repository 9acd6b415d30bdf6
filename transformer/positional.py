"""Positional encodings: how a model that sees a set learns that it is a sequence.

Self-attention is permutation-equivariant: shuffle the tokens and the outputs shuffle the same
way. Order has to be put in. Four choices, selected by `ModelConfig.pos_encoding`:

* "sinusoidal" (Vaswani et al. 2017): a fixed table added to the token embeddings,
  PE[pos, 2i] = sin(pos / base^(2i/d)), PE[pos, 2i+1] = cos(pos / base^(2i/d)).
  Each (sin, cos) pair is a point on a circle turning at its own speed, so PE[pos + k] is a
  rotation of PE[pos] by an angle that depends on k only.
* "learned" (GPT, BERT): a trainable table, one vector per position.
* "rope" (Su et al. 2021): nothing is added; queries and keys are rotated by their position
  inside attention, so q·k depends only on the offset between the two positions.
* "none": no order at all; a causal decoder can still recover some from its mask.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn


def sinusoidal_encoding(max_len: int, d_model: int, base: float = 10000.0) -> torch.Tensor:
    """[max_len, d_model] table: even columns sin, odd columns cos (Vaswani et al. 2017, §3.5)."""
    position = torch.arange(max_len, dtype=torch.float32)[:, None]  # (max_len, 1)
    # 1 / base^(2i/d) for each pair i; the wavelengths grow geometrically from 2π to 2π·base.
    inv_freq = torch.exp(-math.log(base) * torch.arange(0, d_model, 2, dtype=torch.float32) / d_model)
    angles = position * inv_freq  # (max_len, ceil(d_model / 2))
    pe = torch.zeros(max_len, d_model)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles[:, : d_model // 2])
    return pe


class SinusoidalPositional(nn.Module):
    """Adds the fixed sinusoidal table: x [B, T, d] -> x + PE[:T]."""

    def __init__(self, max_len: int, d_model: int, base: float = 10000.0):
        super().__init__()
        # A buffer, not a parameter: saved with the model, never trained.
        self.register_buffer("pe", sinusoidal_encoding(max_len, d_model, base), persistent=False)

    def forward(self, x):
        return x + self.pe[: x.size(1)]


class LearnedPositional(nn.Module):
    """Adds a trained vector per position: x [B, T, d] -> x + table[0..T-1]."""

    def __init__(self, max_len: int, d_model: int):
        super().__init__()
        self.table = nn.Embedding(max_len, d_model)
        nn.init.normal_(self.table.weight, std=0.02)

    def forward(self, x):
        return x + self.table(torch.arange(x.size(1), device=x.device))


class NoPositional(nn.Module):
    """Adds nothing (used for "none" and for "rope", which acts inside attention)."""

    def forward(self, x):
        return x


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate each pair (x[2i], x[2i+1]) by its angle. x [..., T, d], cos/sin [T, d/2]."""
    x1, x2 = x[..., 0::2], x[..., 1::2]  # (..., T, d/2) each
    rotated = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)  # (..., T, d/2, 2)
    return rotated.flatten(-2)  # (..., T, d): pairs interleaved again


class RotaryEmbedding(nn.Module):
    """RoPE: rotates queries and keys by position so that q_m · k_n depends on m - n only.

    Pair i of a head's d_head dimensions turns at angle pos / base^(2i/d_head), the same
    frequencies as the sinusoidal table. Called on q or k of shape [B, H, T, d_head].
    """

    def __init__(self, d_head: int, max_len: int, base: float = 10000.0):
        super().__init__()
        inv_freq = torch.exp(-math.log(base) * torch.arange(0, d_head, 2, dtype=torch.float32) / d_head)
        angles = torch.arange(max_len, dtype=torch.float32)[:, None] * inv_freq  # (max_len, d_head/2)
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)

    def forward(self, x):
        T = x.size(-2)
        return apply_rotary(x, self.cos[:T].to(x.dtype), self.sin[:T].to(x.dtype))


def build_positional(cfg) -> nn.Module:
    """The additive positional module for a ModelConfig (RoPE is built per attention layer)."""
    if cfg.pos_encoding == "sinusoidal":
        return SinusoidalPositional(cfg.max_len, cfg.d_model)
    if cfg.pos_encoding == "learned":
        return LearnedPositional(cfg.max_len, cfg.d_model)
    return NoPositional()
