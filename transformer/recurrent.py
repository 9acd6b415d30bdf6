"""Recurrent baselines: RNN, GRU and LSTM language models, and an LSTM encoder-decoder with and
without additive attention (Bahdanau, Cho & Bengio 2015) — the step that led to the transformer.

They keep the transformer's contract so the trainer, the decoder and the pages need no special
case: a language model is `forward(idx, targets=None) -> (logits, loss)`, the encoder-decoder has
`encode(src) -> memory`, `decode(tgt_in, memory, src) -> logits` and
`forward(src, tgt_in, targets=None) -> (logits, loss)`. `cfg.d_model` is both the embedding size
and the hidden size; `cfg.n_layers` recurrent layers are stacked.

Two paths share one set of weights:
* the fast path runs torch's fused `nn.RNN` / `nn.GRU` / `nn.LSTM` kernels, so a race against
  the transformer compares well-kept implementations of both;
* the explicit path (used while capturing) writes the cell equations out and loops over time,
  so every hidden state — and the LSTM's cell state — can be recorded. A test checks that both
  paths give the same logits.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import RECURRENT_ARCHS, SEQ2SEQ_RNN_ARCHS, ModelConfig
from .hooks import HookPoint
from .metrics import lm_loss


_RNN_CLASSES = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


# --------------------------------------------------------------------------------------------
# The cell equations. Each takes the input projection W_ih·x + b_ih (computed for all time
# steps at once, since it does not depend on the recurrence) and the previous state.
# Weight layout follows torch: weight_hh rows are the gates stacked in torch's order.
# --------------------------------------------------------------------------------------------

def rnn_cell(x_proj: torch.Tensor, h: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor) -> torch.Tensor:
    """Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh). x_proj, h: [B, H]."""
    return torch.tanh(x_proj + h @ w_hh.T + b_hh)


def gru_cell(x_proj: torch.Tensor, h: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor) -> torch.Tensor:
    """GRU (Cho et al. 2014), torch's gate order r, z, n. x_proj: [B, 3H], h: [B, H].

    r (reset) decides how much of the past enters the candidate n; z (update) decides how much
    of the old state to keep: h_t = (1 - z) * n + z * h_{t-1}.
    """
    x_r, x_z, x_n = x_proj.chunk(3, dim=-1)              # each (B, H)
    h_r, h_z, h_n = (h @ w_hh.T + b_hh).chunk(3, dim=-1)  # each (B, H)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)  # the reset gate scales the recurrent part only, as torch does
    return (1 - z) * n + z * h


def lstm_cell(
    x_proj: torch.Tensor, h: torch.Tensor, c: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """LSTM (Hochreiter & Schmidhuber 1997, with forget gate), torch's gate order i, f, g, o.

    x_proj: [B, 4H]; h, c: [B, H]. The cell c is the memory: f decides what to forget, i how
    much of the candidate g to write, o what to reveal as the hidden state h.
    Returns (h_t, c_t).
    """
    gates = x_proj + h @ w_hh.T + b_hh                    # (B, 4H)
    i, f, g, o = gates.chunk(4, dim=-1)                   # each (B, H)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c = f * c + i * g
    h = o * torch.tanh(c)
    return h, c


def unroll_layer(
    kind: str,
    rnn: nn.RNNBase,
    layer: int,
    x: torch.Tensor,
    state: Optional[tuple[torch.Tensor, ...]] = None,
) -> tuple[torch.Tensor, Optional[torch.Tensor], tuple[torch.Tensor, ...]]:
    """Run one layer of `rnn` step by step with its own weights.

    x: [B, T, in]. state: (h,) or (h, c) for the LSTM, each [B, H]; zeros when None.
    Returns (hidden [B, T, H], cell [B, T, H] or None, final state).
    """
    w_ih, w_hh = getattr(rnn, f"weight_ih_l{layer}"), getattr(rnn, f"weight_hh_l{layer}")
    b_ih, b_hh = getattr(rnn, f"bias_ih_l{layer}"), getattr(rnn, f"bias_hh_l{layer}")
    B, T, _ = x.shape
    H = rnn.hidden_size
    if state is None:
        zeros = x.new_zeros(B, H)
        state = (zeros, zeros) if kind == "lstm" else (zeros,)
    x_proj = x @ w_ih.T + b_ih                            # (B, T, gates * H)
    hs, cs = [], []
    h = state[0]
    c = state[1] if kind == "lstm" else None
    for t in range(T):
        if kind == "lstm":
            h, c = lstm_cell(x_proj[:, t], h, c, w_hh, b_hh)
            cs.append(c)
        elif kind == "gru":
            h = gru_cell(x_proj[:, t], h, w_hh, b_hh)
        else:
            h = rnn_cell(x_proj[:, t], h, w_hh, b_hh)
        hs.append(h)
    hidden = torch.stack(hs, dim=1)                       # (B, T, H)
    cell = torch.stack(cs, dim=1) if cs else None         # (B, T, H)
    final = (h, c) if kind == "lstm" else (h,)
    return hidden, cell, final


def _init_forget_bias(lstm: nn.LSTM) -> None:
    """Start the forget gate open (bias 1), as Gers et al. 2000 and Jozefowicz et al. 2015
    recommend: an LSTM that forgets everything at step 0 learns long memory slowly, and the race
    should give every family its standard best start."""
    H = lstm.hidden_size
    with torch.no_grad():
        for layer in range(lstm.num_layers):
            getattr(lstm, f"bias_ih_l{layer}")[H:2 * H].fill_(1.0)
            getattr(lstm, f"bias_hh_l{layer}")[H:2 * H].fill_(0.0)


def tie_to_embedding(emb: nn.Embedding, head: nn.Linear) -> None:
    """Weight tying (Press & Wolf 2017, who tied LSTM language models): the output layer's
    weight becomes the embedding table, one [V, d] tensor. It starts at std d^-0.5, the scale
    an output layer needs, and `embed_tokens` multiplies by sqrt(d), so the recurrent layers
    still read vectors of the untied model's N(0, 1) scale."""
    nn.init.normal_(emb.weight, std=emb.embedding_dim ** -0.5)
    head.weight = emb.weight


