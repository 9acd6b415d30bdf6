"""Turning a trained model's scores into tokens: greedy, temperature and top-k sampling.

`generate` extends a language model's sequence one token at a time; `generate_seq2seq`
encodes a source once and writes the target the same way. `predict` answers task inputs
whatever the model family, so pages and the CLI need not know how each one is fed.
"""
from __future__ import annotations

import torch


def sample_next(logits: torch.Tensor, temperature: float = 0.0, top_k: int | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """logits [B, V] -> token ids [B]. temperature 0 is greedy (argmax).

    Dividing by the temperature sharpens (< 1) or flattens (> 1) the distribution; top-k keeps
    only the k most likely tokens before sampling.
    """
    if temperature <= 0:
        return logits.argmax(dim=-1)
    # Shifted so the largest logit is 0 first: a tiny temperature then sends the others to
    # -inf (greedy in the limit) instead of every logit to ±inf and the softmax to NaN; and no
    # smaller than float32 can hold (5e-324 is 0 there, and 0 / 0 is NaN).
    logits = (logits - logits.max(dim=-1, keepdim=True).values) / max(temperature, 1e-30)
    if top_k is not None and 0 < top_k < logits.size(-1):
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]  # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


@torch.no_grad()
def generate(model, idx: torch.Tensor, max_new_tokens: int, temperature: float = 0.0,
             top_k: int | None = None, eos_id: int | None = None, generator=None) -> torch.Tensor:
    """Language model: idx [B, T] -> [B, T + n] (stops early when every row has written eos_id)."""
    max_len = getattr(model.cfg, "max_len", None)
    done = torch.zeros(idx.size(0), dtype=torch.bool, device=idx.device)
    for _ in range(max_new_tokens):
        context = idx if max_len is None else idx[:, -max_len:]
        logits, _ = model(context)
        nxt = sample_next(logits[:, -1], temperature, top_k, generator)  # (B,)
        idx = torch.cat([idx, nxt[:, None]], dim=1)
        if eos_id is not None:
            done |= nxt == eos_id
            if done.all():
                break
    return idx


@torch.no_grad()
def generate_seq2seq(model, src: torch.Tensor, bos_id: int, max_new_tokens: int,
                     eos_id: int | None = None, temperature: float = 0.0, top_k: int | None = None,
                     generator=None) -> torch.Tensor:
    """Encoder-decoder: src [B, S] -> target ids [B, n] (without the leading BOS)."""
    memory = model.encode(src)
    tgt = torch.full((src.size(0), 1), bos_id, dtype=torch.long, device=src.device)
    done = torch.zeros(src.size(0), dtype=torch.bool, device=src.device)
    for _ in range(max_new_tokens):
        logits = model.decode(tgt, memory, src)
        nxt = sample_next(logits[:, -1], temperature, top_k, generator)
        tgt = torch.cat([tgt, nxt[:, None]], dim=1)
        if eos_id is not None:
            done |= nxt == eos_id
            if done.all():
                break
    return tgt[:, 1:]


def until_eos(ids: list[int], vocab) -> list[str]:
    """Token strings up to (not including) the first EOS."""
    out = []
    for i in ids:
        if i == vocab.eos_id:
            break
        out.append(vocab.tokens[i])
    return out


@torch.no_grad()
def predict(model, task, srcs: list[list[str]], max_new_tokens: int | None = None) -> list[list[str]]:
    """Greedy answers of `model` to task inputs (lists of tokens), as lists of tokens."""
    from .tasks import make_batch
    from .tasks.base import Example

    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    vocab = task.vocab
    layout = model.cfg.layout
    n_new = max_new_tokens or task.max_len(layout)
    try:
        if layout == "tag":
            batch = make_batch(task, [Example(s, _placeholder(task, s)) for s in srcs], "tag", device)
            logits = batch.forward(model)
            ids = logits.argmax(-1).tolist()
            if task.kind == "classify":
                return [[vocab.tokens[row[0]]] for row in ids]
            return [[vocab.tokens[i] for i in row[: len(s)]] for row, s in zip(ids, srcs)]
        # Prompts of equal length go through generation together (one forward per new token
        # for the whole group); the probes of a task mostly share one length.
        answers: list[list[str]] = [[] for _ in srcs]
        groups: dict[int, list[int]] = {}
        for i, s in enumerate(srcs):
            groups.setdefault(len(s), []).append(i)
        for rows in groups.values():
            if layout == "seq2seq":
                src = torch.tensor([vocab.encode(srcs[i]) for i in rows], device=device)
                out = generate_seq2seq(model, src, vocab.bos_id, n_new, vocab.eos_id).tolist()
            else:
                sep = [vocab.sep_id] if task.kind != "text" else []
                prompt = torch.tensor([[vocab.bos_id] + vocab.encode(srcs[i]) + sep for i in rows], device=device)
                out = generate(model, prompt, n_new, eos_id=vocab.eos_id)[:, prompt.size(1):].tolist()
            for i, ids in zip(rows, out):
                answers[i] = until_eos(ids, vocab)
        return answers
    finally:
        model.train(was_training)


def _placeholder(task, src):
    """A dummy target with the right shape for batching an input we only want to read."""
    if task.kind == "classify":
        return [task.classes[0]]
    return list(src)
