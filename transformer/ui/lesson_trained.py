"""Lesson parts that show a trained model, a training run, or a measured comparison.

The model a step needs is trained on demand (`lesson_models.lesson_model`: the task's preset,
the link's seed) and kept for the session; until then the part draws the offer to train it.
Each is `fn(ctx: WidgetContext) -> None`; the names are in `lesson_widgets.WIDGETS`.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from ..runs.job import ACTIVE
from ..tasks import MAX_INPUT_CHARS
from .lesson_context import WidgetContext
from .lesson_models import lesson_model, lesson_run
from .text import plain


def _pick_input(ctx: WidgetContext, task, default_text: str | None = None) -> list[str]:
    """An example question of the task (seeded), or what the student types; bad text -> a sentence."""
    examples = [ex.src for ex in task.examples(4, seed=ctx.seed + 7)]
    labels = [task.format_src(src) for src in examples]
    with ctx.controls():
        c1, c2 = st.columns(2)
        choice = c1.selectbox("example input", labels, key=f"{ctx.key}.example")
        typed = c2.text_input("or type your own", value=default_text or "", key=f"{ctx.key}.typed",
                              placeholder=labels[0], max_chars=MAX_INPUT_CHARS)
    if typed.strip():
        try:
            return task.parse(typed)
        except ValueError as err:
            st.warning(plain(f"{err} Showing the example instead."))
    return examples[labels.index(choice)]


def _right_answer_attention(model, task, src):
    """Attention while the model reads `src` and writes the right answer (an AttentionRun)."""
    from ..analysis.inspection import run_attention

    return run_attention(model, task, src, answer=task.solve(list(src)))


def _self_attention(ctx: WidgetContext, default_task: str):
    """The lesson's model on an input the student picks: (its AttentionRun, {layer name: weights
    (H, T, S)} of its self-attention), or None while the model is not trained yet."""
    current = lesson_model(ctx.get("task", default_task), ctx.get("arch", "decoder"), ctx.seed, ctx.key)
    if current is None:
        return None
    got = _right_answer_attention(current.model, current.task, _pick_input(ctx, current.task))
    return got, {n: got.weights(n) for n in got.names if n.endswith(".self_attn")}


def _mask(got, name: str):
    """The name's mask for a figure: None where every key may be seen (an encoder)."""
    allowed = got.allowed(name)
    return None if allowed.all() else allowed


def attention_heatmap(ctx: WidgetContext) -> None:
    from ..figures.attention import attention_heatmap as heatmap
    from ..analysis.interpret import anti_diagonal_score, describe_head, row_entropy

    found = _self_attention(ctx, "reverse")
    if found is None:
        return
    got, weights = found
    tokens, names = got.tokens, list(weights)
    # Open on the lesson's layer (default: all), at its most focused head (lowest entropy).
    layer = ctx.get("layer")
    candidates = [names[min(int(layer), len(names) - 1)]] if layer is not None else names
    best = min(((n, h) for n in candidates for h in range(weights[n].shape[0])),
               key=lambda nh: row_entropy(weights[nh[0]][nh[1]])[1])
    if ctx.get("head") is not None:
        best = (best[0], min(int(ctx.get("head")), weights[best[0]].shape[0] - 1))
    with ctx.controls():
        c1, c2 = st.columns(2)
        name = c1.selectbox("layer", names, index=names.index(best[0]), key=f"{ctx.key}.layer")
        H = weights[name].shape[0]
        head = c2.selectbox("head", list(range(H)), index=best[1] if name == best[0] else 0, key=f"{ctx.key}.head")
    w = weights[name][head]
    ctx.plot(heatmap(w, tokens, allowed=_mask(got, name),
                     title=f"{name}, head {head}: each row is where one token looks"), "heatmap")
    st.caption(f"{name}, head {head} {describe_head(w, tokens, causal=got.is_causal(name)).text}.")
    # The same anti-diagonal score the caption's description uses, as a number the lesson quotes.
    score = anti_diagonal_score(w, causal=got.is_causal(name))
    ctx.report("antidiagonal_pct", 100 * score)
    st.caption(f"Weight on its strongest anti-diagonal (reading the keys in reverse): **{score:.0%}**.")


