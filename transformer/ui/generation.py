"""The parts of the Generate page a lesson can reuse: the output layer with a model's real
numbers, and the text of a generation with each written token marked.

The numbers come from `transformer.decoding.output_layer` (the final hidden vector h, the
unembedding W, logits = h·Wᵀ + b checked against the model's own, the softmax, −log p of the
true token beside ln V); the figures from `transformer.figures.generation`.
"""
from __future__ import annotations

import html
import math
from typing import Callable, Sequence

import streamlit as st

from ..figures import generation as gfigs
from ..figures.attention import vector_figure
from .text import code

LN2 = math.log(2)
TOP_N = 12  # candidates shown in the output layer's bars and rows


def shown_token(token: str) -> str:
    """A token as a person reads it in running text: a space as "␣", a newline as "↵"."""
    return str(token).replace(" ", "␣").replace("\n", "↵").replace("\t", "⇥")


def top_ids(probs, n: int = TOP_N) -> list[int]:
    """Ids of the n most likely tokens, most likely first (ties: the lower id)."""
    import torch

    return torch.sort(torch.as_tensor(probs), descending=True, stable=True).indices[:n].tolist()


def writable_logits(step, task):
    """A trace step's logits [V] as numpy, -inf where the model may not write (the character
    model never writes a special token, as `decoding.Prompt.writable` rules)."""
    logits = step.logits.clone().double()
    if task.kind == "text":
        logits[sorted(task.vocab.special_ids)] = float("-inf")
    return logits.numpy()


def parameter_note(model, out: dict) -> str:
    """One sentence on the unembedding's share of the model's parameters, and what tying changes
    (counted for the model's config with and without `tie_weights`, `build.parameter_count`)."""
    from dataclasses import replace

    from ..build import parameter_count

    V, d = out["W"].shape
    cfg = model.cfg
    tied, untied = parameter_count(replace(cfg, tie_weights=True)), parameter_count(replace(cfg, tie_weights=False))
    if out.get("tied"):
        return (f"Weight tying: the unembedding is the embedding table ({V} × {d} = {V * d:,} numbers), stored once: "
                f"this model has {tied:,} parameters, {untied - tied:,} fewer than without tying.")
    head = V * d + (V if out["b"] is not None else 0)
    return (f"The unembedding holds {V} × {d} = {V * d:,} weights (+ {V} biases): {head / untied:.0%} of this model's "
            f"{untied:,} parameters. With weight tying (ModelConfig.tie_weights) the embedding table serves as W "
            f"too: {tied:,} parameters.")


