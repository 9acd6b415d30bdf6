"""The character model on the Train page: a person's own text in, sampled continuations out.

A character model has no single right answer to grade: "the model is" may go on as " learning"
or " a stack" and both are good English. So the page grades it by its next-character accuracy
(the curves) and shows what it writes: a few continuations of held-out prompts, sampled at a
stated temperature with a fixed seed, so that from one snapshot to the next only the model
changes, not the dice.

    text = own_text_controls("train.")          # None: the built-in text
    show_samples(run, "train.samples")          # under the curves, while it trains
"""
from __future__ import annotations

import html
import math
import time

import streamlit as st
import torch

from ..decoding import sample_next
from ..tasks.charlm import MAX_TEXT_CHARS
from .state import KEEP
from .text import plain
from .uploads import take_upload

SAMPLE_TEMPERATURE = 0.8  # below 1: fewer typos than the raw distribution, still not greedy's loops
SAMPLE_SEED = 0
SAMPLE_CHARS = 60  # characters written after each prompt
N_SAMPLES = 3
SAMPLE_EVERY_S = 4.0  # while training, new samples at most this often (each costs the server CPU)
TEXT_FILE_MB = 8  # MAX_TEXT_CHARS characters of UTF-8 take at most 4 bytes each


# --------------------------------------------------------------------------- sampling (torch only)


@torch.no_grad()
def sampled_continuations(model, task, prompts: list[list[str]], max_new_tokens: int = SAMPLE_CHARS,
                          temperature: float = SAMPLE_TEMPERATURE, seed: int = SAMPLE_SEED) -> list[str]:
    """What a character model writes after each prompt (lists of characters), sampled.

    One torch.Generator seeded with `seed` draws for all the prompts, so the same model, prompts
    and seed give the same text. The model reads at most its `max_len` last positions. The
    special tokens (<pad>, <bos>, ...) are never drawn: no training target is one, so they are
    not writing, only the untrained model's noise.
    """
    model.eval()
    vocab = task.vocab
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    specials = torch.tensor(sorted(vocab.special_ids), device=device)
    max_len = model.cfg.max_len
    out: list[str] = [""] * len(prompts)
    by_length: dict[int, list[int]] = {}  # prompts of one length are written together
    for i, prompt in enumerate(prompts):
        by_length.setdefault(len(prompt), []).append(i)
    for rows in by_length.values():
        idx = torch.tensor([[vocab.bos_id] + vocab.encode(prompts[i]) for i in rows], device=device)  # (B, T)
        start = idx.size(1)
        for _ in range(max_new_tokens):
            logits, _ = model(idx[:, -max_len:])  # (B, T, V)
            logits = logits[:, -1].float()  # (B, V): the next position
            logits[:, specials] = -math.inf
            nxt = sample_next(logits, temperature, generator=generator)  # (B,)
            idx = torch.cat([idx, nxt[:, None]], dim=1)
        for i, row in zip(rows, idx[:, start:].tolist()):
            out[i] = "".join(vocab.tokens[t] for t in row)
    return out


def prompts_of(run, n: int = N_SAMPLES) -> list[list[str]]:
    """The first half of each of the run's probe windows (cut from the held-out text)."""
    return [list(ex.src[: len(ex.src) // 2]) for ex in run.probe[:n]]


# --------------------------------------------------------------------------- the page's parts


def show_samples(run, state_key: str) -> None:
    """A few sampled continuations from the run's newest snapshot, with the settings that made them.

    While the run trains they are redrawn at most every SAMPLE_EVERY_S seconds (building the
    model and writing 180 characters takes the server's CPU away from the run beside it).
    """
    snapshot = run.latest()
    if snapshot is None or not snapshot.has_weights:
        st.caption("Samples appear with the first snapshot, a moment after training starts.")
        return
    kept = st.session_state.get(state_key)
    fresh_enough = (kept is not None and kept["run"] is run and run.status == "training"
                    and time.monotonic() - kept["at"] < SAMPLE_EVERY_S)
    if kept is None or kept["run"] is not run or (kept["step"] != snapshot.step and not fresh_enough):
        prompts = prompts_of(run)
        texts = sampled_continuations(run.model_copy(snapshot), run.task, prompts)
        kept = {"run": run, "step": snapshot.step, "at": time.monotonic(), "rows": list(zip(prompts, texts))}
        st.session_state[state_key] = kept
    st.caption(f"At step {kept['step']}: what the model writes after prompts from the held-out part of the text, "
               f"sampled at temperature {SAMPLE_TEMPERATURE} with seed {SAMPLE_SEED} (the same seed at every step, "
               "so what changes is the model). There is no one right continuation: the accuracy curve above grades "
               "the next character; the Generate page lets you sample yourself.")
    with st.container(key="samples"):
        st.markdown(samples_html(kept["rows"]), unsafe_allow_html=True)


def _shown(text: str) -> str:
    # Escaped (a person's text may hold HTML), and a line break visible as one character.
    return html.escape(text).replace("\n", "↵")


def samples_html(rows) -> str:
    """An HTML table of (prompt characters, continuation) pairs: the prompt grey, the sample bold."""
    body = "".join(
        f'<tr><td><code style="color:#555">{_shown("".join(prompt))}</code></td>'
        f"<td><code><b>{_shown(text)}</b></code></td></tr>"
        for prompt, text in rows
    )
    return ('<table class="tlab-samples" style="width:100%"><tr><th>prompt (held-out text)</th>'
            f"<th>the model goes on (sampled)</th></tr>{body}</table>")


def _decoded(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("The file is not UTF-8 text: save it as plain text (UTF-8) and load it again.") from None


def own_text_controls(prefix: str) -> str | None:
    """A box to paste a text and a .txt uploader that fills it; returns the text, or None for
    the built-in one. Its limits are the task's (`CharLM.check_params`): the page validates
    the text with the settings, before Train can be pressed, one sentence per problem."""
    key = prefix + "text"
    box = st.container()  # the text box goes above the uploader, but is drawn after it: an
    # upload fills the box's value, which Streamlit allows only before the box is drawn
    taken = take_upload("…or load a .txt file", key=prefix + "text_file", type=["txt"],
                        max_upload_size=TEXT_FILE_MB)
    if taken is not None:
        name, data = taken
        try:
            st.session_state[key] = _decoded(data)
            st.session_state[prefix + "text_error"] = None
        except ValueError as err:
            st.session_state[prefix + "text_error"] = str(err)
        st.rerun()
    if st.session_state.get(prefix + "text_error"):
        st.error(plain(st.session_state[prefix + "text_error"]))
    box.text_area("Your own text (optional)", key=key, height=110, persist_state=KEEP,
                 placeholder="Empty: the app's own text about transformers. Paste any text (a few thousand "
                             "characters or more) to train the model on it instead.",
                 help=f"Up to {MAX_TEXT_CHARS:,} characters. Its last 10% is held out for validation.")
    text = st.session_state.get(key) or ""
    if not text.strip():
        return None
    box.caption(f"Your text: {len(text):,} characters, {len(set(text))} different ones.")
    return text


__all__ = ["N_SAMPLES", "SAMPLE_CHARS", "SAMPLE_SEED", "SAMPLE_TEMPERATURE", "own_text_controls", "prompts_of",
           "sampled_continuations", "show_samples"]
