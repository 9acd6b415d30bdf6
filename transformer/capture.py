"""Named activations, returned by a context manager (TransformerLens-style hook points).

    with capture(model, qkv=True) as cache:
        model(idx)
    cache["decoder.1.self_attn"]          # [B, H, T, S] attention weights
    cache.attention(1)                    # the same map, without building the name

Names are stable and say where a map came from (plotting a map read by hand off the wrong
module is a classic bug): every model places `transformer.hooks.HookPoint`s at the places worth
recording, and this module attaches a cache to them for the length of the block. Outside it
nothing is recorded and attention takes the fused fast path.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch

from .hooks import ActivationCache, hook_points


def attention_names(model) -> list[str]:
    """Qualified names of every attention module, in forward order."""
    from .attention import MultiHeadAttention

    return [name for name, m in model.named_modules() if isinstance(m, MultiHeadAttention)]


@contextmanager
def capture(model, qkv: bool = False, hidden: bool = False, ablate: dict | None = None):
    """Record activations of `model` during the forward passes run inside the block.

    Always: attention weights (and a recurrent model's state). qkv: also
    `<attn>.q/.k/.v/.scores/.mask`; hidden: also the embedding and every block's output.
    ablate: {attention name: [head indices]} to switch those heads' outputs off.
    Yields an `ActivationCache` (a dict) that fills up; it stays readable after the block ends.
    """
    cache = ActivationCache()
    groups = {"always"} | ({"qkv"} if qkv else set()) | ({"hidden"} if hidden else set())
    recording = [(name, point) for name, point in hook_points(model) if point.group in groups]
    with ablate_heads(model, ablate or {}):
        try:
            for name, point in recording:
                point.attach(cache, name)
            yield cache
        finally:
            for _, point in recording:
                point.cache = None


@contextmanager
def ablate_heads(model, ablate: dict):
    """Switch heads off without recording anything: {attention name: [head indices]}.

    Each head's output (before the heads are concatenated) is multiplied by 0, at the
    attention module's `hook_z` point.
    """
    edits = _head_edits(model, ablate)
    try:
        for point, edit in edits:
            point.edit = edit
        yield
    finally:
        for point, _ in edits:
            point.edit = None


def _head_edits(model, ablate: dict):
    modules = dict(model.named_modules())
    known = attention_names(model)
    out = []
    for name, heads in ablate.items():
        if name not in known:
            raise ValueError(f"No attention layer named '{name}': choose one of {', '.join(known)}.")
        m = modules[name]
        bad = [h for h in heads if not 0 <= h < m.n_heads]
        if bad:
            raise ValueError(f"'{name}' has heads 0..{m.n_heads - 1}; there is no head {bad[0]}.")
        head_mask = torch.ones(m.n_heads)
        head_mask[list(heads)] = 0.0

        def switch_off(z, head_mask=head_mask):
            return z * head_mask.to(z)[None, :, None, None]  # z: (B, H, T, d_head)

        out.append((m.hook_z, switch_off))
    return out