def embed_tokens(emb: nn.Embedding, idx: torch.Tensor, tied: bool) -> torch.Tensor:
    """idx [B, T] -> [B, T, d]: the table's rows, times sqrt(d) when tied (see tie_to_embedding)."""
    x = emb(idx)
    return x * emb.embedding_dim ** 0.5 if tied else x


# --------------------------------------------------------------------------------------------
# Language models
# --------------------------------------------------------------------------------------------

class RecurrentLM(nn.Module):
    """Embedding -> n_layers of RNN / GRU / LSTM -> linear head, predicting the next token.

    Capture records `rnn.hidden` [B, T, H] (last layer) and, for the LSTM, `rnn.cell` [B, T, H];
    with `hidden=True` also `embed` [B, T, d] and every layer's output `rnn.{i}` [B, T, H].
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        cfg.validate()
        if cfg.arch not in RECURRENT_ARCHS:
            raise ValueError(f"RecurrentLM builds {', '.join(RECURRENT_ARCHS)}; got arch '{cfg.arch}'.")
        self.cfg = cfg
        self.kind = cfg.arch
        rnn_kwargs = dict(batch_first=True, num_layers=cfg.n_layers,
                          dropout=cfg.dropout if cfg.n_layers > 1 else 0.0)  # torch warns on 1 layer
        if cfg.arch == "rnn":
            rnn_kwargs["nonlinearity"] = "tanh"
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.rnn = _RNN_CLASSES[cfg.arch](cfg.d_model, cfg.d_model, **rnn_kwargs)
        self.drop = nn.Dropout(cfg.dropout)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size)
        if cfg.tie_weights:
            tie_to_embedding(self.tok_emb, self.lm_head)
        if cfg.arch == "lstm":
            _init_forget_bias(self.rnn)
        # The last layer's state after every token (and an LSTM's cell), recorded by a capture;
        # on request also the embedding and every layer's output.
        self.hook_hidden = HookPoint("always", "rnn.hidden")
        self.hook_cell = HookPoint("always", "rnn.cell")
        self.hook_embed = HookPoint("hidden", "embed")
        for layer in range(cfg.n_layers):
            self.add_module(f"hook_layer{layer}", HookPoint("hidden", f"rnn.{layer}"))

    def forward(self, idx: torch.Tensor, targets: Optional[torch.Tensor] = None):
        """idx: [B, T] token ids; targets: [B, T] with IGNORE_INDEX where no loss is taken.

        Returns (logits [B, T, V], mean cross-entropy or None).
        """
        x = self.drop(embed_tokens(self.tok_emb, idx, self.cfg.tie_weights))  # (B, T, d)
        if not self.hook_hidden.recording:
            out, _ = self.rnn(x)                          # (B, T, H), fused kernel
        else:
            out = self._forward_unrolled(x)
        logits = self.lm_head(self.drop(out))             # (B, T, V)
        return logits, lm_loss(logits, targets)

    def _forward_unrolled(self, x: torch.Tensor) -> torch.Tensor:
        """The same stack, one layer and one time step at a time, so every state can be seen."""
        x = self.hook_embed(x)
        cell = None
        for layer in range(self.cfg.n_layers):
            if layer > 0:
                # Between layers, as nn.RNNBase applies its `dropout` argument.
                x = F.dropout(x, self.rnn.dropout, self.training)
            x, cell, _ = unroll_layer(self.kind, self.rnn, layer, x)
            x = getattr(self, f"hook_layer{layer}")(x)    # (B, T, H)
        if cell is not None:
            self.hook_cell(cell)                          # (B, T, H)
        return self.hook_hidden(x)


# --------------------------------------------------------------------------------------------
# Encoder-decoder
# --------------------------------------------------------------------------------------------

class EncoderMemory(NamedTuple):
    """What the encoder hands the decoder.

    outputs: [B, S, H] top-layer encoder states (zero at padding);
    state: (h, c), each [n_layers, B, H], the state after each row's last real token;
    src_mask: [B, S] bool, True at real (non-pad) source tokens.
    """

    outputs: torch.Tensor
    state: tuple[torch.Tensor, torch.Tensor]
    src_mask: torch.Tensor


class AdditiveAttention(nn.Module):
    """Bahdanau attention: score(s, h_j) = vᵀ tanh(W_s s + W_h h_j), softmax over source j.

    The source side W_h h_j is computed once per sentence (`project_keys`); each decoder step
    then costs one small matmul and a tanh over the S source positions.
    """

    def __init__(self, d_model: int):
        super().__init__()
        self.W_s = nn.Linear(d_model, d_model, bias=False)
        self.W_h = nn.Linear(d_model, d_model, bias=True)
        self.v = nn.Linear(d_model, 1, bias=False)

    def project_keys(self, outputs: torch.Tensor) -> torch.Tensor:
        """outputs: [B, S, H] -> W_h h_j: [B, S, H]."""
        return self.W_h(outputs)

    def forward(self, s: torch.Tensor, keys: torch.Tensor, outputs: torch.Tensor, src_mask: torch.Tensor):
        """s: [B, H] previous decoder state; keys: [B, S, H]; outputs: [B, S, H]; src_mask: [B, S].

        Returns (context [B, H], weights [B, S]); weights are exactly zero on padding.
        """
        scores = self.v(torch.tanh(self.W_s(s).unsqueeze(1) + keys)).squeeze(-1)  # (B, S)
        scores = scores.masked_fill(~src_mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)                                    # (B, S)
        context = torch.bmm(weights.unsqueeze(1), outputs).squeeze(1)              # (B, H)
        return context, weights


class Seq2SeqLSTM(nn.Module):
    """LSTM encoder-decoder (Sutskever et al. 2014), optionally with additive attention.

    Without attention the decoder starts from the encoder's final (h, c) and never sees the
    encoder outputs again: the whole source must squeeze through that one state — the bottleneck.
    With attention, every decoder step t looks back at all encoder outputs with weights computed
    from its previous state s_{t-1}, and the context is concatenated to its input embedding.

    Capture records `encoder.hidden` [B, S, H], `decoder.hidden` [B, T, H] and, with attention,
    `decoder.cross_attn` [B, 1, T, S] (one "head").
    """

    def __init__(self, cfg: ModelConfig, attention: Optional[bool] = None):
        super().__init__()
        cfg.validate()
        if cfg.arch not in SEQ2SEQ_RNN_ARCHS:
            raise ValueError(f"Seq2SeqLSTM builds {', '.join(SEQ2SEQ_RNN_ARCHS)}; got arch '{cfg.arch}'.")
        if attention is None:
            attention = cfg.arch == "lstm-seq2seq-attn"
        self.cfg = cfg
        self.use_attention = bool(attention)
        d, L = cfg.d_model, cfg.n_layers
        between = cfg.dropout if L > 1 else 0.0
        self.tok_emb = nn.Embedding(cfg.vocab_size, d)    # shared by source and target: one vocabulary
        self.encoder = nn.LSTM(d, d, num_layers=L, dropout=between, batch_first=True)
        dec_in = 2 * d if self.use_attention else d      # [embedding ; context]
        self.decoder = nn.LSTM(dec_in, d, num_layers=L, dropout=between, batch_first=True)
        self.attn = AdditiveAttention(d) if self.use_attention else None
        self.drop = nn.Dropout(cfg.dropout)
        self.lm_head = nn.Linear(d, cfg.vocab_size)
        if cfg.tie_weights:
            tie_to_embedding(self.tok_emb, self.lm_head)
        _init_forget_bias(self.encoder)
        _init_forget_bias(self.decoder)
        self.hook_encoder = HookPoint("always", "encoder.hidden")
        self.hook_decoder = HookPoint("always", "decoder.hidden")
        self.hook_cross_attn = HookPoint("always", "decoder.cross_attn")

    def encode(self, src: torch.Tensor) -> EncoderMemory:
        """src: [B, S] right-padded with cfg.pad_id. Returns an EncoderMemory."""
        src_mask = src != self.cfg.pad_id                 # (B, S)
        x = self.drop(embed_tokens(self.tok_emb, src, self.cfg.tie_weights))     # (B, S, d)
        lengths = src_mask.sum(dim=1)
        if bool((lengths < src.size(1)).any()):
            # Packing stops each row at its own last token, so padding never enters the final state.
            packed = nn.utils.rnn.pack_padded_sequence(
                x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)
            packed_out, (h, c) = self.encoder(packed)
            outputs, _ = nn.utils.rnn.pad_packed_sequence(packed_out, batch_first=True, total_length=src.size(1))
        else:
            outputs, (h, c) = self.encoder(x)             # (B, S, H); h, c: (L, B, H)
        return EncoderMemory(self.hook_encoder(outputs), (h, c), src_mask)

    def decode(self, tgt_in: torch.Tensor, memory: EncoderMemory, src: Optional[torch.Tensor] = None) -> torch.Tensor:
        """tgt_in: [B, T] ([BOS] + target so far). Returns logits [B, T, V].

        `src` is accepted for the shared encoder-decoder contract; the padding mask already
        travels in `memory`.
        """
        y = self.drop(embed_tokens(self.tok_emb, tgt_in, self.cfg.tie_weights))  # (B, T, d)
        if self.use_attention:
            out = self._decode_attention(y, memory)
        else:
            out, _ = self.decoder(y, memory.state)        # (B, T, H): only the final state crosses over
        return self.lm_head(self.drop(self.hook_decoder(out)))               # (B, T, V)

    def _decode_attention(self, y: torch.Tensor, memory: EncoderMemory) -> torch.Tensor:
        """Step the decoder: input at t is [y_{t-1} ; context_t], context_t from s_{t-1}.

        The input depends on the previous state, so this cannot use the fused sequence kernel;
        it runs the same LSTM cell equations on the decoder's weights, one layer at a time.
        """
        outputs, src_mask = memory.outputs, memory.src_mask
        keys = self.attn.project_keys(outputs)            # (B, S, H), once per sentence
        h0, c0 = memory.state
        h = list(h0.unbind(0))                            # n_layers x (B, H)
        c = list(c0.unbind(0))
        tops, alignments = [], []
        for t in range(y.size(1)):
            context, weights = self.attn(h[-1], keys, outputs, src_mask)  # (B, H), (B, S)
            x = torch.cat([y[:, t], context], dim=-1)    # (B, 2d)
            for layer in range(self.cfg.n_layers):
                if layer > 0:
                    x = F.dropout(x, self.decoder.dropout, self.training)
                w_ih = getattr(self.decoder, f"weight_ih_l{layer}")
                b_ih = getattr(self.decoder, f"bias_ih_l{layer}")
                w_hh = getattr(self.decoder, f"weight_hh_l{layer}")
                b_hh = getattr(self.decoder, f"bias_hh_l{layer}")
                h[layer], c[layer] = lstm_cell(x @ w_ih.T + b_ih, h[layer], c[layer], w_hh, b_hh)
                x = h[layer]
            tops.append(x)
            alignments.append(weights)
        if self.hook_cross_attn.recording:
            self.hook_cross_attn(torch.stack(alignments, dim=1).unsqueeze(1))  # (B, 1, T, S)
        return torch.stack(tops, dim=1)                   # (B, T, H)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor, targets: Optional[torch.Tensor] = None):
        """src: [B, S], tgt_in: [B, T], targets: [B, T]. Returns (logits [B, T, V], loss or None)."""
        logits = self.decode(tgt_in, self.encode(src), src)
        return logits, lm_loss(logits, targets)
