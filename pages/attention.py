"""Attention explorer: what every head of a trained model looks at, and why.

For the session's model (its run, an uploaded checkpoint, or a preset trained here) and an
input typed or picked: one head's heatmap with the causal mask explained, every head at once
with a line describing each, the head view (lines between tokens), one query computed step by
step from the model's real q, k and v, attention over training time in sync with the loss
curve, head ablation, the induction-head demo, and where attention stops being an explanation.
The numbers come from `transformer.inspection` and `transformer.interpret`; the figures from
`transformer.figures.attention`.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from transformer.figures import attention as figs
from transformer.inspection import InputTooLong, ablation_accuracy, parse_input, query_walkthrough, run_attention
from transformer.interpret import (
    INDUCTION_DEMO,
    describe_head,
    describe_heads,
    detect_formation,
    head_scores_over_time,
    induction_demo_configs,
)
from transformer.runs.live import ACTIVE, LiveRun
from transformer.snapshot import as_question, model_from_snapshot
from transformer.ui.session import get_lab, set_run
from transformer.ui.widgets import ensure_model_widget, show_answers

K = "att."  # prefix of this page's widget keys
ARCHS = ("decoder", "encoder-decoder", "encoder")
N_ABLATION = 24  # validation examples graded with and without the ablated heads
CUSTOM = "✎ type your own…"


def layer_label(name: str) -> str:
    """"decoder.1.self_attn" -> "decoder layer 1 · self-attention"."""
    stack, layer, kind = name.split(".")
    what = {"self_attn": "self-attention", "cross_attn": "cross-attention (decoder → encoder)"}[kind]
    return f"{stack} layer {layer} · {what}"


def head_label(name: str, head: int) -> str:
    stack, layer, kind = name.split(".")
    return f"{stack[0].upper()}{layer} {'cross' if kind == 'cross_attn' else 'self'} · head {head}"


def start_induction_demo() -> None:
    task, model_cfg, train_cfg = induction_demo_configs()
    # Snapshots every 10 steps: the head forms within a few dozen steps, and the film needs frames there.
    run = LiveRun(task, model_cfg, train_cfg, snapshot_every=10, snapshot_min_s=0.0, snapshot_budget=0.25).start()
    set_run(run, origin="preset")


def induction_button(label: str) -> None:
    st.button(f"{label} (about {INDUCTION_DEMO['seconds']} s)", key=K + "induction_demo",
              on_click=start_induction_demo)


def memo(key: tuple, compute):
    """Keep the last few results of slow calls (generation, ablation) across reruns."""
    store = st.session_state.setdefault(K + "memo", {})
    if key not in store:
        if len(store) > 16:
            store.pop(next(iter(store)))
        store[key] = compute()
    return store[key]


def set_text(text: str) -> None:
    st.session_state[K + "example"] = CUSTOM
    st.session_state[K + "text"] = text


# --------------------------------------------------------------------------- the model

st.title("Attention: what every head looks at")
st.markdown(
    "Each attention head lets every token (a **query**) look at the tokens it may see (the **keys**) and "
    "take a weighted average of what they carry (the **values**). The weights are what this page shows: "
    "one row per query, summing to 1."
)
current = ensure_model_widget(task_default="reverse", archs=ARCHS, key=K + "model")
if current is None:
    lab = get_lab()
    if lab.run is None or lab.run.status not in ACTIVE:
        induction_button("…or train the induction-head demo")
    st.stop()

task, snapshots = current.task, current.snapshots
model_key = (current.label, current.source)
model = current.model
history = current.run.history if current.run is not None else []
loss_steps = [r["step"] for r in history]
losses = [r["loss"] for r in history]
step = None
# Old snapshots may have let their weights go (a run's history is bounded in bytes): the model can
# be rebuilt only at the steps that kept them. The maps over training below use every snapshot.
weighted = [s for s in snapshots if s.has_weights]
if len(weighted) > 1:
    steps = [s.step for s in weighted]
    # Follow the newest snapshot while a run trains, unless the person has scrubbed back.
    chosen = st.session_state.get(K + "step")
    if chosen not in steps or chosen == st.session_state.get(K + "newest"):
        st.session_state[K + "step"] = steps[-1]
    st.session_state[K + "newest"] = steps[-1]
    left, right = st.columns([3, 2])
    step = left.select_slider("look at the model as it was at training step", options=steps, key=K + "step",
                              help="Every figure on this page uses the model from this snapshot.")
    right.plotly_chart(figs.loss_with_marker(loss_steps, losses, step, title="Training loss (◆ = this snapshot)",
                                             height=220), key=K + "loss_marker")
    if step != steps[-1]:
        snap = weighted[steps.index(step)]
        model = memo(("model",) + model_key + (step,), lambda: model_from_snapshot(snap, current.model.cfg))
    model_key = model_key + (step,)

# --------------------------------------------------------------------------- the input

# A text model continues a prompt: offer the first half of a window, leaving it room to write.
examples = [task.format_src(as_question(task, ex).src) for ex in task.examples(6, seed=7)]
choice = st.selectbox("input", examples + [CUSTOM], key=K + "example")
if choice == CUSTOM:
    text = st.text_input("type an input for the model", key=K + "text", placeholder=examples[0])
else:
    text = choice
try:
    src = parse_input(task, text, model.cfg.max_len if model.cfg.layout == "lm" else None)
except InputTooLong as err:
    st.warning(str(err))
    st.button(f"Truncate to “{err.fits}”", key=K + "truncate", on_click=set_text, args=(err.fits,))
    st.stop()
except ValueError as err:
    st.error(str(err))
    st.stop()

run = memo(("run",) + model_key + (tuple(src),), lambda: run_attention(model, task, src))
try:
    expected = task.format_tgt(task.solve(src))
except Exception:  # a text prompt has no single right answer
    expected = None
answer = task.format_tgt(run.answer)
st.markdown(f"Model's answer: **`{answer or '(nothing)'}`**" + (f" · expected `{expected}`" if expected else ""))

names = run.names
c1, c2 = st.columns(2)
if st.session_state.get(K + "layer") not in names:
    st.session_state[K + "layer"] = names[-1]
name = c1.selectbox("attention layer", names, format_func=layer_label, key=K + "layer")
n_heads = run.weights(name).shape[0]
if st.session_state.get(K + "head", 0) >= n_heads:
    st.session_state[K + "head"] = 0
head = c2.selectbox("head", list(range(n_heads)), key=K + "head")
q_tokens, k_tokens = run.axes(name)
allowed = run.allowed(name)
weights = run.weights(name)

# --------------------------------------------------------------------------- 1 · one head

st.header("1 · One head")
desc = describe_head(weights[head], q_tokens, k_tokens, causal=run.is_causal(name))
st.plotly_chart(figs.attention_heatmap(weights[head], q_tokens, k_tokens,
                                       allowed=None if allowed.all() else allowed,
                                       title=f"{layer_label(name)}, head {head}:<br>{desc.text}"),
                key=K + "heatmap")
st.caption("Rows are queries (the token doing the looking), columns are keys (what it looks at); each row "
           "sums to 1. Hover over a cell for the exact weight. Colour scale fixed to 0..1 (Viridis).")
if run.is_causal(name):
    with st.expander("Why the upper-right triangle is grey: the causal mask"):
        st.markdown("A decoder writes one token at a time, so while training it must not peek at the tokens it "
                    "is about to predict. Before the softmax, every score of a later key is set to −∞, which "
                    "the softmax turns into a weight of exactly 0. Row *i* may only look at columns 0 … *i*.")
        st.latex(r"\text{score}_{ij} = \begin{cases} q_i \cdot k_j / \sqrt{d_k} & j \le i \\ -\infty & j > i"
                 r"\end{cases}")
        st.plotly_chart(figs.causal_mask_figure(q_tokens), key=K + "mask")
if name.endswith("cross_attn"):
    st.info("Cross-attention: each row is a token the decoder is about to write; the columns are the "
            "encoder's input. In the date task the row that writes the month digits should look at the month "
            "word (\"Nov\" → \"11\") — an alignment, learned from examples only.")

# --------------------------------------------------------------------------- 2 · all heads

st.header("2 · Every head at once")
groups: dict = {}
for n in names:
    groups.setdefault(tuple(map(tuple, run.axes(n))), []).append(n)
for i, members in enumerate(groups.values()):
    qg, kg = run.axes(members[0])
    layers = {n: run.weights(n) for n in members}
    lines = {n: [d.short for d in describe_heads(layers[n], qg, kg, causal=run.is_causal(n))] for n in members}
    mask = run.allowed(members[0])
    kind = "cross-attention" if members[0].endswith("cross_attn") else f"{members[0].split('.')[0]} self-attention"
    st.plotly_chart(figs.attention_grid(layers, qg, kg, descriptions=lines, allowed=None if mask.all() else mask,
                                        title=f"Every head of the {kind}: which one looks where?"),
                    key=K + f"grid{i}")
st.caption("Under each panel: its strongest pattern and the share of attention that follows it, then the "
           "entropy (0 bits = all weight on one key; higher = spread out).")

# --------------------------------------------------------------------------- 3 · head view

st.header("3 · The same weights as lines")
c1, c2 = st.columns(2)
view_heads = c1.multiselect("heads to overlay", list(range(n_heads)), default=[head], key=K + f"view_heads.{name}")
positions = list(range(len(q_tokens)))
query = c2.selectbox("lines from", [None] + positions, key=K + f"view_query.{name}",
                     format_func=lambda p: "every query" if p is None else f"{p}: {q_tokens[p]}")
if view_heads:
    st.plotly_chart(figs.head_view(weights, q_tokens, k_tokens, heads=view_heads, query=query), key=K + "head_view")
    st.caption("The view popularised by BertViz: line opacity is the weight; one colour per head.")
else:
    st.info("Pick at least one head to draw.")

# --------------------------------------------------------------------------- 4 · step by step

st.header("4 · One query, step by step")
if st.session_state.get(K + "qpos") not in positions:
    st.session_state[K + "qpos"] = positions[-1]
qpos = st.select_slider("query token", options=positions, format_func=lambda p: f"{p}: {q_tokens[p]}", key=K + "qpos")
wt = query_walkthrough(run.cache, name, query=qpos, head=head)
d_k = wt.d_head
steps_shown = [
    (r"q_i = x_i W_Q", f"The query of “{q_tokens[qpos]}” ({d_k} numbers).",
     figs.vector_figure(wt.q, "query vector q")),
    (r"k_j = x_j W_K", "One key per token it may look at.",
     figs.matrix_figure(wt.k, k_tokens, "keys k (one row each)")),
    (r"s_j = q_i \cdot k_j", "How well each key matches the query.",
     figs.score_bars(wt.dots, k_tokens, "dot products")),
    (rf"s_j \,/\, \sqrt{{d_k}} = s_j / \sqrt{{{d_k}}}", "Scaled so the softmax does not saturate as d_k grows.",
     figs.score_bars(wt.scaled, k_tokens, "scaled scores")),
    (r"s_j = -\infty \text{ where masked}", "Keys the mask hides (later tokens in a decoder).",
     figs.score_bars(wt.masked, k_tokens, "after the mask", allowed=wt.allowed)),
    (r"a_j = \frac{e^{s_j}}{\sum_l e^{s_l}}", "Softmax: positive weights that sum to 1 — one row of the heatmap.",
     figs.score_bars(wt.weights, k_tokens, "attention weights", allowed=wt.allowed, probability=True)),
    (r"z_i = \sum_j a_j v_j", "The output: the values, mixed by those weights.",
     figs.vector_figure(wt.out, "output z (weighted sum of the values)")),
]
for i, (formula, words, fig) in enumerate(steps_shown):
    left, right = st.columns([2, 5])
    left.latex(formula)
    left.caption(words)
    right.plotly_chart(fig, key=K + f"step{i}")
with st.expander("the values v that are mixed"):
    st.plotly_chart(figs.matrix_figure(wt.v, k_tokens, "values v (one row each)"), key=K + "values")
note = " (after the rotary rotation)" if model.cfg.pos_encoding == "rope" else ""
st.success(f"Recomputed by hand from the captured q and k{note}: the weights match the model's own to within "
           f"{wt.max_abs_error:.1e}.")

# --------------------------------------------------------------------------- 5 · over training time

st.header("5 · Attention over training time")
if len(snapshots) < 2:
    st.info("An uploaded checkpoint has no training history. Train a model (or the induction demo below) "
            "to watch its attention form.")
else:
    probe = snapshots[-1].probe_tgt_tokens if name.startswith("decoder") and snapshots[-1].probe_tgt_tokens else None
    rows_q = probe or snapshots[-1].probe_tokens
    rows_k = snapshots[-1].probe_tokens if name.endswith("cross_attn") else rows_q
    row = st.selectbox("probe example (fixed during training)", list(range(len(rows_q))), key=K + "probe",
                       format_func=lambda r: " ".join(rows_q[r]))
    T, S = len(rows_q[row]), len(rows_k[row])
    frames = np.stack([np.asarray(s.attention[name])[row, head, :T, :S] for s in snapshots])
    mask = np.tril(np.ones((T, S), dtype=bool)) if run.is_causal(name) else None
    st.plotly_chart(figs.attention_over_training(frames, [s.step for s in snapshots], rows_q[row], rows_k[row],
                                                 loss_steps=loss_steps, losses=losses, allowed=mask),
                    key=K + "film")
    st.caption("Press ▶ play or drag the slider: the ◆ on the loss curve moves with the frame. Early on the "
               "rows are nearly uniform; the pattern appears as the loss falls.")

# --------------------------------------------------------------------------- 6 · ablation

st.header("6 · Switch heads off")
all_heads = [(n, h) for n in names for h in range(run.weights(n).shape[0])]
off = st.multiselect("heads to switch off (their output is set to zero)", all_heads, key=K + "ablate",
                     format_func=lambda nh: head_label(*nh))
ablate: dict = {}
for n, h in off:
    ablate.setdefault(n, []).append(h)
graded = task.kind != "text"
val = task.examples(N_ABLATION, seed=4242)
base = memo(("abl",) + model_key, lambda: ablation_accuracy(model, task, val)) if graded else None
if ablate:
    key = tuple(sorted((n, tuple(sorted(hs))) for n, hs in ablate.items()))
    after = memo(("abl",) + model_key + key, lambda: ablation_accuracy(model, task, val, ablate)) if graded else None
    ablated_run = memo(("run",) + model_key + (tuple(src),) + key, lambda: run_attention(model, task, src, ablate))
    st.markdown(f"Answer to your input with {len(off)} head{'s' * (len(off) > 1)} off: "
                f"**`{task.format_tgt(ablated_run.answer) or '(nothing)'}`** (was `{answer or '(nothing)'}`)")
else:
    after = base
if graded:
    c1, c2 = st.columns(2)
    c1.metric(f"sequence accuracy on {N_ABLATION} examples", f"{after['seq_acc']:.0%}",
              delta=f"{after['seq_acc'] - base['seq_acc']:+.0%}" if ablate else None)
    c2.metric("token accuracy", f"{after['token_acc']:.0%}",
              delta=f"{after['token_acc'] - base['token_acc']:+.0%}" if ablate else None)
    show_answers(after["answers"][:6], task)
if not ablate:
    st.caption("Pick heads above: the answers and accuracy are recomputed with those heads silenced. A head whose "
               "removal breaks the task is one the model relies on.")

# --------------------------------------------------------------------------- 7 · induction heads

st.header("7 · How an induction head forms")
st.markdown("On a random sequence repeated twice, the second copy can be predicted by a two-step circuit: a "
            "**previous-token head** in layer 0 writes \"my predecessor was *x*\" into each position, then an "
            "**induction head** in layer 1 finds the earlier position whose predecessor matches the current "
            "token and copies what came next. It forms suddenly, after a plateau of the loss.")
if task.name == "induction" and len(snapshots) > 2:
    s_steps, induction = head_scores_over_time(snapshots, "induction")
    _, previous = head_scores_over_time(snapshots, "previous")
    curves = {f"{head_label(n, h)} induction": v[:, h] for n, v in induction.items() for h in range(v.shape[1])}
    first = min(previous)  # layer 0: where the previous-token head has to be
    curves.update({f"{head_label(first, h)} previous-token": previous[first][:, h]
                   for h in range(previous[first].shape[1])})
    formed = detect_formation(s_steps, induction, loss_steps, losses)
    st.plotly_chart(figs.head_score_curves(loss_steps, losses, s_steps, curves, score_name="score",
                                           formation_step=formed.step if formed else None,
                                           loss_drop_step=formed.loss_step if formed else None), key=K + "induction")
    if formed:
        st.success(f"The induction head {head_label(formed.name, formed.head)} formed at step {formed.step}: its score "
                   f"rose from {formed.score_before:.2f} to {formed.score_after:.2f}, while the loss fell from "
                   f"{formed.loss_before:.2f} to {formed.loss_after:.3f} (halfway by step {formed.loss_step}).")
    else:
        st.info("No head's induction score has jumped yet: keep training, or train the demo preset.")
else:
    cfg = INDUCTION_DEMO["model"]
    st.caption(f"The demo: a {cfg['n_layers']}-layer decoder with {cfg['n_heads']} head per layer, d_model "
               f"{cfg['d_model']}, d_ff {cfg['d_ff']}, rotary positions, {INDUCTION_DEMO['train']['steps']} steps "
               "on repeated random letters. It replaces this session's current model.")
    induction_button("Train the induction-head demo")

# --------------------------------------------------------------------------- 8 · limits

st.header("8 · What attention does not tell you")
st.markdown(
    "- **Weights are not the whole story.** A head with weight 0.9 on a token may still pass little of it on, if "
    "that token's value vector is small; and the residual stream carries information around every head.\n"
    "- **Cross-attention is not always alignment.** The decoder often looks at a neighbour of the source token, "
    "or at several, and still writes the right answer (e.g. both month digits from one month word).\n"
    "- **Sink tokens.** Heads with nothing useful to do often park their weight on the first token (`<bos>`): "
    "a bright first column means \"no-op\", not \"this token matters\".\n"
    "- **Correlation, not cause.** Switching a head off (section 6) is a stronger test than looking at it."
)
