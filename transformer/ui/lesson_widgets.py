"""The live parts a lesson step can embed, by name: `WIDGETS[name](ctx)` draws one.

Each lesson file names a widget and its parameters (`lessons.loader.WIDGET_SPECS` lists the
names and the parameters each accepts; a test keeps the two in step). A widget draws its
controls inside `ctx.controls()` — a plain container normally, a closed expander in presenter
mode, so the projector shows the figure and not the knobs — and its figures with `ctx.plot`,
which enlarges them for the projector.

`render_widget` never lets a widget's failure reach the student as a traceback: a part that
is not built yet, or an input the widget refuses, becomes one sentence.
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import streamlit as st

from ..figures import lesson_figures as lf
from ..live import ACTIVE
from .lesson_models import attention_on, lesson_model, lesson_run

log = logging.getLogger(__name__)

SENTENCE = ("the", "cat", "sat", "on", "the", "mat", "and", "purred")


class NotReady(RuntimeError):
    """A live part the widget needs is not available in this build of the app."""


@dataclass
class WidgetContext:
    """What a widget gets: its parameters from the lesson file, the link's seed, the display mode."""

    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    presenter: bool = False
    key: str = "lesson"

    def get(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    @contextmanager
    def controls(self):
        """Where a widget puts its knobs: hidden behind an expander in presenter mode."""
        if self.presenter:
            with st.expander("Controls", expanded=False):
                yield
        else:
            with st.container():
                yield

    def plot(self, fig, name: str = "fig") -> None:
        """Draw a plotly figure, about a third larger in presenter mode."""
        if self.presenter:
            size = (fig.layout.font.size or 14) + 5
            fig.update_layout(font=dict(size=size), height=int((fig.layout.height or 400) * 1.3))
        st.plotly_chart(fig, key=f"{self.key}.{name}", width="stretch")


# --------------------------------------------------------------------------- computed on the spot


def attention_by_hand(ctx: WidgetContext) -> None:
    with ctx.controls():
        scaled = st.toggle("divide the scores by √d_k", value=bool(ctx.get("scaled", True)), key=f"{ctx.key}.scaled")
    tokens = lf.BY_HAND_TOKENS
    steps = lf.attention_by_hand(lf.BY_HAND_Q, lf.BY_HAND_K, lf.BY_HAND_V, scaled=scaled)
    ctx.plot(lf.qkv_figure(tokens, lf.BY_HAND_Q, lf.BY_HAND_K, lf.BY_HAND_V), "qkv")
    ctx.plot(lf.attention_steps_figure(tokens, steps, d_k=lf.BY_HAND_Q.shape[1], scaled=scaled), "steps")
    sat = tokens.index("sat")
    st.markdown("The row of **sat**: scores " + ", ".join(f"{v:g}" for v in steps["scores"][sat])
                + " → " + ", ".join(f"{v:.3g}" for v in steps["scaled"][sat])
                + " → weights " + ", ".join(f"{v:.2f}" for v in steps["weights"][sat])
                + " (they sum to 1).")


def softmax_scaling(ctx: WidgetContext) -> None:
    choices = [4, 16, 64, 256, 1024]
    default = int(ctx.get("d_k", 64))
    with ctx.controls():
        d_k = st.select_slider("d_k (dimensions per head)", choices, value=default if default in choices else 64,
                               key=f"{ctx.key}.d_k")
    rng = np.random.default_rng(ctx.seed)
    q, k = rng.standard_normal(d_k), rng.standard_normal((8, d_k))
    scores = k @ q
    saturation = lf.softmax_saturation(choices, seed=ctx.seed)
    ctx.plot(lf.softmax_scaling_figure(lf.softmax(scores), lf.softmax(scores / np.sqrt(d_k)), d_k, saturation))
    st.caption(f"These scores have standard deviation {scores.std():.1f} (about √{d_k} = {np.sqrt(d_k):.1f}); "
               f"divided by √d_k, about 1.")


def block_diagram(ctx: WidgetContext) -> None:
    arch = ctx.get("arch", "decoder")
    with ctx.controls():
        norm = st.radio("layer norm", ["pre", "post"], index=0 if ctx.get("norm", "pre") == "pre" else 1,
                        horizontal=True, key=f"{ctx.key}.norm",
                        format_func=lambda n: {"pre": "pre-norm (GPT-2 and later)", "post": "post-norm (2017 paper)"}[n])
        counts = st.toggle("show the number of weights (d_model = 64, d_ff = 256)", value=bool(ctx.get("counts", False)),
                           key=f"{ctx.key}.counts")
    ctx.plot(lf.block_diagram_figure(norm, arch, *((64, 256) if counts else (None, None))), "block")


def rnn_unroll(ctx: WidgetContext) -> None:
    cells = ["rnn", "gru", "lstm"]
    with ctx.controls():
        cell = st.radio("cell", cells, index=cells.index(ctx.get("cell", "rnn")), horizontal=True,
                        key=f"{ctx.key}.cell", format_func=str.upper)
    ctx.plot(lf.rnn_unroll_figure(SENTENCE[: int(ctx.get("length", 5))], cell), "unroll")


def causal_mask(ctx: WidgetContext) -> None:
    from ..figures.attention import attention_heatmap, causal_mask_figure

    tokens = list(SENTENCE[: int(ctx.get("length", 6))])
    T = len(tokens)
    ctx.plot(causal_mask_figure(tokens), "mask")
    rng = np.random.default_rng(ctx.seed)
    allowed = np.tril(np.ones((T, T), dtype=bool))
    scores = np.where(allowed, rng.standard_normal((T, T)), -np.inf)          # (T, T) masked scores
    ctx.plot(attention_heatmap(lf.softmax(scores), tokens, allowed=allowed,
                               title="Random scores after the mask and the softmax: every masked weight is exactly 0"),
             "weights")


def order_lost(ctx: WidgetContext) -> None:
    import torch

    from ..build import build_model
    from ..capture import capture
    from ..config import ModelConfig

    words = str(ctx.get("sentence", "dog bites man")).split()
    with ctx.controls():
        with_pe = st.toggle("add sinusoidal positional encoding", value=False, key=f"{ctx.key}.pe")
    vocab = sorted(set(words))
    stoi = {w: i + 1 for i, w in enumerate(vocab)}                             # 0 is padding
    cfg = ModelConfig(vocab_size=len(vocab) + 1, max_len=len(words), arch="encoder", d_model=16, n_heads=2,
                      n_layers=2, d_ff=32, pos_encoding="sinusoidal" if with_pe else "none")
    torch.manual_seed(ctx.seed)
    model = build_model(cfg).eval()
    a, b = words, list(reversed(words))
    with torch.no_grad(), capture(model, hidden=True) as cache:
        model(torch.tensor([[stoi[w] for w in a], [stoi[w] for w in b]]))
    last = max(k for k in cache if k.startswith("encoder.") and k.count(".") == 1)
    out = cache[last].numpy()                                                  # (2, T, d_model)
    word = a[0]
    va, vb = out[0, a.index(word)], out[1, b.index(word)]
    rows = [va, vb, va - vb]
    labels = [f"“{word}” in “{' '.join(a)}”", f"“{word}” in “{' '.join(b)}”", "difference"]
    state = "with" if with_pe else "without"
    ctx.plot(lf.vectors_figure(rows, labels, f"The output vector of “{word}”, {state} positional encoding"), "vectors")
    st.markdown(f"Largest difference between the two vectors: **{np.abs(va - vb).max():.2e}** "
                f"(an untrained 2-layer encoder, seed {ctx.seed}).")


def positional_curves(ctx: WidgetContext) -> None:
    from ..figures.positional import encoding_curves_figure, encoding_heatmap_figure
    from ..positional import sinusoidal_encoding

    with ctx.controls():
        c1, c2 = st.columns(2)
        d_model = c1.select_slider("d_model", [16, 32, 64, 128], value=int(ctx.get("d_model", 64)), key=f"{ctx.key}.d")
        positions = c2.slider("positions", 20, 200, int(ctx.get("positions", 100)), step=10, key=f"{ctx.key}.p")
        dims = st.multiselect("dimensions to draw", list(range(d_model)), default=[0, 1, 6, d_model // 2],
                              key=f"{ctx.key}.dims.{d_model}")
    pe = sinusoidal_encoding(positions, d_model).numpy()
    if dims:
        ctx.plot(encoding_curves_figure(pe, dims), "curves")
    ctx.plot(encoding_heatmap_figure(pe), "heatmap")


def positional_similarity(ctx: WidgetContext) -> None:
    from ..figures.positional import position_similarity_figure
    from ..positional import sinusoidal_encoding
    from ..projection import dot_similarity_matrix

    pe = sinusoidal_encoding(int(ctx.get("positions", 64)), int(ctx.get("d_model", 64))).numpy()
    ctx.plot(position_similarity_figure(dot_similarity_matrix(pe)), "similarity")


def rotary(ctx: WidgetContext) -> None:
    from ..figures.positional import offset_lines_figure, position_similarity_figure
    from ..projection import rope_scores

    d_head = int(ctx.get("d_head", 8))
    rng = np.random.default_rng(ctx.seed)
    scores = rope_scores(rng.standard_normal(d_head), rng.standard_normal(d_head), 32)
    left, right = st.columns(2)
    with left:
        ctx.plot(position_similarity_figure(scores, title="RoPE: q at position m · k at position n",
                                            colorbar="q·k"), "scores")
    with right:
        ctx.plot(offset_lines_figure(scores), "offsets")
    st.caption("The same query and key vectors placed at every pair of positions: every diagonal (fixed m − n) "
               "has one value, so the score depends on the offset only.")


def lr_schedule(ctx: WidgetContext) -> None:
    from ..figures.training import lr_figure
    from ..training import SCHEDULES, TrainConfig, lr_at, lr_curve

    with ctx.controls():
        c1, c2, c3 = st.columns(3)
        steps = c1.slider("total steps", 100, 5000, int(ctx.get("steps", 1000)), step=100, key=f"{ctx.key}.steps")
        warmup = c2.slider("warmup steps", 0, 1000, min(int(ctx.get("warmup", 100)), 1000), step=10,
                           key=f"{ctx.key}.warmup")
        schedule = c3.selectbox("schedule", list(SCHEDULES), index=list(SCHEDULES).index(ctx.get("schedule", "cosine")),
                                key=f"{ctx.key}.schedule")
    cfg = TrainConfig(steps=steps, warmup=warmup, schedule=schedule, lr=3e-3)
    xs, ys = lr_curve(cfg)
    ctx.plot(lr_figure([], [], planned_steps=xs, planned_lr=ys), "lr")
    st.markdown(f"Peak learning rate {cfg.lr:g}; at step 10 it is **{lr_at(10, cfg):.2g}**, "
                f"at the last step {lr_at(steps, cfg):.2g}.")


@st.cache_data(show_spinner=False, max_entries=8)
def _attention_cost(max_len: int, nonce: int) -> tuple[list, list, list]:
    """Median seconds of the explicit attention at doubling lengths, and its weights' size in MB."""
    import torch

    from ..attention import scaled_dot_product_attention

    B, H, d = 1, 4, 32
    lengths = [L for L in (64, 128, 256, 512, 1024, 2048) if L <= max_len]
    seconds, megabytes = [], []
    gen = torch.Generator().manual_seed(nonce)
    for L in lengths:
        q, k, v = (torch.randn(B, H, L, d, generator=gen) for _ in range(3))   # (B, H, T, d_head)
        times = []
        for _ in range(4):
            start = time.perf_counter()
            scaled_dot_product_attention(q, k, v)
            times.append(time.perf_counter() - start)
        seconds.append(float(np.median(times[1:])))   # the first call warms up the allocator
        megabytes.append(B * H * L * L * 4 / 2**20)
    return lengths, seconds, megabytes


def quadratic_cost(ctx: WidgetContext) -> None:
    nonce_key = f"{ctx.key}.nonce"
    with ctx.controls():
        if st.button("Measure again", key=f"{ctx.key}.again"):
            st.session_state[nonce_key] = st.session_state.get(nonce_key, 0) + 1
    lengths, seconds, mb = _attention_cost(int(ctx.get("max_len", 1024)), st.session_state.get(nonce_key, 0))
    ctx.plot(lf.attention_cost_figure(lengths, seconds, mb), "cost")
    st.caption(f"One head group (batch 1, 4 heads, d_head 32) on this machine's CPU, median of 3 runs; "
               f"from T = {lengths[-2]} to {lengths[-1]} the memory grew × {mb[-1] / mb[-2]:.0f} "
               f"and the time × {seconds[-1] / seconds[-2]:.1f}. Timings on a shared machine are noisy.")


def image_patches(ctx: WidgetContext) -> None:
    with ctx.controls():
        patch = st.select_slider("patch size (pixels)", [2, 4, 8, 16], value=int(ctx.get("patch", 8)),
                                 key=f"{ctx.key}.patch")
    ctx.plot(lf.image_patches_figure(lf.demo_image(32), patch), "patches")
    n = (32 // patch) ** 2
    st.caption(f"{n} tokens: attention compares {n}² = {n * n:,} pairs.")


# --------------------------------------------------------------------------- trained models


def _pick_input(ctx: WidgetContext, task, default_text: str | None = None) -> list[str]:
    """An example question of the task (seeded), or what the student types; bad text -> a sentence."""
    examples = [ex.src for ex in task.examples(4, seed=ctx.seed + 7)]
    labels = [task.format_src(src) for src in examples]
    with ctx.controls():
        c1, c2 = st.columns(2)
        choice = c1.selectbox("example input", labels, key=f"{ctx.key}.example")
        typed = c2.text_input("or type your own", value=default_text or "", key=f"{ctx.key}.typed",
                              placeholder=labels[0])
    if typed.strip():
        try:
            return task.parse(typed)
        except ValueError as err:
            st.warning(f"{err} Showing the example instead.")
    return examples[labels.index(choice)]


def _self_attention_names(cache: dict) -> list[str]:
    return [k for k in cache if k.endswith(".self_attn")]


def attention_heatmap(ctx: WidgetContext) -> None:
    from ..figures.attention import attention_heatmap as heatmap
    from ..interpret import describe_head, row_entropy

    current = lesson_model(ctx.get("task", "reverse"), ctx.get("arch", "decoder"), ctx.seed, ctx.key)
    if current is None:
        return
    src = _pick_input(ctx, current.task)
    got = attention_on(current.model, current.task, src)
    names = _self_attention_names(got["cache"])
    weights = {n: got["cache"][n][0].numpy() for n in names}                  # name -> (H, T, S)
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
    tokens = got["tokens"]
    w = weights[name][head]
    causal = current.model.cfg.arch != "encoder"
    allowed = np.tril(np.ones(w.shape, dtype=bool)) if causal else None
    ctx.plot(heatmap(w, tokens, allowed=allowed, title=f"{name}, head {head}: each row is where one token looks"),
             "heatmap")
    st.caption(f"{name}, head {head} {describe_head(w, tokens, causal=causal).text}.")


def head_grid(ctx: WidgetContext) -> None:
    from ..figures.attention import attention_grid
    from ..interpret import describe_heads

    current = lesson_model(ctx.get("task", "sort"), ctx.get("arch", "decoder"), ctx.seed, ctx.key)
    if current is None:
        return
    src = _pick_input(ctx, current.task)
    got = attention_on(current.model, current.task, src)
    tokens = got["tokens"]
    causal = current.model.cfg.arch != "encoder"
    layers = {n: got["cache"][n][0].numpy() for n in _self_attention_names(got["cache"])}   # name -> (H, T, S)
    descriptions = {n: [d.short for d in describe_heads(w, tokens, causal=causal)] for n, w in layers.items()}
    ctx.plot(attention_grid(layers, tokens, descriptions=descriptions), "grid")


def date_cross_attention(ctx: WidgetContext) -> None:
    from ..figures.attention import attention_heatmap as heatmap

    current = lesson_model("dates", "encoder-decoder", ctx.seed, ctx.key)
    if current is None:
        return
    task = current.task
    with ctx.controls():
        text = st.text_input("a date", value="22 Nov 2026", key=f"{ctx.key}.date")
    try:
        src = task.parse(text)
    except ValueError as err:
        st.warning(f"{err} Showing 22 Nov 2026 instead.")
        src = task.parse("22 Nov 2026")
    got = attention_on(current.model, task, src)
    names = [k for k in got["cache"] if k.endswith(".cross_attn")]
    with ctx.controls():
        c1, c2 = st.columns(2)
        layer = c1.selectbox("layer", list(range(len(names))), index=min(int(ctx.get("layer", 0)), len(names) - 1),
                             key=f"{ctx.key}.layer", format_func=lambda i: names[i])
        w = got["cache"][names[layer]][0].numpy()                              # (H, T, S)
        head = c2.selectbox("head", ["average of all heads"] + list(range(w.shape[0])), key=f"{ctx.key}.head")
    shown = w.mean(0) if isinstance(head, str) else w[head]
    rows = [f"writes {t}" for t in got["written"]]
    ctx.plot(heatmap(shown, rows, got["tokens"],
                     title=f"{names[layer]} ({head if isinstance(head, str) else f'head {head}'}): "
                           "which source token each output looks at"), "cross")
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
    from ..projection import cosine_similarity_matrix, project_frames, token_groups

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
    st.caption(f"Average length of a vector at the start: {np.linalg.norm(start[keep], axis=1).mean():.1f}; "
               f"average change during training: {np.linalg.norm((snapshots[-1].embeddings - start)[keep], axis=1).mean():.2f}.")
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


def _draw_curves(ctx: WidgetContext, run, live: bool = False) -> None:
    from ..figures.training import accuracy_figure, loss_figure
    from .widgets import progress_text

    if live and run.status not in ACTIVE:
        st.rerun()                                    # training ended: redraw the page once
    history, evals = run.history, run.evals
    st.caption(f"{run.task.name} · {progress_text(run.progress, run.status)} · {run.status}")
    loss = loss_figure([r["step"] for r in history], [r["loss"] for r in history],
                       [r["step"] for r in evals], [r["val_loss"] for r in evals], uirevision=f"{ctx.key}.loss")
    acc = accuracy_figure([r["step"] for r in evals], [r["token_acc"] for r in evals],
                          [r["seq_acc"] for r in evals], uirevision=f"{ctx.key}.acc")
    left, right = st.columns(2)
    with left:
        ctx.plot(loss, "loss")
    with right:
        ctx.plot(acc, "acc")


def train_preset(ctx: WidgetContext) -> None:
    from .widgets import show_answers

    current = lesson_model(ctx.get("task", "reverse"), ctx.get("arch", "decoder"), ctx.seed, ctx.key)
    if current is None:
        return
    model = current.model
    n_params = sum(p.numel() for p in model.parameters())
    cfg = model.cfg
    st.markdown(f"**{n_params:,} parameters**: {cfg.n_layers} layers, {cfg.n_heads} heads, d_model {cfg.d_model}, "
                f"d_ff {cfg.d_ff}, dropout {cfg.dropout}.")
    if current.snapshots:
        snap = current.snapshots[-1]
        acc = snap.metrics.get("seq_acc")
        if acc is not None:
            st.markdown(f"After {snap.step} steps, {acc:.0%} of held-out answers are entirely right:")
        show_answers(snap.answers, current.task)


# --------------------------------------------------------------------------- comparisons


@st.cache_data(show_spinner=False, max_entries=4)
def _gradients(length: int, seed: int) -> dict:
    import torch

    from ..build import build_model
    from ..compare import gradient_by_distance, matched_configs
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

    ctx.plot(gradient_distance_figure(_gradients(int(ctx.get("length", 40)), ctx.seed)), "gradients")
    st.caption("Untrained models with about the same number of parameters, seed "
               f"{ctx.seed}; the gradient of the loss at the last token with respect to each input's embedding.")


def step_time(ctx: WidgetContext) -> None:
    from ..compare import matched_configs, step_time_by_length
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
        return
    ctx.plot(step_time_figure(measured), "step_time")


def race(ctx: WidgetContext) -> None:
    from .lesson_race import race_widget

    race_widget(ctx)


# --------------------------------------------------------------------------- registry


WIDGETS: dict[str, Callable[[WidgetContext], None]] = {
    "embedding_space": embedding_space,
    "rnn_unroll": rnn_unroll,
    "race": race,
    "vanishing_gradients": vanishing_gradients,
    "step_time": step_time,
    "attention_by_hand": attention_by_hand,
    "softmax_scaling": softmax_scaling,
    "attention_heatmap": attention_heatmap,
    "head_grid": head_grid,
    "order_lost": order_lost,
    "positional_curves": positional_curves,
    "positional_similarity": positional_similarity,
    "rotary": rotary,
    "block_diagram": block_diagram,
    "causal_mask": causal_mask,
    "date_cross_attention": date_cross_attention,
    "training_curves": training_curves,
    "lr_schedule": lr_schedule,
    "quadratic_cost": quadratic_cost,
    "image_patches": image_patches,
    "train_preset": train_preset,
}


def render_widget(name: str, ctx: WidgetContext) -> bool:
    """Draw widget `name`; True when it drew without a problem.

    Never raises for the student: a missing part is a short note, a refused input its sentence,
    anything else one line (the traceback goes to the server log).
    """
    fn = WIDGETS.get(name)
    if fn is None:
        st.info(f"The live part “{name}” is not part of this version of the app.")
        return False
    try:
        fn(ctx)
        return True
    except (ImportError, NotReady) as err:
        log.info("lesson widget %s not ready: %s", name, err)
        st.info("This live part is still being built; the rest of the lesson works without it.")
    except ValueError as err:
        st.warning(str(err))
    except Exception:  # noqa: BLE001 - a lesson must go on in front of a class
        log.exception("lesson widget %s failed", name)
        st.warning("This live part could not be drawn just now; the rest of the lesson works. "
                   "(The details are in the server log.)")
    return False
