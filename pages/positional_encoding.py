"""Positional-encoding lab: how a model that reads a set of tokens learns that it is a sequence.

Five sections, one tab each, under the table's shared settings: the sinusoidal table (waves,
heatmap, similarity), the same word at two positions, relative position as a rotation, four
schemes side by side, and an experiment that trains the same small model with each scheme. Only
the open section is computed and drawn. Everything but the experiment is computed on the fly
from the sliders; the experiment trains in background processes (`LiveRun`) owned by this session.
"""
from __future__ import annotations

import zlib

import numpy as np
import streamlit as st

from transformer.config import ARCH_LABELS
from transformer.figures import positional as figs
from transformer.runs.job import ACTIVE
from transformer.runs.limiter import max_concurrent_runs
from transformer.runs.live import LiveRun
from transformer.positional import sinusoidal_encoding
from transformer.analysis.projection import (
    cosine_similarity_matrix,
    dot_similarity_matrix,
    rope_scores,
    rotation_error,
    sinusoidal_rotation,
)
from transformer.tasks import get_task
from transformer.training import TrainConfig
from transformer.ui.live_figures import live_figures
from transformer.ui.session import current_model, session_runs
from transformer.ui.state import KEEP, LinkedSettings, Setting, memo, show_notes

SCHEMES = ("sinusoidal", "learned", "rope", "none")
BASES = (10, 100, 1_000, 10_000, 100_000)
# The page's sections, one tab each; the open one travels in the link as ?section=...
SECTIONS = ("1 · The sinusoidal table", "2 · Same word, two positions", "3 · Rotation",
            "4 · Four schemes", "5 · Experiment")
COMPARE_POSITIONS = 48  # the side-by-side matrices stay legible at this size

# Small enough that four 300-step runs take about half a minute on 2 idle CPU cores.
EXPERIMENTS = {
    "Decoder (GPT-style) on reverse": dict(task="reverse", arch="decoder"),
    "Encoder (BERT-style) on reverse": dict(task="reverse", arch="encoder"),
    "Decoder (GPT-style) on sort": dict(task="sort", arch="decoder"),
    "Encoder (BERT-style) on sort": dict(task="sort", arch="encoder"),
}
EXPERIMENT_TASK = dict(length=6, n_symbols=8)
EXPERIMENT_MODEL = dict(d_model=32, n_heads=4, n_layers=2, d_ff=64, dropout=0.0)
SECONDS_PER_STEP = 0.06  # per run, one thread each, measured on a busy shared 2-core machine (rough)


# --------------------------------------------------------------------------- experiment runs


# The experiment's slots in the session's run registry: "pe:<scheme>".
PE = "pe:"


def _experiment_runs() -> dict:
    """scheme -> LiveRun of this session's experiment (stopped when the session ends)."""
    return {slot.removeprefix(PE): run for slot, run in session_runs().slots(PE).items()}