def draw_output_layer(out: dict, plot: Callable, *, written: str | None = None, n: int = TOP_N) -> None:
    """The output layer for one position: h, the unembedding rows of the top tokens, logits,
    probabilities and the loss. `out` is `decoding.output_layer(...)`'s dict; `plot(fig, name)`
    draws a figure (the page's st.plotly_chart, or a lesson's ctx.plot)."""
    tokens, probs = out["tokens"], out["probs"]
    ids = top_ids(probs, n)
    true_id = out.get("true_id")
    h, W, b = out["h"], out["W"], out["b"]
    d = h.numel()
    st.markdown(
        f"**1 · The last hidden vector h** ({d} numbers): what the final layer (after its LayerNorm) knows "
        "about the position being written." + (f" The model is about to write {code(shown_token(written))}."
                                               if written is not None else ""))
    plot(vector_figure(h.numpy(), f"h, the last hidden vector (d_model = {d})", height=200), "hidden")
    tied = ("Here W is the token-embedding table itself (weight tying): the same vector that puts a token into "
            "the model scores it at the output." if out.get("tied") else
            "Here W is its own matrix, separate from the token embedding (no weight tying).")
    st.markdown(f"**2 · The unembedding.** Each token v has a row W[v] of {d} numbers; its logit is "
                f"z_v = h·W[v] + b_v, a sum of {d} products h_i·W[v]_i, one per cell below: blue cells push the "
                f"token up, red ones down. {tied}")
    plot(gfigs.unembedding_figure(h.numpy(), W[ids].numpy(), [tokens[i] for i in ids],
                                  bias=None if b is None else b[ids].numpy()), "unembedding")
    st.markdown("**3 · Logits → probabilities.** The softmax p_v = e^{z_v} / Σ_u e^{z_u} turns any scores into "
                f"positive numbers that sum to 1, over all {len(tokens)} tokens (the top {len(ids)} shown).")
    true_token = tokens[true_id] if true_id is not None else None
    plot(gfigs.output_layer_bars([tokens[i] for i in ids], out["logits"][ids].numpy(), probs[ids].numpy(),
                                 true_token=true_token), "bars")
    check = ("matches the model's own output" if out.get("matches") else "differs from the model's own output")
    st.caption(f"h·Wᵀ + b computed here {check} to within {out['max_abs_diff']:.1e}. Entropy of this distribution: "
               f"{out['entropy'] / LN2:.2f} bits (0 = certain; log₂ {len(tokens)} = {math.log2(len(tokens)):.2f} "
               "bits = no idea).")
    if out.get("loss") is not None:
        p_true = float(probs[true_id])
        st.markdown(f"**4 · The loss.** The data says the next token is {code(shown_token(true_token))}: the model "
                    f"gave it p = {p_true:.3f}, so this position adds −ln p = **{out['loss']:.3f}** nats to the "
                    f"loss. A model that knows nothing spreads p evenly, 1/{len(tokens)}, and pays ln V = "
                    f"**{out['ln_V']:.3f}**.")
        plot(gfigs.loss_bars(out["loss"], out["ln_V"], token=true_token), "loss")
    else:
        st.markdown(f"**4 · The loss** needs a true next token, and a prompt of your own has none. Untrained, a model "
                    f"pays ln V = {out['ln_V']:.3f} nats per token (V = {len(tokens)}); pick an example to see "
                    "what this one pays.")


def beam_steps(history: Sequence[Sequence]) -> list[list[dict]]:
    """A beam search's pools after each step (`beam_search(..., history=[])`) as the nodes
    `figures.generation.beam_tree` draws: per step, per kept beam, the token it added, its score
    and its parent's rank in the step before. A beam that had already finished (written <eos>)
    is carried along as "✓" from itself."""
    steps = []
    for t, pool in enumerate(history):
        prev = history[t - 1] if t else []
        row = []
        for b in pool:
            grew = len(b.ids) == t + 1
            parent = next((j for j, p in enumerate(prev) if p.ids == (b.ids[:t] if grew else b.ids)), 0)
            row.append({"token": b.steps[-1][0] if grew else "✓", "score": b.log_prob, "parent": parent})
        steps.append(row)
    return steps


def written_html(prompt: str, steps: Sequence, at: int | None = None, *, joiner: str = "",
                 separator: str = "") -> str:
    """The prompt and the written tokens as HTML (every piece escaped): forced tokens underlined,
    the step `at` highlighted, each token's probability in its hover title. `separator` goes
    between the prompt and the answer (" → " for a task; "" for text that continues)."""
    parts = []
    for i, step in enumerate(steps):
        cls = ["tlab-g-tok"] + (["tlab-g-forced"] if step.forced else []) + (["tlab-g-at"] if i == at else [])
        title = f"step {i + 1}: p = {step.prob:.3f}" + (" (your choice)" if step.forced else "")
        parts.append(f'<span class="{" ".join(cls)}" title="{html.escape(title)}">{html.escape(step.token)}</span>')
    return (WRITTEN_CSS + f'<div class="tlab-g-written"><span class="tlab-g-prompt">{html.escape(prompt)}</span>'
            + html.escape(separator) + html.escape(joiner).join(parts) + "</div>")


