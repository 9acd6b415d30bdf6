"""Vision transformer: a picture becomes a sequence of patches; a ViT and a CNN of the same size
learn the same pictures side by side.

The race (`transformer.runs.race.RaceRun`) trains the ViT and its parameter-matched CNN in one
background thread, turn by turn, on the same pictures. At each evaluation the page takes the
ViT's latest weights (`race.model_copy`), looks at a few held-out pictures with them
(`transformer.analysis.vision.inspect_vit`) and keeps what it saw, so the views can be scrubbed
back through training time: [CLS] attention per layer and head, a chosen patch's attention,
attention rollout, the position embeddings' similarity grid, and the patch filters.
"""
from __future__ import annotations

import streamlit as st

from transformer.analysis.vision import inspect_vit
from transformer.build import parameter_count
from transformer.cnn import matched_cnn_config
from transformer.config import IMAGE_POS_ENCODINGS
from transformer.figures import for_projector
from transformer.figures.compare import race_curves
from transformer.figures.vision import (accuracy_by_size_figure, attention_overlay_grid, filters_figure,
                                        overlay_figure, patch_figure, position_similarity_figure, sequence_figure)
from transformer.presets import preset_configs
from transformer.runs.job import ACTIVE
from transformer.runs.race import RaceEntry, RaceRun
from transformer.tasks import get_task
from transformer.training import TrainConfig, run_configs
from transformer.ui.live_figures import live_figures
from transformer.ui.session import presenter_mode, session_runs
from transformer.ui.state import memo
from transformer.ui.widgets import race_status, rerun_once_when_done

K = "vit."
SLOT = "race:vision"
CHART = {"displaylogo": False}
PROBES = 8  # held-out pictures the views are drawn for
SIZES = {"a fresh picture at every step": None, "300 pictures": 300, "1,000 pictures": 1000,
         "3,000 pictures": 3000}
POSITIONS = {"learned": "learned (trained from scratch)", "sinusoidal": "2-D sinusoidal (fixed)",
             "none": "none (a bag of patches)"}


def _show(fig, key: str) -> None:
    st.plotly_chart(for_projector(fig) if presenter_mode() else fig, key=K + key, config=CHART)


# --------------------------------------------------------------------------- settings

def _settings():
    """Draw the settings; return (task, [RaceEntry], TrainConfig) or an error sentence."""
    c1, c2, c3 = st.columns(3)
    image_size = c1.number_input("picture size (pixels a side)", 8, 28, 16, step=1, key=K + "image_size")
    patch = c1.selectbox("patch size (pixels a side)", (2, 4, 8), index=1, key=K + "patch",
                         help="Each patch becomes one token: a 16x16 picture in 4x4 patches is 16 tokens.")
    pos = c2.selectbox("ViT positions", IMAGE_POS_ENCODINGS, format_func=POSITIONS.get, key=K + "pos")
    size_label = c2.selectbox("training set", list(SIZES), key=K + "size",
                              help="A fixed set is reused epoch after epoch; with little data, the CNN's built-in "
                                   "assumptions about pictures are a head start.")
    steps = c3.number_input("steps (each model)", 100, 5000, 1500, step=100, key=K + "steps")
    seed = c3.number_input("seed", 0, 2**31 - 1, 0, step=1, key=K + "seed")
    try:
        task = get_task("shapes", image_size=int(image_size))
        vit_cfg, train_cfg = preset_configs(task, "vit")
        vit_cfg, _ = run_configs(task, type(vit_cfg)(**{**vit_cfg.to_dict(), "patch_size": int(patch),
                                                        "pos_encoding": pos}))
        train = TrainConfig(**{**train_cfg.to_dict(), "steps": int(steps), "seed": int(seed), "eval_every": 50,
                               "train_size": SIZES[size_label], "eval_size": 256}).validate()
        entries = [RaceEntry("ViT", task, vit_cfg), RaceEntry("CNN", task, matched_cnn_config(vit_cfg))]
    except ValueError as err:
        return str(err)
    return task, entries, train


# --------------------------------------------------------------------------- the live part