def start_experiment(name: str, steps: int) -> dict:
    """Stop any previous experiment and start one run per scheme (queued beyond the run limit)."""
    spec = EXPERIMENTS[name]
    task = get_task(spec["task"], **EXPERIMENT_TASK)
    runs = {}
    for scheme in SCHEMES:
        cfg = task.model_config(spec["arch"], pos_encoding=scheme, **EXPERIMENT_MODEL)
        train = TrainConfig(steps=steps, batch_size=64, lr=3e-3, warmup=min(30, steps // 5),
                            eval_every=25, eval_size=128, seed=0)
        runs[scheme] = LiveRun(task, cfg, train, snapshot_every=max(25, steps // 4))
    registry = session_runs()
    registry.clear(PE)
    for scheme, run in runs.items():
        registry.put(PE + scheme, run.start(), f"PE {scheme}")
    st.session_state["pe.experiment_name"] = name
    return runs


def _learned_table():
    """(table [P, d], where it came from) or (None, why not), current model first."""
    current = current_model()
    if current is not None:
        cfg = current.model.cfg
        table = getattr(getattr(current.model, "pos", None), "table", None)
        if table is not None:
            return table.weight.detach().double().numpy(), f"the current model ({current.label})"
        if cfg.is_recurrent:
            why = (f"the current model is a {ARCH_LABELS.get(cfg.arch, cfg.arch)}: it reads tokens one after "
                   "another, so order is built in and it has no position table")
        else:
            why = f"the current model uses {cfg.pos_encoding} positions, so it has no learned table"
    else:
        why = "this session has no trained model yet"
    run = _experiment_runs().get("learned")
    snap = run.latest() if run is not None else None
    if snap is not None and snap.pos_table is not None:
        return np.asarray(snap.pos_table, dtype=float), f"the experiment's learned-position run (step {snap.step})"
    return None, why


# --------------------------------------------------------------------------- the view in the URL
# The table's settings travel in the URL (?d_model=128&positions=200&base=100&k=5), so a link
# reopens this exact view, and their widgets keep them across a visit to another page.
VIEW = LinkedSettings("pe.", [
    Setting("d_model", 64, 4, 256, step=2),
    Setting("positions", 100, 8, 512, step=4),
    Setting("base", 10_000, choices=BASES),
    Setting("k", 3, 1, 64),
])


# --------------------------------------------------------------------------- the five sections


def table_section(pe: np.ndarray, base: int) -> None:
    """1 · the sinusoidal table: its waves, the table as a heatmap, and position similarity."""
    n_pos, d_model = pe.shape
    default_dims = sorted({0, 1, 2 * (d_model // 12), 2 * (d_model // 6)})  # fast to slow waves
    dims = st.multiselect("dimensions to plot", list(range(d_model)), default=default_dims, key=f"pe.dims.{d_model}",
                          help="Even dimensions are sines, odd ones cosines; dimensions 2i and 2i+1 share a wavelength.",
                          persist_state=KEEP)
    st.caption(
        f"PE[pos, 2i] = sin(pos / {base}^(2i/{d_model})), PE[pos, 2i+1] = cos(same angle). Wavelengths grow "
        f"geometrically from 2π ≈ {figs.wavelength(0, d_model, base):.1f} positions (dims 0-1) to "
        f"{figs.wavelength(d_model - 1, d_model, base):,.0f} positions (dims {d_model - 2}-{d_model - 1})."
    )
    if dims:
        st.plotly_chart(figs.encoding_curves_figure(pe, dims, base=base), key="pe.curves")
    else:
        st.info("Pick at least one dimension to plot its wave.")
    left, right = st.columns(2)
    left.plotly_chart(figs.encoding_heatmap_figure(pe), key="pe.heatmap")
    sim = dot_similarity_matrix(pe)
    right.plotly_chart(figs.position_similarity_figure(sim), key="pe.similarity")
    right.caption(
        f"PE(i)·PE(j) = Σ cos((i − j)·ωₖ): it depends only on the distance |i − j|, so every diagonal "
        "is constant. "
        f"The diagonal is d_model / 2 = {d_model // 2}."
    )


def word_section(pe: np.ndarray, base: int) -> None:
    """2 · the same word at two positions: the position vector is what tells them apart."""
    n_pos, d_model = pe.shape
    c1, c2, c3 = st.columns(3)
    word = c1.text_input("a word", value="cat", max_chars=30, key="pe.word",
                        persist_state=KEEP).strip()
    pos_a = c2.slider("first position", 0, n_pos - 1, min(2, n_pos - 1), key="pe.pos_a",
                      persist_state=KEEP)
    pos_b = c3.slider("second position", 0, n_pos - 1, min(9, n_pos - 1), key="pe.pos_b",
                      persist_state=KEEP)
    if not word:
        st.warning("Type a word to place it at two positions.")
    else:
        # A made-up embedding with the models' N(0, 1) start; any vector makes the same point.
        rng = np.random.default_rng(zlib.crc32(word.encode()))
        emb = rng.normal(size=d_model)
        st.plotly_chart(figs.same_word_figure(emb, pe[pos_a], pe[pos_b], pos_a, pos_b, word), key="pe.same_word")
        a, b = emb + pe[pos_a], emb + pe[pos_b]
        m1, m2, m3 = st.columns(3)
        m1.metric("distance, embedding alone", "0.00", help="The same row of the embedding table at both places.")
        m2.metric("distance with positions", f"{np.linalg.norm(a - b):.2f}", help=f"‖PE({pos_a}) − PE({pos_b})‖")
        m3.metric("cosine of the two vectors", f"{cosine_similarity_matrix(a[None], b[None])[0, 0]:.3f}",
                  help=f"'{word}' + PE({pos_a}) against '{word}' + PE({pos_b}); 1 would be identical.")
        if pos_a == pos_b:
            st.info("Both positions are the same: pick two different positions to see a difference.")
        st.caption(
            f"The embedding of '{word}' is one row of a table, the same wherever the word occurs. Without a position "
            "vector, attention would treat 'dog bites man' and 'man bites dog' as the same bag of words."
        )


def rotation_section(pe: np.ndarray, base: int) -> None:
    """3 · relative position is a rotation that does not depend on the position."""
    n_pos, d_model = pe.shape
    c1, c2 = st.columns(2)
    st.session_state["pe.k"] = min(st.session_state["pe.k"], n_pos - 1)  # fewer positions than the offset
    k = c1.slider("offset k", 1, min(n_pos - 1, 64), key="pe.k", persist_state=KEEP)
    n_pairs = d_model // 2
    default_pairs = sorted({n_pairs // 16, n_pairs // 8, n_pairs // 4})
    pairs = c2.multiselect("pairs (i = dims 2i, 2i+1)", list(range(n_pairs)), default=default_pairs,
                           key=f"pe.pairs.{d_model}", max_selections=4,
                           persist_state=KEEP)
    R = sinusoidal_rotation(k, d_model, base=float(base))
    if pairs:
        st.plotly_chart(figs.relative_rotation_figure(pe, k, pairs), key="pe.rotation")
    else:
        st.info("Pick at least one pair of dimensions.")
    left, right = st.columns([3, 2])
    shown = min(d_model, 32)
    left.plotly_chart(figs.rotation_matrix_figure(R[:shown, :shown]), key="pe.rotation_matrix")
    if shown < d_model:
        left.caption(f"The first {shown} of {d_model} rows and columns; the rest continue the block pattern.")
    error = rotation_error(pe, k, R)
    right.metric(f"largest |R_{k}·PE(pos) − PE(pos+{k})|", f"{error:.1e}",
                 help=f"Over all {n_pos - k} positions pos with pos + {k} in the table.")
    right.markdown(
        f"Each (sin, cos) pair turns by the angle k·ωᵢ, and **no `pos` appears in R_{k}**: one fixed linear map "
        "takes any position to the position k further on. A layer can therefore learn \"look 3 tokens back\" once, "
        "for every position. (The error is floating-point rounding.)"
    )


def schemes_section(pe: np.ndarray, base: int) -> None:
    """4 · sinusoidal, learned, rotary and none side by side."""
    n_pos, d_model = pe.shape
    P = min(n_pos, COMPARE_POSITIONS)
    learned, learned_from = _learned_table()
    rng = np.random.default_rng(0)
    x = rng.normal(size=d_model)
    rope_sim = rope_scores(x, x, P, base=float(base)) / float(x @ x)  # rotations keep length: this is the cosine
    matrices = {
        "sinusoidal": cosine_similarity_matrix(pe[:P]),
        "learned": cosine_similarity_matrix(learned[:P]) if learned is not None else None,
        "rope": rope_sim,
        "none": None,
    }
    notes = {
        "learned": f"No learned table: {learned_from}. Run the Experiment tab to train one.",
        "none": "Nothing is added: every position looks the same. A causal decoder can still count "
                "through its mask; an encoder cannot.",
    }
    st.plotly_chart(figs.scheme_similarity_figure(matrices, notes), key="pe.schemes")
    if learned is not None:
        st.caption(f"Learned table from {learned_from}: its rows started random and were trained; "
                   "neighbouring positions usually end up alike, like the sinusoidal ones.")
    st.markdown(
        "**Rotary (RoPE)** adds nothing to the token vectors. Inside attention it rotates each query and key by "
        "its own position, pair by pair. The dot product of a query at m and a key at n then depends only on m − n:"
    )
    q, kv = rng.normal(size=d_model), rng.normal(size=d_model)
    scores = rope_scores(q, kv, P, base=float(base))
    left, right = st.columns(2)
    left.plotly_chart(figs.position_similarity_figure(
        scores, title="RoPE q·k: constant along every diagonal", colorbar="q·k",
        x_title="key position n", y_title="query position m"),
        key="pe.rope_scores")
    right.plotly_chart(figs.offset_lines_figure(scores), key="pe.rope_offsets")
    spread = max(np.ptp(np.diagonal(scores, o)) for o in range(-P + 1, P))
    right.caption(f"Largest spread of q·k along any diagonal: {spread:.1e} (rounding), so q·k is a function of m − n.")


def experiment_section() -> None:
    """5 · train the same model with each scheme and compare."""
    st.markdown(
        "Train the same small model four times, changing only the positional encoding. Reversing and sorting "
        "both need order. A **decoder** can still recover some order without positions, because its causal mask "
        "lets position t see exactly t tokens. An **encoder** without positions is permutation-equivariant: "
        "it cannot tell which token came first, so it cannot learn to reverse."
    )
    c1, c2 = st.columns([2, 1])
    name = c1.selectbox("experiment", list(EXPERIMENTS), key="pe.experiment", persist_state=KEEP)
    steps = c2.slider("training steps per run", 100, 1000, 300, step=50, key="pe.steps", persist_state=KEEP)
    EXPECT = {
        "decoder": "What we saw on reverse: all four learn it, and without positions the decoder is slowest "
                   "(about 0.99 token accuracy after 300 steps, where the others reach 1.0 by step 150).",
        "encoder": "What we saw on reverse: sinusoidal learns it; none does not stay at chance (1 in 8) but "
                   "plateaus near 40% token accuracy, what the bag of letters allows without any order. Rotary gets part of "
                   "the way (it sees only offsets between tokens, and reversing needs absolute places), and learned "
                   "positions start near zero, so in a short run they may not grow enough to help.",
    }
    if EXPERIMENTS[name]["task"] == "reverse":
        st.caption(EXPECT[EXPERIMENTS[name]["arch"]] + " Your numbers depend on the seed and the steps.")
    concurrent = max(1, min(len(SCHEMES), max_concurrent_runs()))
    estimate = steps * SECONDS_PER_STEP * len(SCHEMES) / concurrent
    runs = _experiment_runs()
    if st.button(f"Run the experiment (4 runs, about {estimate:.0f} s)", type="primary", key="pe.run"):
        try:
            start_experiment(name, steps)
        except ValueError as err:
            st.error(str(err))
        else:
            st.rerun()  # from the top, so the sidebar (drawn before the page) lists the new runs
    # Refresh every 2 s only while a run trains (four curves change slowly; the training processes
    # need the CPU more); the last refresh reruns the page once to stop.
    running = any(run.status in ACTIVE for run in runs.values())
    st.fragment(_experiment_progress, run_every=2.0 if running else None)(running)


def _experiment_progress(running: bool) -> None:
    runs = _experiment_runs()
    if not runs:
        st.caption("No experiment yet: press the button to train the four models.")
        return
    first = next(iter(runs.values()))
    st.caption(f"{st.session_state.get('pe.experiment_name', '')}: {first.task.name}, "
               f"{ARCH_LABELS.get(first.model_cfg.arch, first.model_cfg.arch)}, d_model {first.model_cfg.d_model}.")
    cols = st.columns(len(runs))
    for col, (scheme, run) in zip(cols, runs.items()):
        progress = run.progress
        status = run.status
        text = f"queued ({run.queue_position or 1})" if status == "queued" else f"{status}, step {progress['step']}"
        col.progress(min(1.0, progress["step"] / max(1, progress["total"])), text=f"{scheme}: {text}")
        if status == "failed":
            col.error(run.message or "This run failed.")
    histories = {scheme: run.evals for scheme, run in runs.items()}
    version = (tuple(id(run) for run in runs.values()), tuple(len(h) for h in histories.values()))
    acc, loss = memo("pe.exp_figs", version, lambda: (
        figs.scheme_curves_figure(histories, "token_acc"),
        figs.scheme_curves_figure(histories, "val_loss", title="Validation loss per scheme (lower is better)")))
    live_figures({"accuracy": acc, "loss": loss}, key="pe.exp-curves")  # redrawn in place: zoom stays
    if all(run.status not in ACTIVE for run in runs.values()):
        if running:
            st.rerun()
        final = {s: (r.evals[-1] if r.evals else {}) for s, r in runs.items()}
        summary = ", ".join(f"{s} {row.get('token_acc', 0):.0%}" for s, row in final.items())
        st.success(f"Done. Final token accuracy: {summary}.")


# --------------------------------------------------------------------------- page

st.title("Positional encoding lab")
st.markdown(
    "Self-attention compares every token with every other token, and nothing in that comparison says "
    "*where* a token is: shuffle the input and the outputs shuffle the same way. Order has to be put in. "
    "This page shows the four ways the library does it."
)

show_notes(VIEW.start())

# The table's settings sit above the sections because every section reads them.
c1, c2, c3 = st.columns(3)
d_model = c1.slider("d_model (numbers per position)", 4, 256, step=2, key="pe.d_model", persist_state=KEEP,
                    help="Even only: the table is made of (sin, cos) pairs.")
n_pos = c2.slider("positions", 8, 512, step=4, key="pe.positions", persist_state=KEEP)
base = c3.select_slider("base", options=BASES, key="pe.base", persist_state=KEEP,
                        help="The 2017 paper uses 10000. A smaller base makes the slowest wave shorter.")
VIEW.sync_link()
pe = sinusoidal_encoding(n_pos, d_model, base=float(base)).double().numpy()  # (n_pos, d_model)

# One section at a time: only the open tab is computed and drawn (a page of eleven charts took
# 2-3 s to switch to), the open one is in the link (?section=...), and each section's own
# controls keep their values while another section is open.
table_tab, word_tab, rotation_tab, schemes_tab, experiment_tab = st.tabs(
    list(SECTIONS), key="section", on_change="rerun", bind="query-params")
for tab, draw in zip((table_tab, word_tab, rotation_tab, schemes_tab), (table_section, word_section,
                                                                     rotation_section, schemes_section)):
    with tab:
        if tab.open:
            draw(pe, base)
with experiment_tab:
    if experiment_tab.open:
        experiment_section()
