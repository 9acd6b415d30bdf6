"""Immutable pictures of a model during training, for pages to read while it keeps learning.

The training process owns the model; a page must never read its weights mid-step. So every few
steps the trainer takes a `Snapshot`: the attention maps on a small fixed probe batch, the
embedding tables, the model's answers to a few fixed questions, and a CPU copy of the weights.
A snapshot holds only numpy arrays (read-only), tensors copied to the CPU, and plain values, so
any thread can read it at any time, and a page can scrub back through the history of them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import torch

from ..capture import capture

TEXT_CONTINUATION = 16  # characters a character LM writes for each probe in a snapshot


@dataclass(frozen=True)
class Snapshot:
    """The state of a training run at one step.

    attention:   name -> [B, H, T, S] weights on the probe batch ("decoder.0.self_attn", ...)
    probe_tokens: the tokens each probe row's model input holds (axis labels for attention;
                 for seq2seq, the encoder's input), and probe_tgt_tokens the decoder's input
    embeddings:  [V, d_model] token embedding table; vocab: its row labels
    pos_table:   [max_len, d_model] learned position table, or None
    answers:     per fixed example: input, expected, predicted (strings), correct (bool) and
                 token_correct (one bool per predicted token, to mark the wrong ones)
    state_dict:  CPU tensors, to rebuild the model as it was at this step; None once an old
                 snapshot has let them go to keep the history within its memory budget
                 (`transformer.runs.history`): its maps and tables stay
    seconds:     how long taking this snapshot took
    activations: other recorded activations by name, e.g. a recurrent model's "rnn.hidden"
                 [B, T, hidden] on the probe batch
    """

    step: int
    elapsed_s: float
    metrics: dict
    attention: dict
    probe_tokens: list
    embeddings: np.ndarray
    pos_table: np.ndarray | None
    answers: list
    state_dict: dict | None
    probe_tgt_tokens: list | None = None
    vocab: list = field(default_factory=list)
    seconds: float = 0.0
    activations: dict = field(default_factory=dict)

    def __setstate__(self, state: dict) -> None:
        # A snapshot comes from the training process as a pickle, whose arrays come out
        # writeable: make them read-only again, as every reader expects.
        for name, value in state.items():
            object.__setattr__(self, name, _read_only(value))

    @property
    def has_weights(self) -> bool:
        return self.state_dict is not None

    def without_weights(self) -> "Snapshot":
        """This snapshot without its state_dict (the same read-only maps and tables, not copied)."""
        return replace(self, state_dict=None)

    @cached_property
    def weight_bytes(self) -> int:
        """Bytes of its weights (0 once let go)."""
        return sum(t.nelement() * t.element_size() for t in (self.state_dict or {}).values())

    @cached_property
    def nbytes(self) -> int:
        """Bytes of its arrays and weights (the strings of answers and tokens are small beside them)."""
        arrays = [*self.attention.values(), *self.activations.values(), self.embeddings, self.pos_table]
        return sum(a.nbytes for a in arrays if a is not None) + self.weight_bytes


def _frozen(t: torch.Tensor) -> np.ndarray:
    # Snapshots are shared between threads: nobody may edit one.
    return _read_only(t.detach().float().cpu().numpy().copy())


def _read_only(value):
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif isinstance(value, dict):
        for item in value.values():
            _read_only(item)
    return value


def _row_tokens(ids: torch.Tensor, vocab) -> list[list[str]]:
    """Token strings of each row, without trailing padding (pads only ever come last)."""
    rows = []
    for row in ids.tolist():
        while row and row[-1] == vocab.pad_id:
            row = row[:-1]
        rows.append([vocab.tokens[i] for i in row])
    return rows


def grade_answers(task, examples, predictions) -> list[dict]:
    """Compare predicted token lists with the expected ones, token by token."""
    answers = []
    for ex, pred in zip(examples, predictions):
        expected = list(ex.tgt)
        answers.append({
            "input": task.format_src(ex.src),
            "expected": task.format_tgt(expected),
            "predicted": task.format_tgt(pred),
            "correct": list(pred) == expected,
            "expected_tokens": expected,
            "predicted_tokens": list(pred),
            "token_correct": [i < len(expected) and tok == expected[i] for i, tok in enumerate(pred)],
        })
    return answers


def as_question(task, ex):
    """A character LM has no answers: ask it to continue the first half of a probe window."""
    if task.kind != "text":
        return ex
    from ..tasks import Example

    cut = len(ex.src) // 2
    return Example(ex.src[:cut], ex.src[cut : cut + TEXT_CONTINUATION])


@torch.no_grad()
def take_snapshot(trainer, probe, metrics: dict | None = None) -> Snapshot:
    """Snapshot `trainer.model` on the probe examples (a short list of `Example`s).

    Call it from the thread that trains (it runs the model). `metrics` defaults to the
    trainer's latest evaluation row.
    """
    from ..decoding import predict

    start = time.perf_counter()
    model, task = trainer.model, trainer.task
    was_training = model.training
    model.eval()
    try:
        batch = trainer.make_batch(probe)
        with capture(model) as cache:
            batch.forward(model)
        # Attention maps are the 4-D [B, H, T, S] entries; recurrent models also record their
        # hidden states ([B, T, H]), kept apart so every value of `attention` is a map.
        attention = {name: _frozen(t) for name, t in cache.items() if t.dim() == 4 and name.endswith("attn")}
        activations = {name: _frozen(t) for name, t in cache.items() if name not in attention}
        probe_tokens = _row_tokens(batch.inputs[0], task.vocab)  # what the (first) stack reads
        probe_tgt_tokens = None if batch.tgt_in is None else _row_tokens(batch.tgt_in, task.vocab)
        questions = [as_question(task, ex) for ex in probe]
        if task.kind == "text":
            predictions = predict(model, task, [q.src for q in questions], max_new_tokens=len(questions[0].tgt))
        else:
            predictions = predict(model, task, [q.src for q in questions])
        answers = grade_answers(task, questions, predictions)
        pos = getattr(model, "pos", None)
        table = getattr(pos, "table", None)
        pos_table = _frozen(table.weight) if isinstance(table, torch.nn.Embedding) else None
        embeddings = _frozen(model.tok_emb.weight)
        state_dict = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    finally:
        model.train(was_training)
    if metrics is None:
        metrics = dict(trainer.evals[-1]) if trainer.evals else {}
    return Snapshot(
        step=trainer.step_count,
        elapsed_s=trainer.elapsed,
        metrics=dict(metrics),
        attention=attention,
        probe_tokens=probe_tokens,
        probe_tgt_tokens=probe_tgt_tokens,
        embeddings=embeddings,
        pos_table=pos_table,
        answers=answers,
        state_dict=state_dict,
        activations=activations,
        vocab=list(task.vocab.tokens),
        seconds=time.perf_counter() - start,
    )


def model_from_snapshot(snapshot: Snapshot, model_cfg):
    """Rebuild the model as it was when `snapshot` was taken (CPU, eval mode)."""
    from ..build import build_model

    if not snapshot.has_weights:
        raise ValueError(f"The weights of step {snapshot.step} were let go to keep the server's memory within its "
                         "budget: choose a step that keeps them.")
    model = build_model(model_cfg)
    model.load_state_dict(snapshot.state_dict)
    return model.eval()
