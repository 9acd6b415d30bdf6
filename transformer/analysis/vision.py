"""What a Vision Transformer shows about itself on a few pictures: arrays for the figures.

    views = inspect_vit(model, task, examples)
    views["maps"]["encoder.1.self_attn"]   # [B, H, 1+N, 1+N] attention, [CLS] first
    views["rollout"]                        # [B, 1+N, 1+N] attention rollout (Abnar & Zuidema 2020)
    views["pos"]                            # [1+N, d] position vectors, or None ("none")
    views["filters"]                        # [d, 1, P, P] patch-embedding weights as pictures

Everything is numpy (read-only copies), so a page can keep a list of these over training time.
"""
from __future__ import annotations

import numpy as np
import torch

from ..capture import capture
from ..decoding import evaluating
from ..vit import VisionTransformer, attention_rollout


def _frozen(t: torch.Tensor) -> np.ndarray:
    a = t.detach().float().cpu().numpy().copy()
    a.flags.writeable = False
    return a


def inspect_vit(model: VisionTransformer, task, examples) -> dict:
    """Attention maps, rollout, predictions, position vectors and filters on `examples`."""
    from ..tasks import make_batch

    if not isinstance(model, VisionTransformer):
        raise ValueError("Only a Vision Transformer (arch 'vit') has patches and attention to show.")
    with evaluating(model):
        batch = make_batch(task, examples, "image")
        with capture(model) as cache:
            logits = batch.forward(model)  # (B, 1, V)
        names = cache.attention_names()
        predicted = [task.vocab.tokens[i] for i in logits[:, 0].argmax(-1).tolist()]
        pos = model.pos.vectors()
        return {
            "maps": {name: _frozen(cache[name]) for name in names},
            "rollout": _frozen(attention_rollout([cache[name] for name in names])),
            "predicted": predicted,
            "expected": [ex.tgt[0] for ex in examples],
            "pos": None if pos is None else _frozen(pos),
            "filters": _frozen(model.patch_embed.filters()),
            "grid": model.grid,
            "patch": model.cfg.patch_size,
        }
