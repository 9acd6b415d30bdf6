"""One configuration for every model family, validated before anything is built.

`ModelConfig` is a plain dataclass so it round-trips through a checkpoint as a dict
(`to_dict` / `from_dict`) and through a URL as strings. `validate()` turns an impossible
configuration into a `ValueError` whose sentence names the fix, so the CLI and the app can show
it as it is.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

TRANSFORMER_ARCHS = ("decoder", "encoder-decoder", "encoder")
RECURRENT_ARCHS = ("rnn", "gru", "lstm")
SEQ2SEQ_RNN_ARCHS = ("lstm-seq2seq", "lstm-seq2seq-attn")
ARCHS = TRANSFORMER_ARCHS + RECURRENT_ARCHS + SEQ2SEQ_RNN_ARCHS
POS_ENCODINGS = ("sinusoidal", "learned", "rope", "none")
NORMS = ("pre", "post")
ACTIVATIONS = ("gelu", "relu")

# How each architecture is fed (see transformer.tasks.batching):
#   "lm"      one sequence  [BOS] src [SEP] tgt [EOS], next-token prediction
#   "seq2seq" src to an encoder, [BOS] tgt to a decoder
#   "tag"     an encoder predicts a token at every position (label at [CLS] for classification)
LAYOUTS = {
    "decoder": "lm", "rnn": "lm", "gru": "lm", "lstm": "lm",
    "encoder-decoder": "seq2seq", "lstm-seq2seq": "seq2seq", "lstm-seq2seq-attn": "seq2seq",
    "encoder": "tag",
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
}


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
    rope_base: float = 10000.0
    pad_id: int = 0

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    @property
    def layout(self) -> str:
        return LAYOUTS[self.arch]

    @property
    def is_recurrent(self) -> bool:
        return self.arch in RECURRENT_ARCHS + SEQ2SEQ_RNN_ARCHS

    def validate(self) -> "ModelConfig":
        """Raise ValueError with one sentence that names the fix; return self when valid."""
        if self.arch not in ARCHS:
            raise ValueError(f"Unknown architecture '{self.arch}': choose one of {', '.join(ARCHS)}.")
        for name in ("vocab_size", "max_len", "d_model", "n_layers"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number of at least 1 (got {value!r}).")
        if not self.is_recurrent:
            for name in ("n_heads", "d_ff"):
                value = getattr(self, name)
                if not isinstance(value, int) or value < 1:
                    raise ValueError(f"{name} must be a whole number of at least 1 (got {value!r}).")
            if self.d_model % self.n_heads:
                lower = max(h for h in range(1, self.n_heads + 1) if self.d_model % h == 0)
                raise ValueError(
                    f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads}): "
                    f"use {lower} heads or a d_model that is a multiple of {self.n_heads}."
                )
            if self.pos_encoding not in POS_ENCODINGS:
                raise ValueError(
                    f"Unknown positional encoding '{self.pos_encoding}': choose one of {', '.join(POS_ENCODINGS)}."
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
        if not (0.0 <= float(self.dropout) < 1.0):
            raise ValueError(f"dropout must be at least 0 and below 1 (got {self.dropout}).")
        if not (0 <= self.pad_id < self.vocab_size):
            raise ValueError(f"pad_id ({self.pad_id}) must be a token id below vocab_size ({self.vocab_size}).")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        """Build from a dict, ignoring keys this version does not know (older/newer checkpoints)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
