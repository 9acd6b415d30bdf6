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
    from .recurrent import RecurrentLM, Seq2SeqLSTM

    if cfg.arch in ("rnn", "gru", "lstm"):
        return RecurrentLM(cfg)
    return Seq2SeqLSTM(cfg, attention=cfg.arch == "lstm-seq2seq-attn")


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# Below this rough size a model is built on the CPU to be counted (about 10 ms per million
# parameters here); above it, on the meta device.
CPU_COUNT_LIMIT = 4_000_000


def parameter_count(cfg: ModelConfig) -> int:
    """Trainable parameters of the model `cfg` describes (ValueError for an invalid cfg).

    The meta device allocates nothing, but its first use imports torch._dynamo (about 2 s on
    2 cores): a page that only shows a count would take that long on its first visit. So a
    small model, the usual case, is built on the CPU and dropped; a large one, whose CPU build
    would cost more than that import, on the meta device.
    """
    layers = cfg.n_layers * (2 if cfg.arch == "encoder-decoder" else 1)
    rough = layers * (4 * cfg.d_model**2 + 2 * cfg.d_model * cfg.d_ff) + (cfg.vocab_size + cfg.max_len) * cfg.d_model
    if rough <= CPU_COUNT_LIMIT:
        return count_parameters(build_model(cfg))
    import torch

    with torch.device("meta"):
        return count_parameters(build_model(cfg))