WRITTEN_CSS = """<style>
.tlab-g-written { font-family: "Source Code Pro", monospace; font-size: 1.15em; white-space: pre-wrap;
                  word-break: break-word; line-height: 1.9; }
.tlab-g-prompt { color: #555; }
.tlab-g-tok { padding: 1px 1px; border-radius: 3px; }
.tlab-g-forced { text-decoration: underline 2px #D55E00; }
.tlab-g-at { background: #F0E442; outline: 2px solid #E69F00; }
</style>"""


def nonsense_report(task, text: str, probs: Sequence[float]) -> dict:
    """Words the model wrote that never occur in its training text, and how sure it was.

    Returns {"words": every word of 3+ letters written, "invented": those not in the training
    text (in order, once each), "mean_p": the mean probability of the written characters}.
    """
    import re

    corpus_words = set(re.findall(r"[A-Za-z]{3,}", getattr(task, "text", "").lower()))
    words = re.findall(r"[A-Za-z]{3,}", text.lower())
    invented = list(dict.fromkeys(w for w in words if w not in corpus_words))
    return {"words": words, "invented": invented, "mean_p": sum(probs) / len(probs) if probs else 0.0}


def nonsense_note(report: dict) -> str:
    """One paragraph that says what this generation shows (plain text inside Markdown)."""
    words, invented, mean_p = report["words"], report["invented"], report["mean_p"]
    if not words:
        return "It wrote no whole words of three or more letters this time: generate a longer text."
    if invented:
        examples = ", ".join(code(w) for w in invented[:5])
        return (f"**Fluent nonsense, said with confidence:** {len(invented)} of the {len(set(words))} different words "
                f"it wrote never occur in its training text (for example {examples}), yet it gave the characters "
                f"it wrote an average probability of {mean_p:.0%}. The model learned what text *looks like*, "
                "letter by letter; nothing in it checks that a word exists or a sentence is true. Large language "
                "models hallucinate for the same reason, at a larger scale.")
    return (f"Every word it wrote occurs in its training text, at an average probability of {mean_p:.0%} per "
            "character: at this temperature it mostly recites. Raise the temperature to see it invent words.")


def output_layer_widget(ctx) -> None:
    """Lesson part "output_layer": the output layer of a trained model with its real numbers.

    Parameters (`course.WIDGET_SPECS`): task (default "charlm"), arch (default "decoder"), and
    prompt (a text to continue or a question, default the task's first example). The model is the
    lesson's own (`lesson_models.lesson_model`: trained on demand, or the session's current one).
    """
    from ..analysis.inspection import parse_input
    from ..decoding import output_layer
    from ..runs.snapshot import as_question
    from ..tasks import MAX_INPUT_CHARS
    from .lesson_models import lesson_model

    current = lesson_model(ctx.get("task", "charlm"), ctx.get("arch", "decoder"), ctx.seed, ctx.key)
    if current is None:
        return
    model, task = current.model, current.task
    question = as_question(task, task.examples(1, seed=ctx.seed + 7)[0])
    example = task.format_src(question.src)
    with ctx.controls():
        text = st.text_input("the input the model reads" if task.kind != "text" else "the text it continues",
                             value=ctx.get("prompt", example), key=f"{ctx.key}.prompt", max_chars=MAX_INPUT_CHARS)
    src = parse_input(task, text, model.cfg.max_len if model.cfg.layout == "lm" else None)  # ValueError: a sentence
    true_token = question.tgt[0] if task.kind == "text" and src == list(question.src) and question.tgt else None
    out = output_layer(model, task, src, [], true_token=true_token)
    draw_output_layer(out, ctx.plot)
    if out["true_id"] is not None:
        ctx.report("p_true_pct", 100 * float(out["probs"][out["true_id"]]))
    ctx.report("loss", out["loss"])
    ctx.report("ln_vocab", out["ln_V"])
    ctx.report("vocab_size", len(out["tokens"]))
    ctx.report("entropy_bits", out["entropy"] / LN2)
    ctx.report("d_model", out["h"].numel())
    st.caption(parameter_note(model, out) + " Step through a whole generation on the Generate page.")
