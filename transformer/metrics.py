"""What "right" means for every model: the loss and the answer accuracy, defined once.

Targets are token ids with IGNORE_INDEX wherever nothing is asked (the prompt, padding), so
one cross-entropy and one accuracy serve language models, encoder-decoders and classifiers.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

# PyTorch's own default for F.cross_entropy's ignore_index: positions that are not graded.
IGNORE_INDEX = -100


def lm_loss(logits: torch.Tensor, targets: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    """Mean cross-entropy over positions whose target is not IGNORE_INDEX.

    logits [B, T, V], targets [B, T] (or None: no loss, as when generating).
    """
    if targets is None:
        return None
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE_INDEX)  # (B*T, V)


def answer_accuracy(logits: torch.Tensor, targets: torch.Tensor) -> dict:
    """Count correct answer tokens and fully correct rows.

    logits [B, T, V], targets [B, T] with IGNORE_INDEX where nothing is asked (the prompt, pads).
    Returns counts (not ratios) so batches can be summed: tokens_correct, tokens, seqs_correct, seqs.
    The prediction is the teacher-forced argmax. A row whose answer tokens are all right under
    teacher forcing is also produced exactly by greedy decoding (each greedy step then sees the
    same correct prefix), and vice versa, so seq accuracy here equals greedy exact match.
    """
    mask = targets != IGNORE_INDEX  # (B, T)
    hit = (logits.argmax(dim=-1) == targets) & mask  # (B, T)
    rows = mask.any(dim=1)  # rows with at least one answer token
    row_ok = (hit | ~mask).all(dim=1) & rows
    return {
        "tokens_correct": int(hit.sum()),
        "tokens": int(mask.sum()),
        "seqs_correct": int(row_ok.sum()),
        "seqs": int(rows.sum()),
    }


def accuracy_ratios(counts: dict) -> tuple[float, float]:
    """(token accuracy, sequence accuracy) from `answer_accuracy`'s counts; 0 where nothing was asked."""
    return (counts["tokens_correct"] / max(counts["tokens"], 1),
            counts["seqs_correct"] / max(counts["seqs"], 1))
