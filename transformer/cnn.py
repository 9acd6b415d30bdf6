"""A small convolutional network: the baseline a Vision Transformer is compared with.

Convolutions build in two assumptions about pictures that a ViT has to learn from data
("inductive bias"): locality (a 3x3 kernel sees only neighbours) and translation equivariance
(the same kernel slides everywhere). With little data those assumptions are a head start;
the comparison on the Vision transformer page measures how much, on the same pictures.

    pixels [B, C, H, W]
      -> n_layers x [Conv 3x3 (padding 1) -> GELU -> MaxPool 2x2 while the map is wider than 1]
      -> global average over the map                                       [B, width]
      -> LayerNorm -> Linear head                                          [B, 1, V]

`cfg.d_model` is the number of channels (width) of every conv layer. `matched_cnn_config`
picks the width that gives the CNN about as many parameters as a given ViT, so the race is
between ideas, not sizes. Same contract as every model: forward(pixels, targets) -> (logits
[B, 1, V], loss).
"""
from __future__ import annotations

from dataclasses import replace

import torch.nn as nn

from .config import ModelConfig
from .hooks import HookPoint
from .metrics import lm_loss
from .vit import IMAGE_CHANNELS, check_pixels

KERNEL = 3


def cnn_parameters(width: int, n_layers: int, vocab_size: int, channels: int = IMAGE_CHANNELS) -> int:
    """Trainable parameters of `SmallCNN` with these sizes (arithmetic; the tests compare)."""
    convs = sum((channels if i == 0 else width) * width * KERNEL**2 + width for i in range(n_layers))
    return convs + 2 * width + width * vocab_size + vocab_size  # + LayerNorm + head


class SmallCNN(nn.Module):
    """forward(pixels [B, C, H, W], targets [B, 1]) -> (logits [B, 1, V], loss)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        width, side, layers = cfg.d_model, cfg.max_len, []
        for i in range(cfg.n_layers):
            layers += [nn.Conv2d(IMAGE_CHANNELS if i == 0 else width, width, KERNEL, padding=KERNEL // 2), nn.GELU()]
            if side > 1:  # halve the map while there is something to halve
                layers.append(nn.MaxPool2d(2, ceil_mode=True))
                side = (side + 1) // 2
        self.features = nn.Sequential(*layers)
        self.hook_features = HookPoint("hidden", "features")  # the last feature map [B, width, h, w]
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, cfg.vocab_size)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, pixels, targets=None):
        check_pixels(pixels, self.cfg.max_len)
        maps = self.hook_features(self.features(pixels))  # (B, width, h, w)
        pooled = maps.mean(dim=(2, 3))  # (B, width): global average pooling
        logits = self.head(self.dropout(self.norm(pooled)))[:, None, :]  # (B, 1, V)
        return logits, lm_loss(logits, targets)


def matched_cnn_config(vit_cfg: ModelConfig, n_layers: int = 3) -> ModelConfig:
    """A CNN config (`arch="cnn"`) whose parameter count is as close as a whole width gets to
    the ViT's (within a few percent for any ViT of a few thousand parameters or more)."""
    from .budget import parameter_estimate

    target = parameter_estimate(vit_cfg)
    width = min(range(1, 1025), key=lambda w: abs(cnn_parameters(w, n_layers, vit_cfg.vocab_size) - target))
    return replace(vit_cfg, arch="cnn", d_model=width, n_layers=n_layers).validate()
