"""One configuration for every model family, validated before anything is built.

`ModelConfig` is a plain dataclass so it round-trips through a checkpoint as a dict
(`to_dict` / `from_dict`) and through a URL as strings. `validate()` turns an impossible
configuration into a `ValueError` whose sentence names the fix, so the CLI and the app can show
it as it is.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from numbers import Integral, Real

TRANSFORMER_ARCHS = ("decoder", "encoder-decoder", "encoder")
RECURRENT_ARCHS = ("rnn", "gru", "lstm")
SEQ2SEQ_RNN_ARCHS = ("lstm-seq2seq", "lstm-seq2seq-attn")
ARCHS = TRANSFORMER_ARCHS + RECURRENT_ARCHS + SEQ2SEQ_RNN_ARCHS  # the models that read token ids
IMAGE_ARCHS = ("vit", "cnn")  # the models that read pictures [B, 1, H, W] (transformer.vit, .cnn)
ALL_ARCHS = ARCHS + IMAGE_ARCHS
POS_ENCODINGS = ("sinusoidal", "learned", "rope", "none")
# Where the output layer predicts the vocabulary it reads, so its weight can be the embedding's
# (Press & Wolf 2017; Vaswani et al. 2017, section 3.4).
TIED_ARCHS = ("decoder", "encoder-decoder", "rnn", "gru", "lstm", "lstm-seq2seq", "lstm-seq2seq-attn")
NORMS = ("pre", "post")
ACTIVATIONS = ("gelu", "relu")

# How each architecture is fed (see transformer.tasks.batching):
#   "lm"      one sequence  [BOS] src [SEP] tgt [EOS], next-token prediction
#   "seq2seq" src to an encoder, [BOS] tgt to a decoder
#   "tag"     an encoder predicts a token at every position (label at [CLS] for classification)
#   "image"   greyscale pictures [B, 1, H, W] in, one label out; max_len is the picture's side
LAYOUTS = {
    "decoder": "lm", "rnn": "lm", "gru": "lm", "lstm": "lm",
    "encoder-decoder": "seq2seq", "lstm-seq2seq": "seq2seq", "lstm-seq2seq-attn": "seq2seq",
    "encoder": "tag",
    "vit": "image", "cnn": "image",
}

ARCH_LABELS = {
    "decoder": "Transformer decoder (GPT-style)",
    "encoder-decoder": "Transformer encoder-decoder (the 2017 paper)",
    "encoder": "Transformer encoder (BERT-style classifier)",
    "rnn": "RNN (Elman)",
    "gru": "GRU",
    "lstm": "LSTM",
    "lstm-seq2seq": "LSTM encoder-decoder",
    "lstm-seq2seq-attn": "LSTM encoder-decoder + additive attention",
    "vit": "Vision Transformer (ViT: patches as tokens)",
    "cnn": "Small CNN (convolutions, for comparison)",
}
IMAGE_POS_ENCODINGS = ("learned", "sinusoidal", "none")  # a ViT's sinusoidal table is 2-D


@dataclass
class ModelConfig:
    """Every size and switch of a model. Recurrent models use d_model as the hidden size."""

    vocab_size: int = 16
    max_len: int = 64
    arch: str = "decoder"
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    d_ff: int = 256
    dropout: float = 0.0
    pos_encoding: str = "sinusoidal"
    norm: str = "pre"
    activation: str = "gelu"
    tie_weights: bool = False  # the token embedding and the output layer are one tensor (TIED_ARCHS)
    rope_base: float = 10000.0
    pad_id: int = 0
    patch_size: int = 4  # ViT only: each token is a patch_size x patch_size square of pixels

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    @property
    def layout(self) -> str:
        return LAYOUTS[self.arch]

    @property
    def is_recurrent(self) -> bool:
        return self.arch in RECURRENT_ARCHS + SEQ2SEQ_RNN_ARCHS

    @property
    def is_image(self) -> bool:
        return self.arch in IMAGE_ARCHS

    @property
    def n_patches(self) -> int:
        """ViT: patches per picture, (max_len / patch_size)^2; the sequence is 1 + n_patches long."""
        return (self.max_len // self.patch_size) ** 2

    def validate(self) -> "ModelConfig":
        """Raise ValueError with one sentence that names the fix; return self when valid."""
        if self.arch not in ALL_ARCHS:
            raise ValueError(f"Unknown architecture '{self.arch}': choose one of {', '.join(ALL_ARCHS)}.")
        for name in ("vocab_size", "max_len", "d_model", "n_layers"):
            _whole(name, getattr(self, name))
        attends = not (self.is_recurrent or self.arch == "cnn")  # a CNN has no heads or positions
        if attends:
            for name in ("n_heads", "d_ff"):
                _whole(name, getattr(self, name))
        if self.arch == "vit":
            _check_patches(self)
        # Next, with every size a positive whole number: what it would cost to build and train.
        # Before the checks below, which take time that grows with the sizes.
        from .budget import check_budget

        check_budget(self)
        if attends:
            if self.d_model % self.n_heads:
                lower = max(h for h in range(1, min(self.n_heads, self.d_model) + 1) if self.d_model % h == 0)
                raise ValueError(
                    f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads}): "
                    f"use {lower} heads or a d_model that is a multiple of {self.n_heads}."
                )
            if self.arch == "vit" and self.pos_encoding not in IMAGE_POS_ENCODINGS:
                raise ValueError(
                    f"A Vision Transformer's positions are {', '.join(IMAGE_POS_ENCODINGS)} "
                    f"(got '{self.pos_encoding}'): choose one of those."
                )
            if self.arch == "vit" and self.pos_encoding == "sinusoidal" and self.d_model % 4:
                raise ValueError(
                    f"2-D sinusoidal positions give a quarter of d_model to each of sin/cos of row and "
                    f"column, so d_model ({self.d_model}) must be a multiple of 4."
                )
            if self.pos_encoding not in POS_ENCODINGS:
                raise ValueError(
                    f"Unknown positional encoding '{self.pos_encoding}': choose one of {', '.join(POS_ENCODINGS)}."
                )
            if self.pos_encoding == "rope" and not (_real(self.rope_base) and self.rope_base > 1):
                raise ValueError(
                    f"rope_base must be a number above 1, such as 10000 (got {self.rope_base!r}): "
                    "it sets how slowly the rotary angles turn."
                )
            if self.pos_encoding == "rope" and self.d_head % 2:
                raise ValueError(
                    f"Rotary encoding rotates pairs of dimensions, so d_model / n_heads ({self.d_head}) "
                    "must be even: change d_model or n_heads."
                )
            if self.norm not in NORMS:
                raise ValueError(f"norm must be 'pre' or 'post' (got {self.norm!r}).")
            if self.activation not in ACTIVATIONS:
                raise ValueError(f"activation must be 'gelu' or 'relu' (got {self.activation!r}).")
        if not (_real(self.dropout) and 0.0 <= self.dropout < 1.0):
            raise ValueError(f"dropout must be at least 0 and below 1 (got {self.dropout!r}).")
        if not (_integer(self.pad_id) and 0 <= self.pad_id < self.vocab_size):
            raise ValueError(f"pad_id ({self.pad_id!r}) must be a token id below vocab_size ({self.vocab_size}).")
        if not isinstance(self.tie_weights, bool):
            raise ValueError(f"tie_weights must be true or false (got {self.tie_weights!r}).")
        if self.tie_weights and self.arch not in TIED_ARCHS:
            raise ValueError(
                f"Weight tying makes the output layer the token embedding table, for models that write "
                f"tokens ({', '.join(TIED_ARCHS)}): turn tie_weights off for '{self.arch}'."
            )
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        """Build from a dict, ignoring keys this version does not know (older/newer checkpoints).

        Not validated: call `validate()` (ValueError naming the fix) before building from it.
        """
        if not isinstance(data, dict):
            raise ValueError(f"A model configuration is a dict of settings such as d_model (got a {type(data).__name__}).")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _integer(value) -> bool:
    """A whole number, but not a bool (True is an int in Python, never a size)."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def _real(value) -> bool:
    """A finite real number, not a bool."""
    if isinstance(value, bool) or not isinstance(value, Real):
        return False
    return isinstance(value, Integral) or math.isfinite(value)  # a huge int has no float, and is finite


def _check_patches(cfg) -> None:
    """The picture (max_len pixels a side) must cut into whole patch_size x patch_size patches."""
    _whole("patch_size", cfg.patch_size)
    if cfg.max_len % cfg.patch_size:
        sizes = ", ".join(str(p) for p in range(1, cfg.max_len + 1) if cfg.max_len % p == 0)
        raise ValueError(
            f"A {cfg.max_len}x{cfg.max_len} picture cannot be cut into {cfg.patch_size}x{cfg.patch_size} "
            f"patches: choose a patch size that divides {cfg.max_len} ({sizes})."
        )


def _whole(name: str, value) -> None:
    if not (_integer(value) and value >= 1):
        raise ValueError(f"{name} must be a whole number of at least 1 (got {value!r}).")
