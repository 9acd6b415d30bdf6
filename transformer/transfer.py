"""Transfer learning: start a model from another run's weights, and freeze its body.

    report = copy_compatible(model, load_weights("pretrained.pt"))   # what fits is copied
    print(report.sentence())    # "Copied 24 of 26 weight tensors ...; the head starts fresh."
    freeze_body(model)          # only the output head trains from now on

Pre-training on plentiful data and fine-tuning on little is how nearly every large model is
used; here a model pre-trained on one task (say, next-character prediction on sentences) gives
a classifier its body, and a fresh head learns the new labels. Weights are matched by name and
shape, as `load_state_dict(strict=False)` would, but every tensor that is not copied is named,
and a checkpoint of a different architecture, where almost nothing fits, is refused.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn

# The output head of each model family: the module that turns the last hidden state into a
# score per token or label. Every model in the package calls it `lm_head`, except the
# BERT-style encoder, whose head classifies at every position (`head`). The ViT (if present)
# follows the encoder.
HEAD_NAMES = ("lm_head", "head")
# Refuse a transfer that copies less than this share of the model's numbers: the rest would
# start from random weights, and a person asking for a pre-trained model would not get one.
MIN_COPIED_FRACTION = 0.5


@dataclass
class TransferReport:
    """What `copy_compatible` did, tensor by tensor (state_dict names).

    copied:     names whose shape matched, now holding the checkpoint's values
    new:        names the checkpoint lacks (they keep their fresh initialisation)
    mismatched: name -> (checkpoint shape, model shape), kept fresh
    unused:     checkpoint names the model does not have
    fraction:   share of the model's numbers that were copied (0 to 1)
    """

    copied: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    mismatched: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=dict)
    unused: list[str] = field(default_factory=list)
    fraction: float = 0.0

    def sentence(self) -> str:
        """One sentence for a person: what was copied and what starts fresh."""
        total = len(self.copied) + len(self.new) + len(self.mismatched)
        text = f"Copied {len(self.copied)} of {total} weight tensors ({self.fraction:.0%} of the numbers)"
        fresh = self.new + [f"{name} (shape {list(want)} here, {list(got)} in the checkpoint)"
                            for name, (got, want) in self.mismatched.items()]
        if fresh:
            text += "; these start fresh: " + ", ".join(fresh)
        return text + "."


def load_weights(path: str) -> dict[str, torch.Tensor]:
    """The state_dict of a Transformer Lab checkpoint, read safely (`weights_only`) and checked
    by the project's loader; CheckpointError (a ValueError, one sentence) when it cannot be."""
    from .checkpoint import load_checkpoint

    model, _, _ = load_checkpoint(path)
    return model.state_dict()


def copy_compatible(model: nn.Module, state_dict: dict, min_fraction: float = MIN_COPIED_FRACTION) -> TransferReport:
    """Copy every tensor of `state_dict` whose name and shape match one of `model`'s.

    The rest is left as initialised and named in the report: typically the output head, when
    the new task has other labels (its [d_model, V] shape differs), or the token embedding when
    the vocabularies differ. Raises ValueError (one sentence) and changes nothing when less
    than `min_fraction` of the model's numbers would be copied: a different architecture or
    size, where "pre-trained" would mean almost nothing.
    """
    own = model.state_dict()
    report = TransferReport()
    for name, value in own.items():
        theirs = state_dict.get(name)
        if theirs is None:
            report.new.append(name)
        elif tuple(theirs.shape) != tuple(value.shape):
            report.mismatched[name] = (tuple(theirs.shape), tuple(value.shape))
        else:
            report.copied.append(name)
    report.unused = [name for name in state_dict if name not in own]
    numbers = sum(v.numel() for v in own.values())
    report.fraction = sum(own[n].numel() for n in report.copied) / max(1, numbers)
    if report.fraction < min_fraction:
        raise ValueError(
            f"Only {report.fraction:.0%} of this model's weights fit the checkpoint ({len(report.copied)} of "
            f"{len(own)} tensors match by name and shape), so it was made for another architecture or size: "
            "pre-train a model of the same architecture and sizes, or train from scratch."
        )
    with torch.no_grad():
        for name in report.copied:
            own[name].copy_(state_dict[name])  # state_dict() tensors share storage with the model
    return report


def head_modules(model: nn.Module) -> list[str]:
    """The names of the output head's modules (`HEAD_NAMES` found in the model)."""
    return [name for name, _ in model.named_children() if name in HEAD_NAMES]


def freeze_body(model: nn.Module) -> list[str]:
    """Stop every parameter but the output head's from training (requires_grad=False) and return
    the names of those still trained (a tied embedding table among them: it is the head too). Build the optimizer afterwards: the Trainer's AdamW groups
    take only parameters that require a gradient, so weight decay cannot move frozen ones either.
    ValueError when the model has no recognised head."""
    heads = head_modules(model)
    if not heads:
        raise ValueError(
            f"This model ({type(model).__name__}) has no output head named {' or '.join(HEAD_NAMES)}, "
            "so its body cannot be frozen: train it without freezing."
        )
    # By identity, not by name: with tied weights (ModelConfig.tie_weights) the head's weight IS
    # the embedding table, which named_parameters lists once, as tok_emb.weight; it keeps training.
    keep = {id(p) for h in heads for p in model.get_submodule(h).parameters()}
    trained = []
    for name, param in model.named_parameters():
        param.requires_grad_(id(param) in keep)
        if id(param) in keep:
            trained.append(name)
    return trained
