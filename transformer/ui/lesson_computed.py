"""Lesson parts computed on the spot: worked examples, diagrams, formulas made visible.

None of these needs a trained model, so they draw at once and the same way every time (the
link's seed fixes their random numbers). Each is `fn(ctx: WidgetContext) -> None`; the names
they are registered under are in `lesson_widgets.WIDGETS`.
"""
from __future__ import annotations

import time

import numpy as np
import streamlit as st

from ..figures import lesson_figures as lf
from .lesson_context import WidgetContext

# The sentence the unrolled RNN and the causal mask spell out.
SENTENCE = ("the", "cat", "sat", "on", "the", "mat", "and", "purred")


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
    ctx.report("weight_cat_pct", 100 * steps["weights"][sat][tokens.index("cat")])


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
    ctx.report("max_difference", float(np.abs(va - vb).max()))


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
    from ..analysis.projection import dot_similarity_matrix

    pe = sinusoidal_encoding(int(ctx.get("positions", 64)), int(ctx.get("d_model", 64))).numpy()
    ctx.plot(position_similarity_figure(dot_similarity_matrix(pe)), "similarity")


def rotary(ctx: WidgetContext) -> None:
    from ..figures.positional import offset_lines_figure, position_similarity_figure
    from ..analysis.projection import rope_scores

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
    ctx.report("lr_step10", lr_at(10, cfg))
    ctx.report("lr_last", lr_at(steps, cfg))


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
    ctx.report("memory_ratio", mb[-1] / mb[-2])
    ctx.report("time_ratio", seconds[-1] / seconds[-2])


def image_patches(ctx: WidgetContext) -> None:
    with ctx.controls():
        patch = st.select_slider("patch size (pixels)", [2, 4, 8, 16], value=int(ctx.get("patch", 8)),
                                 key=f"{ctx.key}.patch")
    ctx.plot(lf.image_patches_figure(lf.demo_image(32), patch), "patches")
    n = (32 // patch) ** 2
    st.caption(f"{n} tokens: attention compares {n}² = {n * n:,} pairs.")
    ctx.report("tokens", n)
