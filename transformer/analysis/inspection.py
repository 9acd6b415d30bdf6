"""Run a trained model on one input and look inside it.

* `parse_input` turns what a person typed into source tokens, or one clear sentence: empty,
  unknown characters (named), longer than any input (`MAX_INPUT_CHARS`, refused before any
  parsing), a length the model never saw, or too long (with the start that fits, to offer
  truncation).
* `run_attention` answers the input greedily, then runs the model once on the input and its own
  answer with everything captured, and names the tokens on each attention map's axes.
* `query_walkthrough` recomputes one query's attention from the captured q, k, v and mask, step
  by step, with the model's real numbers (and checks them against the model's own weights).
* `ablation_accuracy` switches heads off and grades the answers again.

Core code: torch, numpy and the standard library only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..capture import ablate_heads, capture
from ..decoding import predict
from .interpret import _as_numpy
from ..runs.snapshot import grade_answers
from ..tasks import MAX_INPUT_CHARS, Example, check_input_text, make_batch


# ---------------------------------------------------------------------------------------------
# Running a model on one input and reading its attention by name.
# ---------------------------------------------------------------------------------------------

class InputTooLong(ValueError):
    """The input does not fit (the task's length or the model's context); `fits` is the longest
    start of it that does, as text, so a page can offer to truncate."""

    def __init__(self, message: str, fits: str):
        super().__init__(message)
        self.fits = fits


def parse_input(task, text: str, max_len: int | None = None, *, trained_lengths: bool = True) -> list[str]:
    """User text -> source tokens for `task`, or ValueError with one sentence.

    A text longer than `MAX_INPUT_CHARS` is refused before anything parses it, and the search
    for a start that fits tries a fixed number of short prefixes (`_longest_parsable_start`),
    so a pasted megabyte costs microseconds. Empty text and unknown characters get the task's
    own sentence (which names them). When the text is only too long, for the task or for a
    model context of `max_len` positions, the error is an `InputTooLong` that carries the
    longest start that fits. With `trained_lengths`, an input outside the lengths the task's
    examples have (`task.lengths`, e.g. exactly 8 letters) is refused too: a model never shown
    a shorter input answers it with noise or nothing.
    """
    text = check_input_text(text)
    if not text.strip():
        raise ValueError("The input is empty: type something or pick an example.")
    if task.kind != "text":  # a text model's prompt keeps its spaces: "and now " asks for a word
        text = text.strip()
    try:
        src = task.parse(text)
    except ValueError as err:
        if str(err).startswith("Unknown"):
            raise
        fits = _longest_parsable_start(task, text)
        if fits is None:
            raise
        raise InputTooLong(f"{err} The start “{fits}” fits: truncate to it?", fits) from None
    need = context_needed(task, len(src))
    if max_len is not None and need > max_len:
        keep = len(src)
        while keep > 1 and context_needed(task, keep) > max_len:
            keep -= 1
        fits = task.format_src(src[:keep])
        raise InputTooLong(f"The input needs {need} positions but this model's context holds {max_len}: "
                           f"truncate to the first {keep} tokens (“{fits}”)?", fits)
    if trained_lengths:
        check_trained_length(task, src)
    return src


def trained_length_text(task) -> str | None:
    """"exactly 8 letters" / "6 to 12 letters": the input lengths the task's examples have, or
    None for a task without a length range (`task.lengths`)."""
    lengths = getattr(task, "lengths", None)
    if lengths is None:
        return None
    lo, hi = lengths
    unit = "letters" if all(s.isalpha() for s in task.vocab.symbols) else "symbols"
    return f"exactly {lo} {unit}" if lo == hi else f"{lo} to {hi} {unit}"


def check_trained_length(task, src: list) -> None:
    """ValueError (one sentence) when `src` is shorter or longer than every training example."""
    lengths = getattr(task, "lengths", None)
    if lengths is not None and not lengths[0] <= len(src) <= lengths[1]:
        what = trained_length_text(task)
        raise ValueError(f"This model was trained only on inputs of {what} and this one has {len(src)}, which "
                         f"it cannot answer sensibly: type {what.removeprefix('exactly ')}.")


def _start_budget(task) -> int:
    """How many characters a start that parses can have: at most `max_src_len` tokens of the
    vocabulary's longest symbol, with as many spaces again between them (a constant per task)."""
    longest = max((len(s) for s in task.vocab.symbols), default=1)
    return min(MAX_INPUT_CHARS, 2 * task.max_src_len * longest + 16)


