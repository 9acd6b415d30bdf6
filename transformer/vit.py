"""The Vision Transformer (Dosovitskiy et al. 2020, "An Image is Worth 16x16 Words"), small.

A picture becomes a sequence, and from there it is the encoder every other model here uses:

    pixels [B, C, H, W]
      -> patchify: cut into N = (H/P)(W/P) squares of P x P pixels, each flattened   [B, N, C·P·P]
      -> patch embedding: one Linear to d_model (the paper's E)                       [B, N, d]
      -> prepend a learned [CLS] vector (x_class)                                     [B, 1+N, d]
      -> add position embeddings (learned, 2-D sinusoidal, or none)                    [B, 1+N, d]
      -> the project's EncoderBlocks (bidirectional attention, no mask: every
         picture has the same N patches)                                              [B, 1+N, d]
      -> LayerNorm, then a Linear head on the [CLS] position                          [B, 1, V]

The Linear patch embedding is the same map as a Conv2d with kernel P and stride P (the tests
copy the weights across and compare); written as a Linear it says what it is: each patch is a
token, and the token's vector is a learned linear function of its pixels.

`forward(pixels, targets=None) -> (logits [B, 1, V], loss)`: the one contract every model here
keeps; the label is graded at the single output position, so the trainer's loss and accuracy
need nothing new. Capture records attention as "encoder.{i}.self_attn": [B, H, 1+N, 1+N],
row/column 0 being [CLS].
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .blocks import EncoderBlock
from .config import ModelConfig
from .hooks import HookPoint
from .metrics import lm_loss
from .positional import sinusoidal_encoding

IMAGE_CHANNELS = 1  # the image tasks are greyscale; everything below works for any C


def check_pixels(pixels: torch.Tensor, side: int) -> None:
    """ValueError (one sentence) unless pixels is [B, IMAGE_CHANNELS, side, side] (ViT and CNN)."""
    if pixels.dim() != 4 or tuple(pixels.shape[1:]) != (IMAGE_CHANNELS, side, side):
        raise ValueError(f"This model reads {side}x{side} greyscale pictures, shaped [B, {IMAGE_CHANNELS}, "
                         f"{side}, {side}]; got {list(pixels.shape)}: resize the picture or rebuild the model.")


def patchify(pixels: torch.Tensor, patch_size: int) -> torch.Tensor:
    """pixels [B, C, H, W] -> patches [B, N, C·P·P], row-major over the patch grid.

    Each patch is flattened channel first, then its rows, then its columns: the order of a
    Conv2d weight [d, C, P, P], so a conv's kernels reshape into the Linear's rows.
    """
    B, C, H, W = pixels.shape
    P = patch_size
    x = pixels.reshape(B, C, H // P, P, W // P, P)  # (B, C, gh, P, gw, P)
    x = x.permute(0, 2, 4, 1, 3, 5)  # (B, gh, gw, C, P, P)
    return x.reshape(B, (H // P) * (W // P), C * P * P)  # (B, N, C·P·P)


def unpatchify(patches: torch.Tensor, patch_size: int, channels: int, height: int, width: int) -> torch.Tensor:
    """The inverse of `patchify`: patches [B, N, C·P·P] -> pixels [B, C, H, W]."""
    B = patches.size(0)
    P, gh, gw = patch_size, height // patch_size, width // patch_size
    x = patches.reshape(B, gh, gw, channels, P, P)  # (B, gh, gw, C, P, P)
    x = x.permute(0, 3, 1, 4, 2, 5)  # (B, C, gh, P, gw, P)
    return x.reshape(B, channels, height, width)


def sinusoidal_2d(grid: int, d_model: int) -> torch.Tensor:
    """[grid·grid, d_model] fixed positions for a grid x grid of patches, row-major.

    Half the dimensions encode the patch's row with the 1-D sin/cos table, the other half its
    column (as in MAE and later ViTs): two patches in the same row share half their vector.
    """
    half = d_model // 2
    table = sinusoidal_encoding(grid, half)  # (grid, d/2)
    rows = table[:, None, :].expand(grid, grid, half)  # (gh, gw, d/2): the row's code
    cols = table[None, :, :].expand(grid, grid, half)  # (gh, gw, d/2): the column's code
    return torch.cat([rows, cols], dim=-1).reshape(grid * grid, d_model)  # (N, d)


class PatchPositions(nn.Module):
    """Adds a position vector to [CLS] and to each patch: x [B, 1+N, d] -> [B, 1+N, d].

    learned:    `table` (an Embedding of 1+N rows) trained from scratch; nothing tells it that
                patch 5 is below patch 1, yet it learns it (the page shows the similarity grid)
    sinusoidal: fixed 2-D table (`sinusoidal_2d`); [CLS] gets zeros
    none:       nothing: the model then sees a bag of patches (permuting them changes nothing)
    """

    def __init__(self, kind: str, n_patches: int, d_model: int):
        super().__init__()
        self.kind = kind
        self.table = None
        if kind == "learned":
            self.table = nn.Embedding(1 + n_patches, d_model)
            nn.init.normal_(self.table.weight, std=0.02)
        elif kind == "sinusoidal":
            grid = int(round(n_patches**0.5))
            fixed = torch.cat([torch.zeros(1, d_model), sinusoidal_2d(grid, d_model)])  # (1+N, d)
            self.register_buffer("fixed", fixed, persistent=False)

    def vectors(self) -> torch.Tensor | None:
        """The [1+N, d] position vectors added (None for "none")."""
        if self.kind == "learned":
            return self.table.weight
        if self.kind == "sinusoidal":
            return self.fixed
        return None

    def forward(self, x):
        table = self.vectors()
        return x if table is None else x + table[: x.size(1)]


class PatchEmbedding(nn.Module):
    """pixels [B, C, H, W] -> one vector per patch [B, N, d_model]: patchify, then one Linear."""

    def __init__(self, patch_size: int, channels: int, d_model: int):
        super().__init__()
        self.patch_size, self.channels = patch_size, channels
        self.proj = nn.Linear(channels * patch_size * patch_size, d_model)

    def forward(self, pixels):
        return self.proj(patchify(pixels, self.patch_size))

    def as_conv(self) -> nn.Conv2d:
        """The same map as a Conv2d(C, d, kernel P, stride P) whose output is [B, d, H/P, W/P]."""
        P, d = self.patch_size, self.proj.out_features
        conv = nn.Conv2d(self.channels, d, kernel_size=P, stride=P)
        with torch.no_grad():
            conv.weight.copy_(self.proj.weight.reshape(d, self.channels, P, P))  # (d, C, P, P)
            conv.bias.copy_(self.proj.bias)
        return conv

    def filters(self) -> torch.Tensor:
        """Each output dimension's weights over a patch's pixels, as pictures: [d, C, P, P]."""
        P = self.patch_size
        return self.proj.weight.detach().reshape(-1, self.channels, P, P)


class VisionTransformer(nn.Module):
    """ViT classifier. forward(pixels [B, C, H, W], targets [B, 1]) -> (logits [B, 1, V], loss).

    cfg.max_len is the picture's side in pixels, cfg.patch_size the side of a patch; the
    sequence the encoder reads is 1 + cfg.n_patches long.
    """

    EMBED_NAME = "embed"

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.grid = cfg.max_len // cfg.patch_size  # patches along each side
        self.patch_embed = PatchEmbedding(cfg.patch_size, IMAGE_CHANNELS, cfg.d_model)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.d_model))
        nn.init.normal_(self.cls_token, std=0.02)
        self.pos = PatchPositions(cfg.pos_encoding, cfg.n_patches, cfg.d_model)
        self.emb_dropout = nn.Dropout(cfg.dropout)
        self.hook_embed = HookPoint("hidden", self.EMBED_NAME)
        self.encoder = nn.ModuleList(EncoderBlock(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model) if cfg.norm == "pre" else nn.Identity()
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size)

    def check_pixels(self, pixels: torch.Tensor) -> None:
        check_pixels(pixels, self.cfg.max_len)

    def embed(self, pixels):
        """pixels [B, C, H, W] -> [CLS] and patch vectors with positions [B, 1+N, d_model]."""
        self.check_pixels(pixels)
        x = self.patch_embed(pixels)  # (B, N, d)
        cls = self.cls_token.expand(x.size(0), -1, -1)  # (B, 1, d)
        x = self.pos(torch.cat([cls, x], dim=1))  # (B, 1+N, d)
        return self.emb_dropout(self.hook_embed(x))

    def encode(self, pixels):
        """pixels -> the encoder's final, normalised states [B, 1+N, d_model]."""
        x = self.embed(pixels)
        for block in self.encoder:
            x = block(x)  # no mask: every picture has all its patches
        return self.ln_f(x)

    def forward(self, pixels, targets=None):
        logits = self.head(self.encode(pixels)[:, :1])  # (B, 1, V): the head reads [CLS] only
        return logits, lm_loss(logits, targets)


def attention_rollout(maps: list[torch.Tensor], residual: float = 0.5) -> torch.Tensor:
    """Attention rollout (Abnar & Zuidema 2020): how much each input token reaches each output.

    maps: one [B, H, T, T] attention map per layer, first layer first. Each layer's heads are
    averaged, the residual connection is counted as attention to oneself
    (residual·I + (1 - residual)·A, rows renormalised), and the layers are multiplied through:
    rollout = A_L' ··· A_1'. Returns [B, T, T]; row 0 is [CLS]'s reach over [CLS] and the patches.
    """
    rollout = None
    for weights in maps:
        a = weights.float().mean(dim=1)  # (B, T, T): heads averaged
        eye = torch.eye(a.size(-1), dtype=a.dtype)[None]  # (1, T, T)
        a = residual * eye + (1 - residual) * a
        a = a / a.sum(dim=-1, keepdim=True)
        rollout = a if rollout is None else a @ rollout  # later layers act on what earlier ones mixed
    return rollout
