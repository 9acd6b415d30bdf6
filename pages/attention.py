"""Attention explorer: what every head of a trained model looks at, and why.

For the session's model (its run, an uploaded checkpoint, or a preset trained here) and an
input typed or picked, one tab at a time: one head's heatmap with the causal mask explained,
every head at once with a line describing each, the head view (lines between tokens), one query
computed step by step from the model's real q, k and v, attention over training time (a film the
browser plays and scrubs by itself), head ablation, the induction-head demo, and where attention
stops being an explanation. While the session's run trains, the page follows its newest snapshot.
The numbers come from `transformer.analysis.inspection` and `.interpret`; the figures from
`transformer.figures.attention`.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from transformer.figures import attention as figs
from transformer.analysis.inspection import ablation_accuracy, query_walkthrough, run_attention, trained_length_text
from transformer.analysis.interpret import describe_head, describe_heads, detect_formation, head_scores_over_time
from transformer.presets import INDUCTION_DEMO, induction_demo_configs
from transformer.runs.live import ACTIVE, LiveRun
from transformer.runs.snapshot import as_question
from transformer.tasks import MAX_INPUT_CHARS
from transformer.ui.session import current_model, get_lab, presenter_mode, set_run
from transformer.ui.state import memo
from transformer.ui.text import code, plain
from transformer.ui.widgets import CUSTOM, ensure_model_widget, parsed_input, show_answers

K = "att."  # prefix of this page's widget keys
ARCHS = ("decoder", "encoder-decoder", "encoder")
N_ABLATION = 24  # validation examples graded with and without the ablated heads
MEMO_SIZE = 17  # runs and ablations kept, so flipping back to an earlier example is instant
REFRESH_S = 2.0  # while a run trains: often enough to watch attention form, rarely enough to leave it the CPU
TABS = ("One head", "Every head", "As lines", "Step by step", "Over training", "Switch heads off",
        "Induction heads", "Limits")


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


def cached(inputs: tuple, compute):
    """The last results of slow calls (runs, generation, ablation), kept across reruns."""
    return memo(K + "memo", inputs, compute, keep=MEMO_SIZE)


def switch_all_on() -> None:
    st.session_state[K + "ablated"] = []
    st.session_state[K + "ablate"] = []


def remember_ablation() -> None:
    st.session_state[K + "ablated"] = list(st.session_state[K + "ablate"])


def model_identity(current) -> tuple:
    """Which model this is, the same at every step of one run: a new run or checkpoint changes it."""
    if current.source == "run":
        return ("run", get_lab().run_id)
    return ("checkpoint", current.label, id(current.model))


def on_new_model(identity: tuple) -> None:
    """A new model starts with every head on and nothing remembered of the previous one."""
    if st.session_state.get(K + "model_id") != identity:
        st.session_state[K + "model_id"] = identity
        switch_all_on()
        st.session_state.pop(K + "memo", None)
        st.session_state.pop(K + "example", None)


# --------------------------------------------------------------------------- the tabs


def explain_mask(q_tokens) -> None:
    st.markdown("A decoder writes one token at a time, so while training it must not peek at the tokens it is "
                "about to predict. Before the softmax, every score of a later key is set to −∞, which the softmax "
                "turns into a weight of exactly 0. Row *i* may only look at columns 0 … *i*.")
    st.latex(r"\text{score}_{ij} = \begin{cases} q_i \cdot k_j / \sqrt{d_k} & j \le i \\ -\infty & j > i"
             r"\end{cases}")
    st.plotly_chart(figs.causal_mask_figure(q_tokens), key=K + "mask")


def one_head(ctx) -> None:
    run, name, head = ctx["run"], ctx["name"], ctx["head"]
    q_tokens, k_tokens = run.axes(name)
    weights, allowed = run.weights(name), run.allowed(name)
    desc = describe_head(weights[head], q_tokens, k_tokens, causal=run.is_causal(name))
    st.plotly_chart(figs.attention_heatmap(weights[head], q_tokens, k_tokens,
                                           allowed=None if allowed.all() else allowed,
                                           title=f"{layer_label(name)}, head {head}:<br>{figs.escape(desc.text)}"),
                    key=K + "heatmap")
    st.caption("Rows are queries (the token doing the looking), columns are keys (what it looks at); each row "
               "sums to 1. Hover over a cell for the exact weight. Colour scale fixed to 0..1 (Viridis).")
    if run.is_causal(name):
        why = st.expander("Why the upper-right triangle is grey: the causal mask", key=K + "why_mask",
                          on_change="rerun")
        with why:  # drawn only while open
            if why.open:
                explain_mask(q_tokens)
    if name.endswith("cross_attn"):
        st.info("Cross-attention: each row is a token the decoder is about to write; the columns are the "
                "encoder's input. In the date task the row that writes the month digits should look at the month "
                "word (\"Nov\" → \"11\") — an alignment, learned from examples only.")


def every_head(ctx) -> None:
    run = ctx["run"]
    groups: dict = {}
    for n in run.names:
        groups.setdefault(tuple(map(tuple, run.axes(n))), []).append(n)
    for i, members in enumerate(groups.values()):
        qg, kg = run.axes(members[0])
        layers = {n: run.weights(n) for n in members}
        lines = {n: [d.short for d in describe_heads(layers[n], qg, kg, causal=run.is_causal(n))] for n in members}
        mask = run.allowed(members[0])
        kind = "cross-attention" if members[0].endswith("cross_attn") else f"{members[0].split('.')[0]} self-attention"
        st.plotly_chart(figs.attention_grid(layers, qg, kg, descriptions=lines, allowed=None if mask.all() else mask,
                                            large=presenter_mode(),
                                            title=f"Every head of the {kind}: which one looks where?"),
                        key=K + f"grid{i}")
    st.caption("Under each panel: its strongest pattern and the share of attention that follows it, then the "
               "entropy (0 bits = all weight on one key; higher = spread out).")


def as_lines(ctx) -> None:
    run, name, head = ctx["run"], ctx["name"], ctx["head"]
    q_tokens, k_tokens = run.axes(name)
    weights = run.weights(name)
    c1, c2 = st.columns(2)
    view_heads = c1.multiselect("heads to overlay", list(range(weights.shape[0])), default=[head],
                                key=K + f"view_heads.{name}")
    query = c2.selectbox("lines from", [None] + list(range(len(q_tokens))), key=K + f"view_query.{name}",
                         format_func=lambda p: "every query" if p is None else f"{p}: {q_tokens[p]}")
    if view_heads:
        st.plotly_chart(figs.head_view(weights, q_tokens, k_tokens, heads=view_heads, query=query),
                        key=K + "head_view")
        st.caption("The view popularised by BertViz: line opacity is the weight; one colour per head.")
    else:
        st.info("Pick at least one head to draw.")


def step_by_step(ctx) -> None:
    run, name, head, model = ctx["run"], ctx["name"], ctx["head"], ctx["model"]
    q_tokens, k_tokens = run.axes(name)
    positions = list(range(len(q_tokens)))
    if st.session_state.get(K + "qpos") not in positions:
        st.session_state[K + "qpos"] = positions[-1]
    qpos = st.select_slider("query token", options=positions, format_func=lambda p: f"{p}: {q_tokens[p]}",
                            key=K + "qpos")
    wt = query_walkthrough(run.cache, name, query=qpos, head=head)
    d_k = wt.d_head
    shown = [
        (r"q_i = x_i W_Q", f"The query of {plain(figs.token_label(q_tokens[qpos]))} ({d_k} numbers).",
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
    for i, (formula, words, fig) in enumerate(shown):
        left, right = st.columns([2, 5])
        left.latex(formula)
        left.caption(words)
        right.plotly_chart(fig, key=K + f"step{i}")
    with st.expander("the values v that are mixed"):
        st.plotly_chart(figs.matrix_figure(wt.v, k_tokens, "values v (one row each)"), key=K + "values")
    note = " (after the rotary rotation)" if model.cfg.pos_encoding == "rope" else ""
    st.success(f"Recomputed by hand from the captured q and k{note}: the weights match the model's own to within "
               f"{wt.max_abs_error:.1e}.")


def over_training(ctx) -> None:
    run, name, head, snapshots = ctx["run"], ctx["name"], ctx["head"], ctx["snapshots"]
    if len(snapshots) < 2:
        st.info("An uploaded checkpoint has no training history. Train a model (or the induction demo in the "
                "Induction heads tab) to watch its attention form.")
        return
    last = snapshots[-1]
    probe = last.probe_tgt_tokens if name.startswith("decoder") and last.probe_tgt_tokens else None
    rows_q = probe or last.probe_tokens
    rows_k = last.probe_tokens if name.endswith("cross_attn") else rows_q
    row = st.selectbox("probe example (fixed during training)", list(range(len(rows_q))), key=K + "probe",
                       format_func=lambda r: " ".join(rows_q[r]))
    T, S = len(rows_q[row]), len(rows_k[row])
    frames = np.stack([np.asarray(s.attention[name])[row, head, :T, :S] for s in snapshots])  # (N, T, S)
    mask = np.tril(np.ones((T, S), dtype=bool)) if run.is_causal(name) else None
    st.plotly_chart(figs.attention_over_training(frames, [s.step for s in snapshots], rows_q[row], rows_k[row],
                                                 loss_steps=ctx["loss_steps"], losses=ctx["losses"], allowed=mask,
                                                 title=f"Attention over training, {head_label(name, head)}: press "
                                                       "play or drag the slider"),
                    key=K + "film")
    st.caption("Every snapshot's weights are in the figure, so the slider and ▶ play run in your browser; the ◆ on "
               "the loss curve moves with the frame. Early on the rows are nearly uniform; the pattern appears as "
               "the loss falls.")


def switch_heads_off(ctx) -> None:
    run, task, model, model_key, ablate = ctx["run"], ctx["task"], ctx["model"], ctx["model_key"], ctx["ablate"]
    all_heads = [(n, h) for n in run.names for h in range(run.weights(n).shape[0])]
    if K + "ablate" not in st.session_state:  # the widget's own state goes while another tab is open
        st.session_state[K + "ablate"] = [nh for nh in st.session_state.get(K + "ablated", []) if nh in all_heads]
    # The choice is kept apart from the widget (K + "ablated"), read above the tabs for the note
    # and the answer; the callback updates it before the rerun, so both change with the click.
    st.multiselect("heads to switch off (their output is set to zero)", all_heads, key=K + "ablate",
                   format_func=lambda nh: head_label(*nh), on_change=remember_ablation)
    if task.kind == "text":
        st.caption("A text model has no single right answer to grade: compare its continuation above instead.")
        return
    val = task.examples(N_ABLATION, seed=4242, split="val")  # questions no run trained on
    base = cached(("abl",) + model_key, lambda: ablation_accuracy(model, task, val))
    after = cached(("abl",) + model_key + ctx["ablate_key"], lambda: ablation_accuracy(model, task, val, ablate)) \
        if ablate else base
    c1, c2 = st.columns(2)
    c1.metric(f"sequence accuracy on {N_ABLATION} held-out questions", f"{after['seq_acc']:.0%}",
              delta=f"{after['seq_acc'] - base['seq_acc']:+.0%}" if ablate else None)
    c2.metric("token accuracy", f"{after['token_acc']:.0%}",
              delta=f"{after['token_acc'] - base['token_acc']:+.0%}" if ablate else None)
    show_answers(after["answers"][:6], task)
    if not ablate:
        st.caption("Pick heads above: the answers and accuracy are recomputed with those heads silenced. A head "
                   "whose removal breaks the task is one the model relies on.")


def induction_heads(ctx) -> None:
    task, snapshots = ctx["task"], ctx["snapshots"]
    st.markdown("On a random sequence repeated twice, the second copy can be predicted by a two-step circuit: a "
                "**previous-token head** in layer 0 writes \"my predecessor was *x*\" into each position, then an "
                "**induction head** in layer 1 finds the earlier position whose predecessor matches the current "
                "token and copies what came next. It forms suddenly, after a plateau of the loss.")
    if task.name == "induction" and len(snapshots) > 2:
        loss_steps, losses = ctx["loss_steps"], ctx["losses"]
        s_steps, induction = head_scores_over_time(snapshots, "induction")
        _, previous = head_scores_over_time(snapshots, "previous")
        curves = {f"{head_label(n, h)} induction": v[:, h] for n, v in induction.items() for h in range(v.shape[1])}
        first = min(previous)  # layer 0: where the previous-token head has to be
        curves.update({f"{head_label(first, h)} previous-token": previous[first][:, h]
                       for h in range(previous[first].shape[1])})
        formed = detect_formation(s_steps, induction, loss_steps, losses)
        st.plotly_chart(figs.head_score_curves(loss_steps, losses, s_steps, curves, score_name="score",
                                               formation_step=formed.step if formed else None,
                                               loss_drop_step=formed.loss_step if formed else None),
                        key=K + "induction")
        if formed:
            st.success(f"The induction head {head_label(formed.name, formed.head)} formed at step {formed.step}: "
                       f"its score rose from {formed.score_before:.2f} to {formed.score_after:.2f}, while the loss "
                       f"fell from {formed.loss_before:.2f} to {formed.loss_after:.3f} (halfway by step "
                       f"{formed.loss_step}).")
        else:
            st.info("No head's induction score has jumped yet: keep training, or train the demo preset.")
    else:
        cfg = INDUCTION_DEMO["model"]
        st.caption(f"The demo: a {cfg['n_layers']}-layer decoder with {cfg['n_heads']} head per layer, d_model "
                   f"{cfg['d_model']}, d_ff {cfg['d_ff']}, rotary positions, {INDUCTION_DEMO['train']['steps']} steps "
                   "on repeated random letters. It replaces this session's current model.")
        induction_button("Train the induction-head demo")


def limits(ctx) -> None:
    st.markdown(
        "- **Weights are not the whole story.** A head with weight 0.9 on a token may still pass little of it on, "
        "if that token's value vector is small; and the residual stream carries information around every head.\n"
        "- **Cross-attention is not always alignment.** Some alignments are one-to-many (both month digits read "
        "one month word), and some rows align with nothing: the dashes, which copy no source token, often "
        "land on a digit or the month word all the same.\n"
        "- **Sink tokens.** Heads with nothing useful to do often park their weight on the first token (`<bos>`): "
        "a bright first column means \"no-op\", not \"this token matters\".\n"
        "- **Correlation, not cause.** Switching a head off (its tab) is a stronger test than looking at it."
    )


# --------------------------------------------------------------------------- the explorer


def explorer(identity: tuple, following: bool) -> None:
    """Everything below the title: one fragment, refreshed every REFRESH_S while the run trains
    (`following`: the page started it refreshing)."""
    current = current_model()
    if current is None or current.model.cfg.arch not in ARCHS or model_identity(current) != identity:
        st.rerun()  # the model changed under this fragment (a new run or checkpoint): draw the page anew
    run_obj = current.run
    live = run_obj is not None and run_obj.status in ACTIVE
    if following and not live:
        st.rerun()  # the run ended: rerun the page once, so this fragment stops refreshing
    task, snapshots, model = current.task, current.snapshots, current.model
    step = current.step
    source = "this session's run" if current.source == "run" else "an uploaded checkpoint"
    following = f" · {run_obj.status}: this page follows it, redrawn every {REFRESH_S:.0f} s" if live else ""
    st.caption(f"Showing **{plain(current.label)}** ({source}; change it on the Train page){following}.")

    # The input: an example of the task or the person's own text.
    examples = [task.format_src(as_question(task, ex).src) for ex in task.examples(6, seed=7, split="val")]
    if st.session_state.get(K + "example") not in examples + [CUSTOM]:
        st.session_state[K + "example"] = examples[0]
    c1, c3, c4 = st.columns([5, 4, 2])
    choice = c1.selectbox("input", examples + [CUSTOM], key=K + "example")
    lengths = trained_length_text(task)
    if choice == CUSTOM:
        text = c1.text_input("type an input for the model", key=K + "text", placeholder=examples[0],
                             max_chars=MAX_INPUT_CHARS,
                             help=f"This model was trained on inputs of {lengths}." if lengths else None)
    else:
        text = choice
    src = parsed_input(task, text, model.cfg.max_len if model.cfg.layout == "lm" else None, K)
    if src is None:
        return

    ablated = st.session_state.get(K + "ablated", [])
    ablate: dict = {}
    for n, h in ablated:
        ablate.setdefault(n, []).append(h)
    ablate_key = tuple(sorted((n, tuple(sorted(hs))) for n, hs in ablate.items()))
    model_key = identity + (step,)
    run = cached(("run",) + model_key + (tuple(src),) + ablate_key, lambda: run_attention(model, task, src, ablate))
    names = run.names
    if st.session_state.get(K + "layer") not in names:
        st.session_state[K + "layer"] = names[-1]
    name = c3.selectbox("attention layer", names, format_func=layer_label, key=K + "layer")
    n_heads = run.weights(name).shape[0]
    if st.session_state.get(K + "head", 0) >= n_heads:
        st.session_state[K + "head"] = 0
    head = c4.selectbox("head", list(range(n_heads)), key=K + "head")

    try:
        expected = task.format_tgt(task.solve(src))
    except Exception:  # a text prompt has no single right answer
        expected = None
    answer = task.format_tgt(run.answer)
    st.markdown(f"Model's answer: **{code(answer or '(nothing)')}**"
                + (f" · expected {code(expected)}" if expected else ""))
    if ablated:
        c1, c2 = st.columns([5, 1], vertical_alignment="center")
        c1.warning(f"{len(ablated)} head{'s are' if len(ablated) > 1 else ' is'} switched off "
                   f"({', '.join(head_label(*nh) for nh in ablated)}): the answer and every figure on this page come "
                   "from the model without them.", icon="⚠️")
        c2.button("Switch all on", key=K + "all_on", on_click=switch_all_on)

    history = run_obj.history if run_obj is not None else []
    ctx = dict(run=run, name=name, head=head, model=model, task=task, snapshots=snapshots, model_key=model_key,
               ablate=ablate, ablate_key=ablate_key, loss_steps=[r["step"] for r in history],
               losses=[r["loss"] for r in history])
    # One tab at a time: only the open one is computed and drawn (all eight sections on one
    # scroll took 4-7 s to draw), and the open one is in the link (?view=...).
    tabs = st.tabs(list(TABS), key="view", on_change="rerun", bind="query-params")
    for tab, draw in zip(tabs, (one_head, every_head, as_lines, step_by_step, over_training, switch_heads_off,
                                induction_heads, limits)):
        with tab:
            if tab.open:
                draw(ctx)


# --------------------------------------------------------------------------- the page

st.title("Attention: what every head looks at")
if not presenter_mode():  # on a projector the teacher says it, and the figure gets the screen
    st.markdown(
        "Each attention head lets every token (a **query**) look at the tokens it may see (the **keys**) and "
        "take a weighted average of what they carry (the **values**). The weights are what this page shows: "
        "one row per query, summing to 1."
    )
current = ensure_model_widget(task_default="reverse", archs=ARCHS, key=K + "model", show_caption=False)
if current is None:
    lab = get_lab()
    if lab.run is None or lab.run.status not in ACTIVE:
        induction_button("…or train the induction-head demo")
    st.stop()
identity = model_identity(current)
on_new_model(identity)
following = current.run is not None and current.run.status in ACTIVE
st.fragment(explorer, run_every=REFRESH_S if following else None)(identity, following)