def _longest_parsable_start(task, text: str) -> str | None:
    """The longest start of `text` that `task.parse` accepts, ending at a whole word or symbol.

    Only starts within `_start_budget(task)` characters can parse, so only those are tried:
    at most that many parses of at most that many characters, whatever the length of `text`
    (trying every prefix of the whole text made a long paste quadratic: 80,000 characters held
    the server for minutes).
    """
    budget = _start_budget(task)
    for end in range(min(len(text) - 1, budget), 0, -1):
        start = text[:end].rstrip()
        if not start or start != text[:end]:
            continue
        try:
            task.parse(start)
        except ValueError:
            continue
        return start
    return None


def context_needed(task, n_src: int) -> int:
    """Positions a language model reads for a source of n_src tokens and the longest answer:
    [BOS] src [SEP] answer (the final [EOS] is predicted, never read)."""
    if task.kind == "text":
        return n_src + 1
    return n_src + 2 + task.max_tgt_len


@dataclass
class AttentionRun:
    """One input through the model with everything captured (q, k, v, scores, masks).

    tokens: what the model reads (lm/tag: the one sequence; seq2seq: the encoder's input);
    tgt_tokens: the decoder's input for seq2seq ([BOS] + answer), else None;
    answer: the model's own (greedy) answer, which is also what the decoder read.
    """

    src: list
    answer: list
    tokens: list
    tgt_tokens: list | None
    cache: dict

    @property
    def names(self) -> list[str]:
        """Attention modules in forward order."""
        return [n for n in self.cache if n.endswith("_attn")]

    def axes(self, name: str) -> tuple[list, list]:
        """(query tokens, key tokens) of an attention module."""
        if name.endswith("cross_attn"):
            return self.tgt_tokens, self.tokens
        if name.startswith("decoder") and self.tgt_tokens is not None:
            return self.tgt_tokens, self.tgt_tokens
        return self.tokens, self.tokens

    def weights(self, name: str) -> np.ndarray:
        """[H, T, S] weights of the first (only) row."""
        return _as_numpy(self.cache[name])[0]

    def allowed(self, name: str) -> np.ndarray:
        """[T, S] bool, True where the mask lets a query see a key (all heads share it)."""
        w = self.cache[name]
        mask = self.cache.get(f"{name}.mask")
        if mask is None:
            return np.ones(tuple(w.shape[-2:]), dtype=bool)
        return np.broadcast_to(_as_numpy(mask) > 0, tuple(w.shape))[0, 0].copy()

    def is_causal(self, name: str) -> bool:
        return name.startswith("decoder") and name.endswith("self_attn")


def run_attention(model, task, src: list, ablate: dict | None = None, answer: list | None = None) -> AttentionRun:
    """Answer `src` greedily, then run the model once on the input and its own answer with
    every attention tensor captured. `ablate` switches heads off for both passes.

    answer: teacher-force this answer instead of the model's own (a lesson shows attention
    while the right answer is written: `task.solve(src)`).
    """
    layout = model.cfg.layout
    with ablate_heads(model, ablate or {}):
        if answer is not None:
            answer = list(answer)
        elif task.kind == "text":
            answer = predict(model, task, [src], max_new_tokens=max(1, min(32, model.cfg.max_len - len(src))))[0]
        else:
            answer = predict(model, task, [src])[0]
    # Keep what the model reads within its context (a half-trained model may never say EOS).
    if task.kind == "text":
        seq = (list(src) + list(answer))[: model.cfg.max_len - 1]  # [BOS] + seq fills the context
        answer = seq[len(src):]
        example = Example(seq + [seq[-1]], [])  # a text row drops its last token: a placeholder
    else:
        room = {"lm": model.cfg.max_len - len(src) - 2, "seq2seq": model.cfg.max_len - 1}.get(layout, len(answer))
        answer = list(answer)[: max(0, room)]
        if task.kind == "classify":
            example = Example(list(src), answer[:1] or [task.classes[0]])
        elif layout == "tag":
            example = Example(list(src), (answer + list(src))[: len(src)])  # one token per position
        else:
            example = Example(list(src), answer)
    batch = make_batch(task, [example], layout)
    model.eval()
    with torch.no_grad(), capture(model, qkv=True, ablate=ablate or None) as cache:
        batch.forward(model)
    tgt_tokens = batch.tgt_tokens[0] if batch.tgt_tokens else None
    return AttentionRun(list(src), answer, batch.tokens[0], tgt_tokens, dict(cache))


@torch.no_grad()
def hidden_states(model, task, src: list) -> tuple[list[str], list[tuple[str, np.ndarray]]]:
    """One question through `model` (teacher-forced with the right answer), the residual stream kept.

    Returns (the tokens the model reads, [(layer name, states [1, T, d])] from the embedding up);
    for an encoder-decoder, the encoder's side (what the person typed).
    """
    from .projection import hidden_layers

    model.eval()
    batch = make_batch(task, [Example(list(src), task.solve(list(src)))], model.cfg.layout)
    with capture(model, hidden=True) as cache:
        batch.forward(model)
    return batch.tokens[0], hidden_layers(cache)


