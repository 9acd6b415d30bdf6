"""Measuring a model on a fixed set of examples, and stopping early on the validation loss.

Both sides of a run are measured the same way (`measure`): the validation examples, which
training never draws from, and a fixed sample of training examples. The gap between the two
is what overfitting looks like; `EarlyStopping` keeps the weights from the evaluation where
the validation loss was lowest and says when it has stopped improving.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .metrics import IGNORE_INDEX, accuracy_ratios, answer_accuracy

EVAL_CHUNK = 512  # examples per forward pass when measuring: one pass for the default eval_size


def make_batches(make_batch, examples: list, chunk: int = EVAL_CHUNK) -> list:
    """`examples` as batches of at most `chunk` (built once per run and reused: the inputs of a
    fixed set do not change, only the model does)."""
    return [make_batch(examples[i : i + chunk]) for i in range(0, len(examples), chunk)]


@torch.no_grad()
def measure(model: nn.Module, batches: list, autocast) -> dict:
    """Mean loss per answer token, token accuracy and sequence accuracy over `batches`.

    Each batch's logits are [B, T, V] and its targets [B, T] (IGNORE_INDEX where nothing is
    scored). The loss is summed over tokens, then divided once, so batches of different sizes
    weigh by their tokens. The model is put in eval mode (dropout off) and restored after.
    -> {"loss", "token_acc", "seq_acc"}
    """
    was_training = model.training
    model.eval()
    loss_sum, counts = 0.0, {"tokens_correct": 0, "tokens": 0, "seqs_correct": 0, "seqs": 0}
    for batch in batches:
        with autocast():
            logits = batch.forward(model)
        logits = logits.float()  # (B, T, V)
        loss_sum += F.cross_entropy(
            logits.reshape(-1, logits.size(-1)), batch.targets.reshape(-1), ignore_index=IGNORE_INDEX, reduction="sum"
        ).item()
        for key, value in answer_accuracy(logits, batch.targets).items():
            counts[key] += value
    model.train(was_training)
    token_acc, seq_acc = accuracy_ratios(counts)
    return {"loss": loss_sum / max(1, counts["tokens"]), "token_acc": token_acc, "seq_acc": seq_acc}


class EarlyStopping:
    """Patience on the validation loss, keeping the best weights (as Keras's EarlyStopping with
    restore_best_weights): after `patience` evaluations in a row without a new lowest
    validation loss, training should stop and go back to the weights of the best one.

    The best weights are a CPU copy of the state_dict, taken at each new best: a small model's
    copy costs far less than the evaluation that found it, and it survives the weights moving on.
    """

    def __init__(self, patience: int):
        self.patience = patience
        self.best_loss = float("inf")
        self.best_step: int | None = None
        self.best_row: dict | None = None
        self.best_state: dict | None = None
        self.bad_evals = 0  # evaluations since the best one
        self.stopped_at: int | None = None

    def update(self, model: nn.Module, row: dict) -> bool:
        """Record one evaluation row (it has "step" and "val_loss"); True when it is a new best."""
        if row["val_loss"] < self.best_loss:
            self.best_loss, self.best_step, self.best_row = row["val_loss"], row["step"], dict(row)
            self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            self.bad_evals = 0
            return True
        self.bad_evals += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.bad_evals >= self.patience

    def restore(self, model: nn.Module, step: int) -> None:
        """Put the best weights back into `model` (on whatever device it is on)."""
        self.stopped_at = step
        if self.best_state is not None:
            model.load_state_dict(self.best_state)

    def message(self) -> str:
        """One sentence saying when and why training stopped early, and what was kept."""
        if self.stopped_at is None:
            return ""
        evals = "evaluation" if self.patience == 1 else f"{self.patience} evaluations"
        return (f"Stopped early at step {self.stopped_at}: the validation loss had not improved for {evals}; "
                f"the weights from step {self.best_step} (its best, validation loss {self.best_loss:.4f}) are restored.")
