"""Generate: how a trained model writes, one token at a time.

For the session's model (its run, followed while it trains; an uploaded checkpoint; or a preset
trained here) and an input picked or typed, the model writes its answer step by step and every
step's distribution is kept. Above the tabs a person picks the step being written; the tabs
show, for that step: the output layer with the model's real numbers (h, the unembedding, the
logits, the softmax, −log p of the true token beside ln V); temperature, top-k and top-p acting
in the browser on its distribution; the step-through itself, where any step can be given a
different token and the continuation changes; beam search drawn as a tree; for the character
model, free text with a seed and a note on the nonsense it writes with confidence; and the
attention of the token being written. The numbers come from `transformer.decoding` and
`transformer.beam`; the figures from `transformer.figures.generation` and `.attention`.
"""
from __future__ import annotations

import math

import numpy as np
import streamlit as st

from transformer.analysis.inspection import run_attention, trained_length_text
from transformer.beam import beam_search
from transformer.decoding import generation_trace, output_layer
from transformer.figures import for_projector
from transformer.figures import attention as afigs
from transformer.figures import generation as gfigs
from transformer.runs.live import ACTIVE
from transformer.runs.snapshot import as_question
from transformer.tasks import MAX_INPUT_CHARS
from transformer.ui.generation import (LN2, beam_steps, draw_output_layer, nonsense_note, nonsense_report,
                                       parameter_note, shown_token, writable_logits, written_html)
from transformer.ui.sampling import DEFAULT, sampling_controls
from transformer.ui.session import current_model, get_lab, presenter_mode
from transformer.ui.state import memo
from transformer.ui.text import code, plain
from transformer.ui.widgets import CUSTOM, ensure_model_widget, parsed_input

K = "gen."  # prefix of this page's widget keys
ARCHS = ("decoder", "encoder-decoder")
MEMO_SIZE = 24  # traces, beams and runs kept, so going back to a step or an example is instant
REFRESH_S = 2.0  # while a run trains: the page follows its newest snapshot
STEP_TEXT_TOKENS = 40  # characters the character model writes in the step-through
TABS = ("Output layer", "Sampling", "Step by step", "Beam search", "Free text", "Attention")
METHODS = {"greedy": "greedy", "sample": "sample"}


def cached(inputs: tuple, compute):
    return memo(K + "memo", inputs, compute, keep=MEMO_SIZE)


def plot(fig, name: str) -> None:
    if presenter_mode():
        for_projector(fig)
    st.plotly_chart(fig, key=K + name)


def model_identity(current) -> tuple:
    if current.source == "run":
        return ("run", get_lab().run_id)
    return ("checkpoint", current.label, id(current.model))


def clear_choices() -> None:
    st.session_state[K + "forced"] = []


def on_new_model(identity: tuple) -> None:
    if st.session_state.get(K + "model_id") != identity:
        st.session_state[K + "model_id"] = identity
        clear_choices()
        for name in ("memo", "example", "at"):
            st.session_state.pop(K + name, None)


def settings() -> dict:
    return dict(st.session_state.get(K + "settings", DEFAULT))


def sampling_args(method: str) -> dict:
    """generation_trace's temperature / top_k / top_p for the chosen method (0 and None = off)."""
    s = settings()
    if method == "greedy" or s["temperature"] == 0:
        return {"temperature": 0.0, "top_k": None, "top_p": None}
    return {"temperature": s["temperature"], "top_k": s["top_k"] or None,
            "top_p": s["top_p"] if s["top_p"] < 1 else None}


def pick(at: int, widget: str) -> None:
    """Write the token chosen in `widget` at step `at`; earlier choices stay, later ones go."""
    token = st.session_state.get(widget)
    if token is None:
        return
    forced = list(st.session_state.get(K + "forced", []))[:at]
    st.session_state[K + "forced"] = forced + [None] * (at - len(forced)) + [token]
    st.session_state[K + "at"] = at


# --------------------------------------------------------------------------- the tabs