def _start(planned) -> None:
    task, entries, train = planned
    try:
        race = RaceRun(entries, train)
    except ValueError as err:
        st.session_state[K + "error"] = str(err)
        return
    st.session_state.pop(K + "error", None)
    st.session_state[K + "frames"] = []  # what the ViT showed at each evaluation of this race
    session_runs().put(SLOT, race, "Vision: ViT vs CNN")
    race.start()


def _buttons(race, planned) -> None:
    status = race.status if race is not None else "idle"
    b1, b2, b3 = st.columns(3)
    if b1.button("Start: ViT against CNN", type="primary", disabled=isinstance(planned, str), key=K + "start",
                 width="stretch"):
        _start(planned)
        st.session_state[K + "fold"] = True
        st.rerun()
    paused = status == "paused"
    if b2.button("Resume" if paused else "Pause", disabled=status not in ("training", "paused"), key=K + "pause",
                 width="stretch"):
        race.resume() if paused else race.pause()
        st.rerun(scope="fragment")
    if b3.button("Stop", disabled=status not in ACTIVE, key=K + "stop", width="stretch"):
        session_runs().stop(SLOT)
        st.rerun()


def _probe(race):
    task = race.entries["ViT"].task
    return task, memo(K + "probe", task, lambda: task.examples(PROBES, seed=4321, split="val"))  # held out


def _record(race) -> list:
    """Append what the ViT shows now, once per new evaluation; return every frame so far."""
    frames = st.session_state.setdefault(K + "frames", [])
    evals = race.evals["ViT"]
    if evals and (not frames or frames[-1]["step"] != evals[-1]["step"]):
        task, examples = _probe(race)
        views = inspect_vit(race.model_copy("ViT"), task, examples)
        frames.append({"step": evals[-1]["step"], "acc": evals[-1]["seq_acc"], **views})
    return frames


def _sizes(race) -> list:
    """Finished races' held-out accuracy by training-set size (one point per model per race)."""
    done = st.session_state.setdefault(K + "sizes", {})
    run_id = session_runs().run_id(SLOT)
    if race.status not in ACTIVE and run_id not in done:
        size = race.trainers["ViT"].cfg.train_size
        evals = race.evals
        if all(evals[n] for n in ("ViT", "CNN")) and size is not None:
            done[run_id] = [{"arch": n, "train_size": size, "val_acc": evals[n][-1]["seq_acc"]} for n in ("ViT", "CNN")]
    return [row for rows in done.values() for row in rows]


def _views(race, frames) -> None:
    task, examples = _probe(race)
    c1, c2 = st.columns([1, 2])
    follow = c1.toggle("follow the latest step", value=True, key=K + "follow")
    steps = [f["step"] for f in frames]
    if follow or K + "step" not in st.session_state or st.session_state[K + "step"] not in steps:
        st.session_state[K + "step"] = steps[-1]
    step = c2.select_slider("training step", steps, key=K + "step", disabled=follow or len(steps) < 2)
    frame = frames[steps.index(step)]
    pick = c1.selectbox("picture", range(PROBES), key=K + "pick",
                        format_func=lambda i: f"{i + 1}: a {examples[i].tgt[0]} (held out)")
    image, patch, grid = task.pixels(examples[pick]), frame["patch"], frame["grid"]
    right = frame["predicted"][pick] == frame["expected"][pick]
    st.caption(f"Step {step}: the ViT gets {frame['acc']:.0%} of held-out pictures right; on this one it says "
               f"**{frame['predicted'][pick]}** ({'right' if right else 'wrong'}).")
    maps = {name: m[pick] for name, m in frame["maps"].items()}
    tabs = st.tabs(["Patches", "[CLS] attention", "From a patch", "Rollout", "Positions", "Filters"])
    with tabs[0]:
        _show(patch_figure(image, patch), "patches")
        _show(sequence_figure(image, patch), "sequence")
    with tabs[1]:
        st.caption("The [CLS] token reads the answer off the patches: where does it look? Brighter = more attention.")
        _show(attention_overlay_grid(image, maps, patch), "cls")
    with tabs[2]:
        query = st.number_input("patch", 1, grid * grid, 1, key=K + "query")
        _show(attention_overlay_grid(image, maps, patch, query=int(query)), "query-map")
    with tabs[3]:
        _show(overlay_figure(image, frame["rollout"][pick][0, 1:], patch,
                             "Attention rollout — how much of each patch reaches [CLS] through every layer",
                             what="share"), "rollout")
    with tabs[4]:
        if frame["pos"] is None:
            st.info("This ViT has no position embeddings: it sees a bag of patches. Choose learned positions and "
                    "start again to watch them form.")
        else:
            kind = "learned" if race.entries["ViT"].model_cfg.pos_encoding == "learned" else "fixed"
            _show(position_similarity_figure(frame["pos"], grid), "positions")
            st.caption(f"These positions are {kind}. Learned ones start as noise; nothing tells the model that patch "
                       f"{grid + 1} is under patch 1, yet each tile's bright spot moves to its own place as it trains. "
                       "Scrub the step back to watch the grid form.")
    with tabs[5]:
        _show(filters_figure(frame["filters"]), "filters")


