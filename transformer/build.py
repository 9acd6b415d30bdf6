"""`build_model(cfg)`: one entry point from a ModelConfig to any model family."""
from __future__ import annotations

import torch.nn as nn

from .config import ModelConfig


def build_model(cfg: ModelConfig) -> nn.Module:
    """Validate `cfg` (ValueError naming the fix) and build its model."""
    cfg.validate()
    if cfg.arch == "decoder":
        from .models import DecoderOnly

        return DecoderOnly(cfg)
    if cfg.arch == "encoder":
        from .models import EncoderOnly

        return EncoderOnly(cfg)
    if cfg.arch == "encoder-decoder":
        from .models import EncoderDecoder

        return EncoderDecoder(cfg)
    if cfg.arch == "vit":
        from .vit import VisionTransformer

        return VisionTransformer(cfg)
    if cfg.arch == "cnn":
        from .cnn import SmallCNN

        return SmallCNN(cfg)
    from .recurrent import RecurrentLM, Seq2SeqLSTM

    if cfg.arch in ("rnn", "gru", "lstm"):
        return RecurrentLM(cfg)
    return Seq2SeqLSTM(cfg, attention=cfg.arch == "lstm-seq2seq-attn")


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def parameter_count(cfg: ModelConfig) -> int:
    """Trainable parameters of the model `cfg` describes (ValueError for an invalid cfg).

    Counted with arithmetic (`transformer.budget.parameter_estimate`, exact for every
    architecture; the tests compare it with built models), so a page can show the count of any
    model it is offered without building it: building a 252M-parameter model to count it took
    seconds and a gigabyte.
    """
    from .budget import parameter_estimate

    return parameter_estimate(cfg.validate())