def output_layer_tab(ctx) -> None:
    model, task, src, prefix, step = ctx["model"], ctx["task"], ctx["src"], ctx["prefix"], ctx["step"]
    truth = ctx["truth"]
    true_token = None
    if truth is not None and prefix == truth[:len(prefix)] and len(prefix) < len(truth):
        true_token = truth[len(prefix)]
    out = cached(("out",) + ctx["key"] + (tuple(prefix), true_token),
                 lambda: output_layer(model, task, src, prefix, true_token=true_token))
    draw_output_layer(out, plot, written=step.token)
    st.caption(parameter_note(model, out))


def sampling_tab(ctx) -> None:
    step, task = ctx["step"], ctx["task"]
    tokens = list(task.vocab.tokens)
    st.markdown(f"The distribution for step {ctx['at'] + 1} (the model is about to write "
                f"{code(shown_token(step.token))}). Move the sliders: the bars are redrawn in your browser, the "
                "model is not run again.")
    got = sampling_controls(writable_logits(step, task), tokens, [shown_token(t) for t in tokens], key=K + "sampling",
                            settings=settings(), joiner=task.vocab.joiner, large=presenter_mode())
    st.session_state[K + "settings"] = got  # kept while this tab is closed: the generation uses it
    if ctx["method"] == "greedy":
        st.caption("The generation above is greedy, so it ignores these settings: choose “sample” above to "
                   "generate with them.")
    st.caption("Temperature divides the logits before the softmax (T < 1 sharpens, T > 1 flattens, T = 0 is greedy); "
               "top-k keeps the k most likely tokens; top-p keeps the smallest set of most likely tokens whose "
               "probability reaches p, then renormalises.")


def step_tab(ctx) -> None:
    trace, at, step = ctx["trace"], ctx["at"], ctx["step"]
    cands = step.candidates
    after = [c.prob for c in cands] if ctx["method"] == "sample" else None  # greedy: a one-hot, nothing to see
    plot(gfigs.candidates_figure([c.token for c in cands], [c.raw_prob for c in cands], after,
                                 chosen=step.token, title=f"Step {at + 1}: the candidates; written: "
                                                          f"{afigs.token_label(step.token)}"), "candidates")
    widget = K + f"pick.{at}.{len(st.session_state.get(K + 'forced', []))}"
    st.pills("write a different token here, and see how the rest changes", [c.token for c in cands],
             format_func=lambda t: plain(f"{shown_token(t)} · {next(c.raw_prob for c in cands if c.token == t):.0%}"),
             key=widget, on_change=pick, args=(at, widget))
    entropies = [s.entropy_raw / LN2 for s in trace]
    plot(gfigs.confidence_figure([s.token for s in trace], [s.raw_prob for s in trace], entropies,
                                 title="Each step: the probability of the written token, and the entropy"),
         "confidence")


def beam_tab(ctx) -> None:
    model, task, src = ctx["model"], ctx["task"], ctx["src"]
    width = st.slider("beam width", 1, 5, 3, key=K + "beam_width")
    n_new = 16 if task.kind == "text" else None

    def search():
        history: list = []
        return beam_search(model, task, src, width=width, max_new_tokens=n_new, history=history), history

    beams, history = cached(("beam",) + ctx["key"] + (width,), search)
    plot(gfigs.beam_tree(beam_steps(history), joiner=task.vocab.joiner), "beams")
    greedy = next((b for b in beams if b.greedy), None)
    rows = [{"rank": i + 1, "answer": task.format_tgt(b.tokens), "log p": round(b.log_prob, 3),
             "p": round(math.exp(b.log_prob), 4), "finished": b.finished, "greedy's": b.greedy}
            for i, b in enumerate(beams)]
    st.dataframe(rows, hide_index=True, key=K + "beam_table")
    if greedy is not None and beams[0] is not greedy:
        st.success(f"The best beam scores log p = {beams[0].log_prob:.3f}, above greedy's {greedy.log_prob:.3f}: a "
                   "less likely first token led to a more likely whole answer.")
    else:
        st.caption("Here the best beam is the greedy answer: the most likely token at each step also made the most "
                   "likely whole answer. Scores are total log-probabilities (natural log), not length-normalised.")


