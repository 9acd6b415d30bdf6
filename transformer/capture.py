"""Named activations, returned by a context manager (TransformerLens-style hook points).

    with capture(model, qkv=True) as cache:
        model(idx)
    cache["decoder.1.self_attn"]          # [B, H, T, S] attention weights

Names are the modules' qualified names, so they are stable and say where a map came from
(plotting a map read by hand off the wrong module is a classic bug). Every module that can
record declares `supports_capture = True` and writes into `self._cache` while it is a dict;
outside the context `_cache` is None and attention takes the fused fast path.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch


def attention_names(model) -> list[str]:
    """Qualified names of every attention module, in forward order."""
    from .attention import MultiHeadAttention

    return [name for name, m in model.named_modules() if isinstance(m, MultiHeadAttention)]


@contextmanager
def capture(model, qkv: bool = False, hidden: bool = False, ablate: dict | None = None):
    """Record activations of `model` during the forward passes run inside the block.

    qkv: also store `<attn>.q/.k/.v/.scores/.mask`; hidden: also `embed` and block outputs.
    ablate: {attention name: [head indices]} to switch those heads' outputs off.
    Yields the dict that fills up; it stays readable after the block ends.
    """
    cache: dict[str, torch.Tensor] = {}
    opts = {"qkv": qkv, "hidden": hidden}
    modules = [(name, m) for name, m in model.named_modules() if getattr(m, "supports_capture", False)]
    masked = _head_masks(model, ablate or {})
    try:
        for name, m in modules:
            m._cache, m._cache_name, m._cache_opts = cache, name, opts
        for m, head_mask in masked:
            m._head_mask = head_mask
        yield cache
    finally:
        for _, m in modules:
            m._cache, m._cache_opts = None, {}
        for m, _ in masked:
            m._head_mask = None


@contextmanager
def ablate_heads(model, ablate: dict):
    """Switch heads off without recording anything: {attention name: [head indices]}."""
    masked = _head_masks(model, ablate)
    try:
        for m, head_mask in masked:
            m._head_mask = head_mask
        yield
    finally:
        for m, _ in masked:
            m._head_mask = None


def _head_masks(model, ablate: dict):
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
        out.append((m, head_mask))
    return out
