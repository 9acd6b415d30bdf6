"""Three transformers built from the same blocks.

* `DecoderOnly` (GPT-style): a stack of causal blocks; predicts the next token.
* `EncoderDecoder` (Vaswani et al. 2017): an encoder reads the source with bidirectional
  attention; a decoder writes the target, attending to its own past and, through
  cross-attention, to the encoder's output ("memory").
* `EncoderOnly` (BERT-style): bidirectional blocks and a classification head at every
  position; a classification task reads the label at the leading [CLS] position.

All share the minGPT contract `forward(...) -> (logits, loss)`, with loss the mean
cross-entropy over targets that are not -100 (answer tokens only).
"""
from __future__ import annotations

import torch.nn as nn

from .attention import padding_mask
from .blocks import DecoderBlock, EncoderBlock
from .hooks import HookPoint
from .metrics import lm_loss
from .positional import build_positional
from .recurrent import embed_tokens, tie_to_embedding

class _Transformer(nn.Module):
    """Token embedding + positional encoding, shared by the three models.

    Embeddings keep PyTorch's N(0, 1) initialisation: the same scale as the sinusoidal table's
    ±1 entries, so neither the token nor its position drowns the other at the start.
    """

    EMBED_NAME = "embed"  # what a capture records the embedding as

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos = build_positional(cfg)
        self.emb_dropout = nn.Dropout(cfg.dropout)
        self.pre_norm = cfg.norm == "pre"
        self.hook_embed = HookPoint("hidden", self.EMBED_NAME)

    def embed(self, idx, hook: HookPoint | None = None):
        """idx [B, T] -> token + position vectors [B, T, d_model], seen by `hook` (default hook_embed)."""
        if idx.size(1) > self.cfg.max_len:
            raise ValueError(
                f"The input has {idx.size(1)} tokens but this model was built for at most "
                f"{self.cfg.max_len}: shorten the input."
            )
        x = self.pos(embed_tokens(self.tok_emb, idx, self.cfg.tie_weights))  # (B, T, d_model)
        return self.emb_dropout((hook or self.hook_embed)(x))

    def _tie(self, head: nn.Linear) -> None:
        """Make the output layer's weight the token embedding table: one [V, d_model] tensor.

        Weight tying (Press & Wolf 2017; Vaswani et al. 2017, section 3.4): the same vector
        reads a token in and scores it out, and the model has V·d_model fewer parameters. The
        table starts at std d_model^-0.5, the scale an output layer needs for logits of order 1,
        and `embed` multiplies by sqrt(d_model), as the paper does, so the input side still sees
        vectors of the sinusoidal table's scale (`recurrent.tie_to_embedding`, shared with the
        recurrent models).
        """
        tie_to_embedding(self.tok_emb, head)

    def _final_norm(self):
        # Pre-norm leaves the residual stream un-normalised, so a last LayerNorm is needed.
        return nn.LayerNorm(self.cfg.d_model) if self.pre_norm else nn.Identity()


class DecoderOnly(_Transformer):
    """GPT-style language model. forward(idx [B, T], targets [B, T]) -> (logits [B, T, V], loss)."""

    def __init__(self, cfg):
        super().__init__(cfg)
        self.decoder = nn.ModuleList(DecoderBlock(cfg) for _ in range(cfg.n_layers))
        self.ln_f = self._final_norm()
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size)
        if cfg.tie_weights:
            self._tie(self.lm_head)

    def forward(self, idx, targets=None):
        x = self.embed(idx)
        for block in self.decoder:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        return logits, lm_loss(logits, targets)


class EncoderOnly(_Transformer):
    """BERT-style encoder with a classification head at every position.

    forward(idx [B, S], targets [B, S]) -> (logits [B, S, V], loss). Padding keys are masked.
    """

    def __init__(self, cfg):
        super().__init__(cfg)
        self.encoder = nn.ModuleList(EncoderBlock(cfg) for _ in range(cfg.n_layers))
        self.ln_f = self._final_norm()
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size)

    def forward(self, idx, targets=None):
        mask = padding_mask(idx, self.cfg.pad_id)  # (B, 1, 1, S)
        x = self.embed(idx)
        for block in self.encoder:
            x = block(x, mask)
        logits = self.head(self.ln_f(x))
        return logits, lm_loss(logits, targets)


class EncoderDecoder(_Transformer):
    """The 2017 paper's model; source and target share one vocabulary and embedding table.

    encode(src [B, S]) -> memory [B, S, d]; decode(tgt_in [B, T], memory, src) -> logits [B, T, V];
    forward(src, tgt_in, targets) -> (logits, loss).
    """

    # Source and target embeddings are recorded apart: they hold different sequences.
    EMBED_NAME = "encoder.embed"

    def __init__(self, cfg):
        super().__init__(cfg)
        self.encoder = nn.ModuleList(EncoderBlock(cfg) for _ in range(cfg.n_layers))
        self.ln_enc = self._final_norm()
        self.decoder = nn.ModuleList(DecoderBlock(cfg, cross=True) for _ in range(cfg.n_layers))
        self.ln_f = self._final_norm()
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size)
        if cfg.tie_weights:
            self._tie(self.lm_head)
        self.hook_tgt_embed = HookPoint("hidden", "decoder.embed")

    def encode(self, src):
        mask = padding_mask(src, self.cfg.pad_id)  # (B, 1, 1, S)
        x = self.embed(src)
        for block in self.encoder:
            x = block(x, mask)
        return self.ln_enc(x)

    def decode(self, tgt_in, memory, src):
        src_mask = padding_mask(src, self.cfg.pad_id)  # (B, 1, 1, S)
        x = self.embed(tgt_in, self.hook_tgt_embed)
        for block in self.decoder:
            x = block(x, memory, src_mask)
        return self.lm_head(self.ln_f(x))

    def forward(self, src, tgt_in, targets=None):
        logits = self.decode(tgt_in, self.encode(src), src)
        return logits, lm_loss(logits, targets)