def free_text_tab(ctx) -> None:
    model, task, src = ctx["model"], ctx["task"], ctx["src"]
    if task.kind != "text":
        st.info("Free generation is for the character model: a task's answer ends at `<eos>`. Train the charlm "
                "preset (Train page) to write text.")
        return
    c1, c2 = st.columns(2)
    n = c1.slider("characters to write", 50, 400, 200, step=50, key=K + "free_n")
    seed = c2.number_input("seed", 0, 1_000_000, 0, key=K + "free_seed")
    args = sampling_args("sample")
    trace = cached(("free",) + ctx["key"] + (n, seed, tuple(args.values())),
                   lambda: generation_trace(model, task, src, max_new_tokens=n, seed=int(seed), **args))
    text = "".join(s.token for s in trace)
    t = "greedy" if args["temperature"] == 0 else f"T = {args['temperature']:.2f}"
    st.caption(f"Sampled with {t}, top-k {args['top_k'] or 'off'}, top-p {args['top_p'] or 'off'} "
               "(the Sampling tab's settings) and seed " + str(int(seed)) + ": the same seed writes the same text.")
    st.markdown(written_html(task.format_src(src), [_Free(s) for s in trace]), unsafe_allow_html=True)
    probs = [s.raw_prob for s in trace]
    plot(gfigs.confidence_figure([s.token for s in trace], probs, [s.entropy_raw / LN2 for s in trace]), "free_conf")
    st.markdown(nonsense_note(nonsense_report(task, text, probs)))


class _Free:
    """A free-generation step shown like a step-through one (never forced)."""

    def __init__(self, step):
        self.token, self.prob, self.forced = step.token, step.raw_prob, False


def attention_tab(ctx) -> None:
    model, task, src, prefix, step = ctx["model"], ctx["task"], ctx["src"], ctx["prefix"], ctx["step"]
    if task.kind == "text":  # the window the model reads, and nothing to append: the last row writes
        context = (list(src) + list(prefix))[-(model.cfg.max_len - 2):]
        got = cached(("att",) + ctx["key"] + (tuple(context),), lambda: run_attention(model, task, context, answer=[]))
    else:
        got = cached(("att",) + ctx["key"] + (tuple(prefix),), lambda: run_attention(model, task, src, answer=prefix))
    names = [n for n in got.names if n.startswith("decoder")]
    st.markdown(f"While writing {code(shown_token(step.token))} (step {ctx['at'] + 1}), each head of each decoder "
                "layer spreads its attention over the tokens already there: one row per head.")
    for i, name in enumerate(names):
        q_tokens, k_tokens = got.axes(name)
        w = got.weights(name)[:, -1, :]  # (H, S): the last query row is the token being written
        allowed = got.allowed(name)[-1]
        stack, layer, kind = name.split(".")
        what = "cross-attention to the input" if kind == "cross_attn" else "self-attention"
        fig = afigs.attention_heatmap(w, [f"head\u00a0{h}" for h in range(w.shape[0])], k_tokens,
                                      allowed=None if allowed.all() else
                                      np.broadcast_to(allowed, w.shape),
                                      title=f"{stack} layer {layer} · {what}: where each head looks while writing "
                                            f"{afigs.token_label(step.token)}",
                                      height=170 + 40 * w.shape[0])
        fig.update_yaxes(title_text="head")
        plot(fig, f"att{i}")
    st.caption("The same weights as on the Attention page, for the one row that writes this token; hover a cell for "
               "the exact weight.")


# --------------------------------------------------------------------------- the explorer