def head_grid(ctx: WidgetContext) -> None:
    from ..figures.attention import attention_grid
    from ..analysis.interpret import describe_heads

    found = _self_attention(ctx, "sort")
    if found is None:
        return
    got, layers = found
    tokens = got.tokens
    descriptions = {n: [d.short for d in describe_heads(w, tokens, causal=got.is_causal(n))] for n, w in layers.items()}
    # The mask in grey, as on the Attention page (the same builder); sized for the projector by
    # the builder itself, which keeps its panels' labels apart (ctx.plot then leaves it alone).
    ctx.plot(attention_grid(layers, tokens, descriptions=descriptions, allowed=_mask(got, next(iter(layers))),
                            large=ctx.presenter,
                            title="Every head at once: which one looks where?"), "grid")


def date_cross_attention(ctx: WidgetContext) -> None:
    from ..figures.attention import attention_heatmap as heatmap

    current = lesson_model("dates", "encoder-decoder", ctx.seed, ctx.key)
    if current is None:
        return
    task = current.task
    with ctx.controls():
        text = st.text_input("a date", value="22 Nov 2026", key=f"{ctx.key}.date", max_chars=MAX_INPUT_CHARS)
    try:
        src = task.parse(text)
    except ValueError as err:
        st.warning(plain(f"{err} Showing 22 Nov 2026 instead."))
        src = task.parse("22 Nov 2026")
    got = _right_answer_attention(current.model, task, src)
    names = [k for k in got.names if k.endswith(".cross_attn")]
    with ctx.controls():
        c1, c2 = st.columns(2)
        layer = c1.selectbox("layer", list(range(len(names))), index=min(int(ctx.get("layer", 0)), len(names) - 1),
                             key=f"{ctx.key}.layer", format_func=lambda i: names[i])
        w = got.weights(names[layer])                                          # (H, T, S)
        head = c2.selectbox("head", ["average of all heads"] + list(range(w.shape[0])), key=f"{ctx.key}.head")
    shown = w.mean(0) if isinstance(head, str) else w[head]
    rows = [f"→{t}" for t in got.answer + ["<eos>"]]   # no space: the heatmap shows spaces as ␣
    ctx.plot(heatmap(shown, rows, got.tokens,
                     title=f"{names[layer]} ({head if isinstance(head, str) else f'head {head}'}): "
                           "rows (→x) are the tokens written, columns the source"), "cross")
    from ..decoding import predict

    answer = task.format_tgt(predict(current.model, task, [src])[0])
    st.markdown(f"The model's answer: **{answer}** (expected {task.format_tgt(task.solve(src))}).")


def embedding_space(ctx: WidgetContext) -> None:
    """The token table of a trained model in 2-D (PCA), over training time.

    A small model trained for seconds moves its randomly initialised vectors only a little
    (for the sentiment preset the change is about a fifteenth of their length), so the table
    itself still looks random. By default the widget draws what training *changed*, E_t - E_0:
    that is where the structure is.
    """
    from ..figures.embeddings import cosine_matrix_figure, embedding_animation_figure
    from ..analysis.projection import cosine_similarity_matrix, project_frames, token_groups

    current = lesson_model(ctx.get("task", "sentiment"), ctx.get("arch", "encoder"), ctx.seed, ctx.key)
    if current is None:
        return
    snapshots = current.snapshots
    if len(snapshots) < 2:
        raise ValueError("This model has no training history to compare with; train the preset here instead.")
    views = ["what training changed (each vector minus its random start)", "the vectors themselves"]
    with ctx.controls():
        view = st.radio("draw", views, key=f"{ctx.key}.view", horizontal=True)
    tokens = list(current.task.vocab.tokens)
    groups = token_groups(tokens)
    keep = [i for i, g in enumerate(groups) if g != "special"]
    start = snapshots[0].embeddings
    tables = [s.embeddings - start if view == views[0] else s.embeddings for s in snapshots]   # (V, d) each
    frames, basis = project_frames([t[keep] for t in tables], int(ctx.get("dims", 2)))
    ctx.plot(embedding_animation_figure(frames, [s.step for s in snapshots], [tokens[i] for i in keep],
                                        [groups[i] for i in keep], basis.explained), "space")
    start_norm = float(np.linalg.norm(start[keep], axis=1).mean())
    change = snapshots[-1].embeddings - start                                  # (V, d)
    mean_change = float(np.linalg.norm(change[keep], axis=1).mean())
    st.caption(f"Average length of a vector at the start: {start_norm:.1f}; "
               f"average change during training: {mean_change:.2f}.")
    ctx.report("start_norm", start_norm)
    ctx.report("mean_change", mean_change)
    for other in ("great", "bad"):
        if "good" in tokens and other in tokens:
            a, b = change[tokens.index("good")], change[tokens.index(other)]
            ctx.report(f"cos_good_{other}", float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12)))
    chosen = [w for w in ("good", "great", "fun", "bad", "boring", "dull", "not", "movie", "the") if w in tokens]
    if len(chosen) >= 2:
        sim = cosine_similarity_matrix(tables[-1][[tokens.index(w) for w in chosen]])
        what = "what training changed" if view == views[0] else "the vectors"
        ctx.plot(cosine_matrix_figure(sim, chosen, title=f"Cosine similarity of {what}, in all "
                                                         f"{start.shape[1]} dimensions"), "cosine")


