"""Examples -> padded tensors, in the layout an architecture reads.

Which positions count toward the loss is decided here, once, for every model: a target of
IGNORE_INDEX (-100, PyTorch's cross-entropy default) is skipped, so the model is never graded
on predicting the question, only the answer. For src = "abc", tgt = "cba" (reverse):

"lm" (decoder-only and recurrent language models): one sequence, shifted by one.
    sequence  <bos> a  b  c  <sep> c  b  a  <eos>
    idx       <bos> a  b  c  <sep> c  b  a            (the input)
    targets   -     -  -  -  c     b  a  <eos>        (- is IGNORE_INDEX)
  For the "text" kind (character LM) every position counts: idx = <bos> + window[:-1],
  targets = window.

"seq2seq" (encoder-decoder): the question goes to the encoder, the answer to the decoder.
    src       a  b  c
    tgt_in    <bos> c  b  a
    targets   c     b  a  <eos>

"tag" (encoder-only): one prediction per input position, no generation.
    classify  idx = <cls> a b c,  targets = label - - -   (the label is read at <cls>)
    seq       idx = a b c,        targets = c b a          (needs len(src) == len(tgt))

"image" (ViT, CNN): the pixels of each picture, and its label.
    pixels    [B, 1, H, W] floats in [0, 1], decoded from the example's grey-level tokens
    targets   [B, 1] the label's token id (the model's one output position)

Rows are padded on the right with the pad id (inputs) and IGNORE_INDEX (targets).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import torch

from ..metrics import IGNORE_INDEX
from .base import Example, Task


def _lm_row(task: Task, ex: Example) -> tuple[list[int], list[int], list[str]]:
    v = task.vocab
    if task.kind == "text":
        seq = [v.bos_id] + v.encode(ex.src)
        return seq[:-1], seq[1:], v.to_tokens(seq[:-1])
    seq = [v.bos_id] + v.encode(ex.src) + [v.sep_id] + v.encode(ex.tgt) + [v.eos_id]
    idx, targets = seq[:-1], seq[1:]
    n_question = len(ex.src) + 1  # <bos> src: their next tokens are still the question
    targets = [IGNORE_INDEX] * n_question + targets[n_question:]
    return idx, targets, v.to_tokens(idx)


def _seq2seq_row(task: Task, ex: Example) -> tuple[list[int], list[int], list[int]]:
    v = task.vocab
    tgt = v.encode(ex.tgt)
    return v.encode(ex.src), [v.bos_id] + tgt, tgt + [v.eos_id]


def _tag_row(task: Task, ex: Example) -> tuple[list[int], list[int], list[str]]:
    v = task.vocab
    if task.kind == "classify":
        idx = [v.cls_id] + v.encode(ex.src)
        targets = v.encode(ex.tgt) + [IGNORE_INDEX] * len(ex.src)
    else:
        if len(ex.src) != len(ex.tgt):
            raise ValueError(
                f"An encoder predicts one token per input position, but '{task.name}' maps "
                f"{len(ex.src)} input tokens to {len(ex.tgt)}: use a decoder or an encoder-decoder."
            )
        idx, targets = v.encode(ex.src), v.encode(ex.tgt)
    return idx, targets, v.to_tokens(idx)


def _pad(rows: Sequence[list[int]], value: int, device) -> torch.Tensor:
    width = max(len(r) for r in rows)
    return torch.tensor([r + [value] * (width - len(r)) for r in rows], dtype=torch.long, device=device)  # (B, T)


@dataclass(frozen=True)
class Batch:
    """One padded batch, in the layout its model reads (see the module docstring for the rows).

    layout:     "lm" | "seq2seq" | "tag"
    targets:    [B, T] LongTensor, IGNORE_INDEX where nothing is graded
    tokens:     each row's unpadded input tokens (the encoder's, for seq2seq), for axis labels:
                crop a [T, T] map of row b to len(tokens[b])
    idx:        [B, T] the input of "lm" and "tag" models (None for seq2seq)
    src, tgt_in: [B, S] and [B, T], the encoder's and decoder's inputs (seq2seq only)
    tgt_tokens: each row's decoder input tokens (seq2seq only)
    pixels:     [B, 1, H, W] float pictures ("image" only; tokens then holds each row's label)

    Callers run a model with `run` or `forward` and never ask which layout it is.
    """

    layout: str
    targets: torch.Tensor
    tokens: list
    idx: Optional[torch.Tensor] = None
    src: Optional[torch.Tensor] = None
    tgt_in: Optional[torch.Tensor] = None
    tgt_tokens: Optional[list] = None
    pixels: Optional[torch.Tensor] = None

    @property
    def inputs(self) -> tuple[torch.Tensor, ...]:
        """What the model's forward takes before `targets`: (idx,), (src, tgt_in) or (pixels,)."""
        if self.layout == "image":
            return (self.pixels,)
        return (self.src, self.tgt_in) if self.layout == "seq2seq" else (self.idx,)

    def run(self, model) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits [B, T, V], mean loss over the graded positions)."""
        return model(*self.inputs, self.targets)

    def forward(self, model) -> torch.Tensor:
        """logits [B, T, V] without a loss (for a capture, or to read predictions)."""
        return model(*self.inputs)[0]

    @property
    def n_tokens(self) -> int:
        """Token positions the model reads (for tokens per second; pixels for a picture)."""
        return sum(t.numel() for t in self.inputs)

    @property
    def width(self) -> int:
        """The longest input row: the positions a model must have room for (a picture's side)."""
        if self.layout == "image":
            return self.pixels.size(-1)
        return max(t.size(1) for t in self.inputs)


def make_batch(task: Task, examples: Sequence[Example], layout: str, device="cpu") -> Batch:
    """Build one padded `Batch` of `examples` for a model of `layout`; T = the longest row here."""
    if not examples:
        raise ValueError("make_batch needs at least one example.")
    if task.kind == "text" and layout != "lm":
        raise ValueError(f"'{task.name}' is next-character prediction: train it with a language model (decoder, rnn, gru, lstm).")
    if task.kind == "classify":
        bad = next((ex for ex in examples if len(ex.tgt) != 1), None)
        if bad is not None:
            raise ValueError(f"A classification example needs exactly one label token, got {bad.tgt!r}.")
    pad = task.vocab.pad_id
    if layout == "image" or getattr(task, "pixels", None) is not None:
        return _image_batch(task, examples, layout, device)

    if layout == "lm" or layout == "tag":
        build = _lm_row if layout == "lm" else _tag_row
        idx, targets, tokens = zip(*(build(task, ex) for ex in examples))
        return Batch(layout, targets=_pad(targets, IGNORE_INDEX, device), tokens=[list(t) for t in tokens],
                     idx=_pad(idx, pad, device))
    if layout == "seq2seq":
        src, tgt_in, targets = zip(*(_seq2seq_row(task, ex) for ex in examples))
        return Batch(layout, targets=_pad(targets, IGNORE_INDEX, device), tokens=[list(ex.src) for ex in examples],
                     src=_pad(src, pad, device), tgt_in=_pad(tgt_in, pad, device),
                     tgt_tokens=[task.vocab.to_tokens(t) for t in tgt_in])
    raise ValueError(f"Unknown layout '{layout}': choose one of lm, seq2seq, tag, image.")


def _image_batch(task: Task, examples: Sequence[Example], layout: str, device) -> Batch:
    """Pictures and labels; only a picture task feeds only an image model."""
    if layout != "image":
        raise ValueError(f"'{task.name}' is made of pictures: train it with an image model (vit, cnn).")
    if getattr(task, "pixels", None) is None:
        raise ValueError(f"'{task.name}' is text, not pictures: train it with a text model, not vit or cnn.")
    images = torch.stack([torch.from_numpy(task.pixels(ex)) for ex in examples])  # (B, H, W)
    targets = torch.tensor([task.vocab.encode(ex.tgt) for ex in examples], dtype=torch.long)  # (B, 1)
    return Batch(layout, targets=targets.to(device), tokens=[list(ex.tgt) for ex in examples],
                 pixels=images[:, None].to(device))  # (B, 1, H, W)
