"""Hook points: named places in a model where an activation can be recorded or edited.

In the spirit of TransformerLens's `HookPoint`: each model puts an identity module at every
place worth looking at (attention weights, queries, keys, values, the residual stream after
each block), and `transformer.capture` attaches a cache to them for the length of a `with`
block. Outside it a hook point is one `if` and returns its input unchanged, so training pays
nothing; attention also uses "is my weights hook recording?" to choose PyTorch's fused kernel.

A hook point records under a stable name built from where it sits: its parent module's
qualified name joined with its `suffix`. The weights of `decoder.1.self_attn` are recorded as
"decoder.1.self_attn", its queries as "decoder.1.self_attn.q", the residual stream after the
first decoder block as "decoder.0", the embedding as "embed".
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
import torch.nn as nn

# Which hook points a capture turns on: "always" (attention weights, a recurrent model's
# state), "qkv" (queries, keys, values, scores and the mask, on request), "hidden" (the
# residual stream, on request). "edit" points are never recorded, only edited (ablation).
GROUPS = ("always", "qkv", "hidden", "edit")


class HookPoint(nn.Module):
    """An identity at a place worth recording. forward(x) -> x (or `edit(x)` while one is set).

    suffix: the name relative to the parent module ("" = the parent's own name).
    group: one of GROUPS, which decides whether a given capture records it.
    """

    def __init__(self, group: str, suffix: str = ""):
        super().__init__()
        if group not in GROUPS:
            raise ValueError(f"A hook point's group is one of {', '.join(GROUPS)}; got '{group}'.")
        self.group, self.suffix = group, suffix
        self.name = ""  # set by `attach`: where the recording goes in the cache
        self.cache: Optional[dict] = None
        self.edit: Optional[Callable[[torch.Tensor], torch.Tensor]] = None

    @property
    def recording(self) -> bool:
        return self.cache is not None

    def attach(self, cache: dict, name: str) -> None:
        self.cache, self.name = cache, name

    def detach_all(self) -> None:
        """Stop recording and editing: the state every model is in outside a `with` block."""
        self.cache, self.edit = None, None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.edit is not None:
            x = self.edit(x)
        if self.cache is not None:
            self.cache[self.name] = x.detach().float().cpu() if x.is_floating_point() else x.detach().cpu()
        return x

    def extra_repr(self) -> str:
        return f"group={self.group!r}, suffix={self.suffix!r}"


def hook_points(model: nn.Module) -> list[tuple[str, HookPoint]]:
    """(recording name, hook point) for every hook point of `model`, in definition order."""
    out = []
    for path, module in model.named_modules():
        if isinstance(module, HookPoint):
            parent = path.rpartition(".")[0]
            out.append((".".join(p for p in (parent, module.suffix) if p), module))
    return out


class ActivationCache(dict):
    """What a capture recorded: {stable name: tensor}, with accessors for the usual questions.

    It is a plain dict underneath, so `cache["decoder.1.self_attn"]` works as it always has;
    the accessors save callers from building those strings.
    """

    def _stack(self, stack: Optional[str]) -> str:
        if stack is not None:
            return stack
        return "decoder" if any(k.startswith("decoder.") for k in self) else "encoder"

    def attention(self, layer: int, stack: Optional[str] = None, kind: str = "self_attn") -> torch.Tensor:
        """Attention weights of one layer: [B, H, T, S]. kind: "self_attn" or "cross_attn"."""
        return self[f"{self._stack(stack)}.{layer}.{kind}"]

    def hidden(self, layer: int, stack: Optional[str] = None) -> torch.Tensor:
        """The residual stream after block `layer` (needs `capture(..., hidden=True)`): [B, T, d]."""
        return self[f"{self._stack(stack)}.{layer}"]

    def attention_names(self) -> list[str]:
        """The names of the attention maps recorded, in forward order."""
        return [k for k in self if k.endswith("_attn")]