def training_curves(ctx: WidgetContext) -> None:
    task_name, arch = ctx.get("task", "reverse"), ctx.get("arch", "decoder")
    run = lesson_run(task_name, arch, ctx.seed, ctx.key, demo=ctx.get("demo"))
    if run is None:
        return
    if run.status in ACTIVE:
        st.fragment(_draw_curves, run_every=1.0)(ctx, run, live=True)
    else:
        _draw_curves(ctx, run)
        report_curves(ctx, run.history, run.evals, run.train_cfg.warmup)
        ctx.report("vocab_size", run.task.vocab_size)
        ctx.report("ln_vocab", float(np.log(run.task.vocab_size)))


def report_curves(ctx: WidgetContext, history: list[dict], evals: list[dict], warmup: int) -> None:
    """The numbers a finished run's curves show: losses at the start, at the end of the warmup and
    at the end; final accuracies; the first evaluation with half the answers right; its length."""
    if history:
        ctx.report("steps", history[-1]["step"])
        ctx.report("first_loss", history[0]["loss"])
        ctx.report("final_loss", history[-1]["loss"])
        in_warmup = [row for row in history if row["step"] <= warmup]
        if warmup > 0 and in_warmup:
            ctx.report("loss_at_warmup", in_warmup[-1]["loss"])
    ctx.report("warmup", warmup)
    ctx.report("n_evals", len(evals))
    if evals:
        for name in ("seq_acc", "token_acc"):
            if evals[-1].get(name) is not None:
                ctx.report(f"final_{name}_pct", 100 * evals[-1][name])
        risen = [row["step"] for row in evals if (row.get("seq_acc") or 0) >= 0.5]
        if risen:
            ctx.report("rise_step", risen[0])


def _draw_curves(ctx: WidgetContext, run, live: bool = False) -> None:
    from .widgets import live_curves, progress_text

    if live and run.status not in ACTIVE:
        st.rerun()                                    # training ended: redraw the page once
    st.caption(f"{run.task.name} · {progress_text(run.progress, run.status)} · {run.status}")
    # The Train page's curves, kept across the refreshes (built once, then only the lines
    # change) and redrawn in place in the browser (live_figures keeps the reader's zoom).
    figs = live_curves(run, id(run), f"{ctx.key}.figs")
    ctx.plot_live({"loss": figs["loss"], "accuracy": figs["accuracy"]}, "curves")


def train_preset(ctx: WidgetContext) -> None:
    from .widgets import show_answers

    current = lesson_model(ctx.get("task", "reverse"), ctx.get("arch", "decoder"), ctx.seed, ctx.key)
    if current is None:
        return
    model = current.model
    n_params = sum(p.numel() for p in model.parameters())
    ctx.report("parameters", n_params)
    cfg = model.cfg
    st.markdown(f"**{n_params:,} parameters**: {cfg.n_layers} layers, {cfg.n_heads} heads, d_model {cfg.d_model}, "
                f"d_ff {cfg.d_ff}, dropout {cfg.dropout}.")
    if current.snapshots:
        snap = current.snapshots[-1]
        acc = snap.metrics.get("seq_acc")
        ctx.report("steps", snap.step)
        if acc is not None:
            ctx.report("seq_acc_pct", 100 * acc)
            st.markdown(f"After {snap.step} steps, {acc:.0%} of held-out answers are entirely right:")
        show_answers(snap.answers, current.task)