def _curves(evals: dict) -> dict:
    """{x: figure} of the race, rebuilt only when an evaluation was added (building Plotly
    figures costs the training thread time: it shares the interpreter with this page)."""
    big = presenter_mode()

    def build() -> dict:
        figs = {x: race_curves(evals, x=x) for x in ("step", "train_s")}
        return {x: for_projector(f) for x, f in figs.items()} if big else figs

    version = (session_runs().run_id(SLOT), tuple(len(rows) for rows in evals.values()), big)
    return memo(K + "curves.figs", version, build)


def _race_view(planned) -> None:
    race = session_runs().get(SLOT)
    rerun_once_when_done(race, K + "ticking")
    _buttons(race, planned)
    if st.session_state.get(K + "error"):
        st.error(st.session_state[K + "error"])
    if race is None:
        st.info("Press **Start**: the ViT and a CNN with the same number of parameters learn the same pictures, "
                "in turns; the curves and the ViT's attention appear here and refresh every two seconds.")
        return
    race_status(race)
    progress, evals = race.progress, race.evals
    st.dataframe([{"model": name, "parameters": race.parameters[name], "step": p["step"],
                   "own compute (s)": round(p["train_s"], 1),
                   "held-out accuracy": round(evals[name][-1]["seq_acc"], 3) if evals[name] else None,
                   "status": p["status"]} for name, p in progress.items()], hide_index=True, key=K + "progress")
    live_figures(_curves(evals), key=K + "curves", columns=1)
    sizes = _sizes(race)
    if sizes:
        _show(accuracy_by_size_figure(sizes), "sizes")
        st.caption("One point per finished race with a fixed training set: run again with another size to add one. "
                   "What this run shows is what counts here, not what the literature says it should.")
    frames = _record(race)
    if frames:
        _views(race, frames)


# --------------------------------------------------------------------------- the page

st.title("Vision transformer")
st.markdown("A Vision Transformer (ViT) reads a picture as a sentence: it cuts it into square **patches**, turns each "
            "into a vector, and from there it is the same encoder as the text models. Race it against a small "
            "convolutional network (CNN) of the same size on pictures of shapes, and watch what its attention and "
            "its position embeddings learn.")
if st.session_state.pop(K + "fold", False):  # a race just started: fold the settings, bring the race into view
    st.session_state[K + "settings_open"] = False
with st.expander("Settings", expanded=True, key=K + "settings_open", on_change="rerun"):
    planned = _settings()
    if isinstance(planned, str):
        st.error(planned)
    else:
        task, entries, train = planned
        vit, cnn = (e.model_cfg for e in entries)
        st.caption(f"{task.description} **ViT:** {vit.n_patches} patches + [CLS], {parameter_count(vit):,} "
                   f"parameters. **CNN:** {cnn.n_layers} conv layers of {cnn.d_model} channels, "
                   f"{parameter_count(cnn):,} parameters.")
race = session_runs().get(SLOT)
active = race is not None and race.status in ACTIVE
st.session_state[K + "ticking"] = active
st.fragment(_race_view, run_every=2.0 if active else None)(planned)