def explorer(identity: tuple, following: bool) -> None:
    """Everything below the title: one fragment, refreshed every REFRESH_S while the run trains."""
    current = current_model()
    if current is None or current.model.cfg.arch not in ARCHS or model_identity(current) != identity:
        st.rerun()
    run_obj = current.run
    live = run_obj is not None and run_obj.status in ACTIVE
    if following and not live:
        st.rerun()
    task, model = current.task, current.model
    source = "this session's run" if current.source == "run" else "an uploaded checkpoint"
    note = f" · {run_obj.status}: this page follows it, redrawn every {REFRESH_S:.0f} s" if live else ""
    st.caption(f"Showing **{plain(current.label)}** ({source}; change it on the Train page){note}.")

    questions = [as_question(task, ex) for ex in task.examples(6, seed=7, split="val")]  # new to the model
    examples = [task.format_src(q.src) for q in questions]
    if st.session_state.get(K + "example") not in examples + [CUSTOM]:
        st.session_state[K + "example"] = examples[0]
    c1, c2, c3, c4 = st.columns([5, 3, 2, 2], vertical_alignment="bottom")
    choice = c1.selectbox("input" if task.kind != "text" else "prompt to continue", examples + [CUSTOM],
                          key=K + "example", on_change=clear_choices)
    if choice == CUSTOM:
        lengths = trained_length_text(task)
        text = c1.text_input("type an input for the model", key=K + "text", placeholder=examples[0],
                             max_chars=MAX_INPUT_CHARS, on_change=clear_choices,
                             help=f"This model was trained on inputs of {lengths}." if lengths else None)
    else:
        text = choice
    method = c2.segmented_control("each token: the most likely, or drawn", list(METHODS), format_func=METHODS.get,
                                  default="greedy", key=K + "method", on_change=clear_choices) or "greedy"
    seed = c3.number_input("seed", 0, 1_000_000, 0, key=K + "seed", disabled=method == "greedy")
    c4.button("Clear choices", key=K + "clear", on_click=clear_choices,
              disabled=not any(t is not None for t in st.session_state.get(K + "forced", [])))
    src = parsed_input(task, text, model.cfg.max_len if model.cfg.layout == "lm" else None, K)
    if src is None:
        return
    truth = None
    if choice != CUSTOM:
        q = questions[examples.index(choice)]
        eos = task.vocab.tokens[task.vocab.eos_id]
        truth = list(q.tgt) if task.kind == "text" else list(task.solve(list(src))) + [eos]

    forced = list(st.session_state.get(K + "forced", []))
    key = identity + (current.step, tuple(src))
    args = sampling_args(method)
    n_new = STEP_TEXT_TOKENS if task.kind == "text" else None
    try:
        trace = cached(("trace",) + key + (method, int(seed), tuple(args.values()), tuple(forced)),
                       lambda: generation_trace(model, task, src, max_new_tokens=n_new, seed=int(seed),
                                                forced=forced, **args))
    except ValueError as err:
        st.error(plain(err))
        clear_choices()
        return
    positions = list(range(len(trace)))
    if st.session_state.get(K + "at") not in positions:
        st.session_state[K + "at"] = 0
    separator = "" if task.kind == "text" else " → "
    st.markdown(written_html(task.format_src(src), trace, st.session_state[K + "at"], joiner=task.vocab.joiner,
                             separator=separator), unsafe_allow_html=True)
    at = st.select_slider("the step being written (the tabs below show this one)", options=positions,
                          format_func=lambda i: f"{i + 1}: {shown_token(trace[i].token)}", key=K + "at")
    if any(t is not None for t in forced):
        st.caption("Underlined: tokens you chose; the rest is the model's continuation from them.")
    ctx = dict(model=model, task=task, src=src, trace=trace, at=at, step=trace[at],
               prefix=[s.token for s in trace[:at]], truth=truth, key=key, method=method)
    tabs = st.tabs(list(TABS), key="view", on_change="rerun", bind="query-params")
    for tab, draw in zip(tabs, (output_layer_tab, sampling_tab, step_tab, beam_tab, free_text_tab, attention_tab)):
        with tab:
            if tab.open:
                draw(ctx)


# --------------------------------------------------------------------------- the page

st.title("Generate: from the last vector to the next token")
if not presenter_mode():
    st.markdown(
        "A model that writes does it one token at a time: its last layer turns the final hidden vector into one "
        "score per token of the vocabulary, the softmax turns the scores into probabilities, and a rule (greedy, "
        "sampling, beam search) picks the token, which is appended and read back for the next step."
    )
current = ensure_model_widget(task_default="charlm", archs=ARCHS, key=K + "model", show_caption=False)
if current is None:
    st.stop()
identity = model_identity(current)
on_new_model(identity)
following = current.run is not None and current.run.status in ACTIVE
st.fragment(explorer, run_every=REFRESH_S if following else None)(identity, following)