# --------------------------------------------------------------------------- comparisons


@st.cache_data(show_spinner=False, max_entries=4)
def _gradients(length: int, seed: int) -> dict:
    import torch

    from ..build import build_model
    from ..analysis.compare import gradient_by_distance, matched_configs
    from ..config import ModelConfig

    cfg = ModelConfig(vocab_size=16, max_len=length + 1, arch="decoder", d_model=64, n_heads=4, n_layers=2, d_ff=256)
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randint(1, 16, (16, length), generator=gen)                   # (B, T)
    targets = torch.full_like(idx, -100)
    targets[:, -1] = torch.randint(1, 16, (16,), generator=gen)                # loss on the last token only
    out = {}
    labels = {"decoder": "Transformer", "lstm": "LSTM", "rnn": "RNN"}
    for arch, c in matched_configs(cfg, ["rnn", "lstm"]).items():
        torch.manual_seed(seed)
        out[labels[arch]] = gradient_by_distance(build_model(c), idx, targets).tolist()
    return out


def vanishing_gradients(ctx: WidgetContext) -> None:
    from ..figures.compare import gradient_distance_figure

    grads = _gradients(int(ctx.get("length", 40)), ctx.seed)
    ctx.plot(gradient_distance_figure(grads), "gradients")
    # Powers of ten lost from the nearest earlier input (distance 1) to the farthest one.
    for name in ("RNN", "LSTM"):
        g = grads.get(name)
        if g and len(g) > 2 and g[1] > 0 and g[-1] > 0:
            ctx.report(f"{name.lower()}_decades", float(np.log10(g[1] / g[-1])))
    st.caption("Untrained models with about the same number of parameters, seed "
               f"{ctx.seed}; the gradient of the loss at the last token with respect to each input's embedding.")


def step_time(ctx: WidgetContext) -> None:
    from ..analysis.compare import matched_configs, step_time_by_length
    from ..config import ModelConfig
    from ..figures.compare import step_time_figure

    max_len = int(ctx.get("max_len", 256))
    lengths = [L for L in (16, 32, 64, 128, 256, 512) if L <= max_len]
    state_key = f"{ctx.key}.measured"
    if st.button("Measure on this machine (a few seconds)", key=f"{ctx.key}.measure", type="primary"):
        cfg = ModelConfig(vocab_size=16, max_len=max_len, arch="decoder", d_model=64, n_heads=4, n_layers=2, d_ff=256)
        cfgs = matched_configs(cfg, ["lstm"])
        with st.spinner("Timing training steps..."):
            raw = step_time_by_length(cfgs, lengths, batch_size=8, repeats=2, seed=ctx.seed)
        labels = {"decoder": "Transformer", "lstm": "LSTM"}
        st.session_state[state_key] = {labels[k]: v for k, v in raw.items()}
    measured = st.session_state.get(state_key)
    if measured is None:
        st.info("Press the button to time both models here and now.")
        ctx.wait("Press the measure button first: the answer is what it measures.")
        return
    from ..analysis.compare import attention_map_mb

    cfg = ModelConfig(vocab_size=16, max_len=max_len, arch="decoder", d_model=64, n_heads=4, n_layers=2, d_ff=256)
    naive = {"Transformer": [attention_map_mb(cfg, 8, L) for L in measured["Transformer"]["lengths"]]}
    ctx.plot(step_time_figure(measured, attention_mb=naive), "step_time")
    st.caption("Dashed: the size of the T×T attention weights a naive implementation would keep for the backward "
               "pass; it grows with the square of the length. PyTorch's fused attention, which these models use "
               "when nothing is being inspected, computes them in tiles and never keeps them, so the memory "
               "measured here grows only linearly for both models.")
    for label, name in (("Transformer", "transformer"), ("LSTM", "lstm")):
        r = measured.get(label)
        if r and r["lengths"]:
            ctx.report(f"{name}_ms", 1000 * r["seconds"][-1])
            ctx.report(f"{name}_mb", r["activation_mb"][-1])
            ctx.report("max_len", r["lengths"][-1])


def race(ctx: WidgetContext) -> None:
    from .lesson_race import race_widget

    race_widget(ctx)