# ---------------------------------------------------------------------------------------------
# One query, step by step, from the captured q, k, v.
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QueryWalkthrough:
    """Attention for one query recomputed by hand. Shapes: d = d_head, S = number of keys."""

    query: int
    head: int
    d_head: int
    q: np.ndarray          # [d]     the query vector
    k: np.ndarray          # [S, d]  every key
    v: np.ndarray          # [S, d]  every value
    dots: np.ndarray       # [S]     q · k_j
    scaled: np.ndarray     # [S]     q · k_j / sqrt(d)
    allowed: np.ndarray    # [S]     bool, True = the mask lets the query see key j
    masked: np.ndarray     # [S]     scaled, with -inf where not allowed
    weights: np.ndarray    # [S]     softmax(masked)
    out: np.ndarray        # [S]     sum_j weights_j v_j  -> [d]
    captured_weights: np.ndarray  # [S] what the model itself produced, for comparison

    @property
    def max_abs_error(self) -> float:
        """Largest difference between our recomputation and the model's own weights."""
        return float(np.abs(self.weights - self.captured_weights).max())


def query_walkthrough(cache, name: str, query: int, head: int = 0, batch: int = 0) -> QueryWalkthrough:
    """Recompute the attention of one query from a `capture(model, qkv=True)` cache.

    `name` is the attention module ("decoder.0.self_attn"); the cache must hold `name`,
    `name.q`, `name.k`, `name.v` and `name.mask`.
    """
    missing = [n for n in (name, f"{name}.q", f"{name}.k", f"{name}.v") if n not in cache]
    if missing:
        raise ValueError(f"The capture has no {', '.join(missing)}: capture with qkv=True.")
    q_all = _as_numpy(cache[f"{name}.q"])  # (B, H, T, d_head)
    k_all = _as_numpy(cache[f"{name}.k"])  # (B, H, S, d_head)
    v_all = _as_numpy(cache[f"{name}.v"])  # (B, H, S, d_head)
    w_all = _as_numpy(cache[name])         # (B, H, T, S)
    B, H, T, d = q_all.shape
    S = k_all.shape[2]
    if not (0 <= batch < B and 0 <= head < H and 0 <= query < T):
        raise ValueError(f"Pick a row below {B}, a head below {H} and a query position below {T}.")
    q = q_all[batch, head, query]   # (d,)
    k = k_all[batch, head]          # (S, d)
    v = v_all[batch, head]          # (S, d)
    if f"{name}.mask" in cache and cache[f"{name}.mask"] is not None:
        mask = np.broadcast_to(np.asarray(_as_numpy(cache[f"{name}.mask"]) > 0), (B, H, T, S))
        allowed = np.array(mask[batch, head, query])  # (S,)
    else:
        allowed = np.ones(S, dtype=bool)
    dots = k @ q                     # (S,)
    scaled = dots / math.sqrt(d)
    masked = np.where(allowed, scaled, -np.inf)
    shifted = np.exp(masked - masked[allowed].max())  # subtract the max: same softmax, no overflow
    weights = shifted / shifted.sum()
    out = weights @ v                # (d,)
    return QueryWalkthrough(query, head, d, q, k, v, dots, scaled, allowed, masked, weights, out,
                            w_all[batch, head, query])


# ---------------------------------------------------------------------------------------------
# Head ablation.
# ---------------------------------------------------------------------------------------------

def ablation_accuracy(model, task, examples, heads: dict | None = None) -> dict:
    """Answer `examples` greedily with the given heads switched off; grade the answers.

    heads: {"decoder.0.self_attn": [1, 3], ...} (the capture module's head ablation, which
    zeroes those heads' outputs before the output projection). Returns {"seq_acc",
    "token_acc", "answers"} with answers as in `Snapshot.answers` (input, expected, predicted,
    correct, token_correct, ...); token accuracy counts expected tokens answered right in place.
    """
    with ablate_heads(model, heads or {}):
        predictions = predict(model, task, [ex.src for ex in examples])
    answers = grade_answers(task, examples, predictions)
    right = sum(sum(a["token_correct"]) for a in answers)
    total = sum(max(len(a["expected_tokens"]), 1) for a in answers)
    return {"seq_acc": sum(a["correct"] for a in answers) / max(len(answers), 1),
            "token_acc": right / max(total, 1), "answers": answers}
