"""Train: pick a task and a model, press Train, and watch it learn once a second.

The settings (filled from the task's preset, mirrored in the URL) sit at the top; below them a
fragment that refreshes itself once a second while the run is active shows the buttons,
progress, the loss / accuracy / learning-rate / gradient-norm curves (loss and accuracy on the
training examples beside the held-out ones, so memorising shows as a gap) and the model's current
answers, or for the character model a few sampled continuations. Weight decay, a finite training
set and early stopping are settings like the rest. The run trains in a background process (`transformer.runs.live.LiveRun`); this page only
reads what it publishes.
"""
from __future__ import annotations

import streamlit as st

from transformer.build import parameter_count
from transformer.checkpoint import checkpoint_bytes
from transformer.config import ARCH_LABELS, RECURRENT_ARCHS, SEQ2SEQ_RNN_ARCHS, ModelConfig
from transformer.decoding import predict
from transformer.devices import available_devices
from transformer.figures.training import lr_figure
from transformer.runs.job import ACTIVE
from transformer.runs.limiter import max_concurrent_runs
from transformer.runs.live import LiveRun
from transformer.runs.snapshot import grade_answers
from transformer.tasks import TASKS, text_tasks  # pictures (shapes) train on the Vision transformer page
from transformer.training import lr_curve, validation_examples
from transformer.ui import settings as S
from transformer.ui.charlm_panel import own_text_controls, show_samples
from transformer.ui.live_figures import live_figures
from transformer.ui.session import get_lab, load_checkpoint_bytes, presenter_mode, set_run
from transformer.ui.state import KEEP, LinkedSettings, memo, show_notes
from transformer.ui.text import plain
from transformer.ui.uploads import take_upload
from transformer.ui.widgets import live_curves, progress_text, rerun_once_when_done, scroll_to, show_answers
from transformer.ui.classroom import class_box

K = "train."  # prefix of this page's widget keys in st.session_state
N_EXAMPLES = 4  # answers shown for an uploaded checkpoint
# Every settings widget is drawn with persist_state=KEEP: it keeps its value while it is not drawn
# (the panel folded during a run, the heads of a recurrent model, another page) and hands it back
# to the browser when drawn again. Without it Streamlit keeps the value on the server but the
# browser remounts the widget at its default (d_model 1, task "Copy"), and the next touch sends
# those defaults back: Reset showed a scrambled panel that then switched to the Copy preset.
# While training, the progress line refreshes every second and the curves every 2 s. Each refresh
# is Python work for the server and, for the browser, a redraw of the curves that changed.
CHART_REFRESH_S = 2.0


# --------------------------------------------------------------------------- settings state
# The settings live in their widgets' keys (K + name); the link is read and written by the
# rules of ui/settings.py (a task's preset, then the link's values).
SETTINGS = LinkedSettings(K, read=S.settings_from_query, write=S.settings_to_query, names=S.LINK_NAMES)
_apply = SETTINGS.set
_current_settings = SETTINGS.values


def _on_task_change() -> None:
    _apply(S.preset_settings(st.session_state[K + "task"]))


def _on_arch_change() -> None:
    settings = _current_settings()
    try:
        _apply(S.preset_settings(settings["task"], st.session_state[K + "arch"], S.task_params_of(settings)))
    except ValueError:  # the task parameters are invalid right now: keep the sizes as they are
        pass


def _on_preset() -> None:
    settings = _current_settings()
    try:
        _apply(S.preset_settings(settings["task"], settings["arch"], S.task_params_of(settings)))
    except ValueError:
        _apply(S.preset_settings(settings["task"], settings["arch"]))


@st.cache_data(show_spinner=False, max_entries=256)
def _parameter_count(cfg: dict) -> int | None:
    """Parameters of the model these settings describe (None when they cannot build one)."""
    try:
        return parameter_count(ModelConfig.from_dict(cfg))
    except Exception:  # settings the panel reports as invalid elsewhere: just leave the count out
        return None


def _settings_panel() -> S.Built:
    """Draw the task / model / training controls; return the validated configs."""
    task_name = _current_settings()["task"]
    task_cls = TASKS[task_name]
    col_task, col_model, col_train = st.columns(3, gap="large")

    with col_task:
        st.subheader("Task")
        st.selectbox("Task", text_tasks(), key=K + "task", persist_state=KEEP, on_change=_on_task_change,
                     format_func=lambda n: TASKS[n].title or n, label_visibility="collapsed")
        st.caption(task_cls.description)
        ranges = task_cls.param_ranges
        for name in task_cls.params:
            lo, hi = ranges.get(name, (0, 10_000))
            st.number_input(name.replace("_", " "), min_value=lo, max_value=hi, step=1, key=K + name,
                            persist_state=KEEP, help=task_cls.param_help.get(name))
        if task_name == "charlm":
            own_text_controls(K)
        if task_cls.teaches:
            st.caption(f"**What it shows:** {task_cls.teaches}")

    settings = _current_settings()
    built = S.build(settings, text=_own_text())
    if built.task is not None:  # how big the question space is, and how much of it is held out
        col_task.caption(f"**Held out:** {built.task.split_note()}")
    arch = settings["arch"]
    recurrent = arch in RECURRENT_ARCHS + SEQ2SEQ_RNN_ARCHS

    with col_model:
        st.subheader("Model")
        st.selectbox("Architecture", list(task_cls.archs), key=K + "arch", persist_state=KEEP,
                     on_change=_on_arch_change, format_func=lambda a: ARCH_LABELS.get(a, a))
        a, b = st.columns(2)
        a.number_input("hidden size" if recurrent else "d_model (width)", *S.INT_RANGES["d_model"], step=8,
                       key=K + "d_model", persist_state=KEEP, help="Size of every token's vector.")
        b.number_input("layers", *S.INT_RANGES["n_layers"], step=1, key=K + "n_layers", persist_state=KEEP)
        if not recurrent:
            a.number_input("heads", *S.INT_RANGES["n_heads"], step=1, key=K + "n_heads", persist_state=KEEP,
                           help="d_model must be divisible by the number of heads.")
            b.number_input("d_ff (feed-forward width)", *S.INT_RANGES["d_ff"], step=32, key=K + "d_ff",
                           persist_state=KEEP)
            a.selectbox("positional encoding", S.CHOICES["pos_encoding"], key=K + "pos_encoding", persist_state=KEEP)
        b.number_input("dropout", *S.FLOAT_RANGES["dropout"], step=0.05, format="%.2f", key=K + "dropout",
                       persist_state=KEEP)
        if "model" in built.errors:
            st.error(built.errors["model"])
        elif built.model_cfg is not None:
            count = _parameter_count(built.model_cfg.to_dict())
            if count is not None:
                st.caption(f"{count:,} parameters")

    with col_train:
        st.subheader("Training")
        a, b = st.columns(2)
        a.number_input("learning rate", *S.FLOAT_RANGES["lr"], step=0.001, format="%g", key=K + "lr",
                       persist_state=KEEP, help="Peak rate after warm-up. Try 10 to see a loss blow up.")
        b.number_input("warm-up steps", *S.INT_RANGES["warmup"], step=10, key=K + "warmup", persist_state=KEEP)
        a.number_input("batch size", *S.INT_RANGES["batch_size"], step=16, key=K + "batch_size", persist_state=KEEP)
        b.number_input("steps", *S.INT_RANGES["steps"], step=100, key=K + "steps", persist_state=KEEP)
        a.selectbox("schedule", S.CHOICES["schedule"], key=K + "schedule", persist_state=KEEP)
        b.number_input("seed", *S.INT_RANGES["seed"], step=1, key=K + "seed", persist_state=KEEP,
                       help="Same seed, same settings: the same run.")
        devices = ["auto", *available_devices()]
        if st.session_state.get(K + "device") not in devices:
            st.session_state[K + "device"] = "auto"
        a.selectbox("device", devices, key=K + "device", persist_state=KEEP)
        _cure_controls(b)
        if "train" in built.errors:
            st.error(built.errors["train"])

    if "task" in built.errors:
        col_task.error(built.errors["task"])
    st.button("Back to the preset", on_click=_on_preset, key=K + "preset",
              help="Refill the model and training settings with the values that work for this task.")
    return built


def _cure_controls(b) -> None:
    """Weight decay (beside the device, in column `b`), a finite training set and early stopping:
    the cures for memorising. The last two take the column's whole width: their box also holds a
    clear button, and a half-width one cut "200" to "20"."""
    b.number_input("weight decay", *S.FLOAT_RANGES["weight_decay"], step=0.01, format="%.2f", key=K + "weight_decay",
                   persist_state=KEEP, help="At each step AdamW shrinks every weight matrix by learning rate × this "
                                            "(embeddings, biases and norms are left alone). Memorising takes large "
                                            "weights, so decay works against it.")
    st.number_input("training examples", *S.OPTIONAL_RANGES["train_size"], value=None, step=100,
                    key=K + "train_size", persist_state=KEEP, placeholder="fresh every step",
                    help="Empty: every batch draws fresh examples from the training part. A number N: only N fixed "
                         "examples, reused epoch after epoch. Few examples let the model memorise them: watch the "
                         "validation curve stay behind the training curve.")
    st.number_input("early stopping: patience in evaluations", *S.OPTIONAL_RANGES["early_stop"], value=None, step=1,
                    key=K + "early_stop", persist_state=KEEP, placeholder="off",
                    help="Empty: off. N: stop once the validation loss has not improved for N evaluations in a "
                         "row, and keep the weights of its best evaluation.")


def _own_text() -> str | None:
    """The character model's text from its box (None: the built-in text). The box keeps it
    (persist_state) while the settings are folded or another page is shown."""
    text = st.session_state.get(K + "text") or ""
    return text if text.strip() else None


def _summary(settings: dict) -> str:
    """The settings in one line, the expander's label (what a class sees when it is closed)."""
    task_cls = TASKS[settings["task"]]
    params = ", ".join(f"{k.replace('_', ' ')} {settings[k]}" for k in task_cls.params if k in settings)
    arch = settings["arch"]
    if arch in RECURRENT_ARCHS + SEQ2SEQ_RNN_ARCHS:
        sizes = f"hidden {settings['d_model']}, {settings['n_layers']} layer(s)"
    else:
        sizes = f"d_model {settings['d_model']}, {settings['n_heads']} heads, {settings['n_layers']} layers"
    text = _own_text() if settings["task"] == "charlm" else None
    if text is not None:
        params += f", your text of {len(text):,} characters"
    cures = []
    if settings.get("train_size"):
        cures.append(f"{settings['train_size']:,} training examples")
    if settings.get("early_stop"):
        cures.append(f"early stop {settings['early_stop']}")
    return (f"**Settings:** {task_cls.title or task_cls.name} ({params}) · {ARCH_LABELS.get(arch, arch)} · "
            f"{sizes} · lr {settings['lr']:g} · {settings['steps']:,} steps · seed {settings['seed']}"
            + "".join(f" · {c}" for c in cures))


# --------------------------------------------------------------------------- the live dashboard


def _status_message(run: LiveRun) -> None:
    status, step = run.status, run.progress["step"]
    if status == "queued":
        st.warning(f"Queued, position {run.queue_position or 1}: this server trains {max_concurrent_runs()} "
                   "run(s) at a time, and yours starts as soon as one ends.")
    elif status == "failed":
        st.error(run.message or "Training stopped with an error.")
    elif status == "paused":
        st.info(f"Paused at step {step}. **Step** takes one optimizer step at a time; **Resume** goes on.")
    elif status == "stopped":
        st.info(f"Stopped at step {step}. The model is kept: explore it on the other pages, save it below, "
                "or press Train to start again.")
    elif status == "finished":
        # The model kept is the latest snapshot's: after an early stop, the best evaluation's weights.
        snapshot = run.latest()
        last = snapshot.metrics if snapshot is not None else (run.evals[-1] if run.evals else {})
        acc = last.get("token_acc" if run.task.kind == "text" else "seq_acc")
        what = "next characters right" if run.task.kind == "text" else "answers right"
        if run.message:  # why it ended before its last step (early stopping says which weights it kept)
            kept = f" The model kept gets {100 * acc:.1f} % of held-out {what}." if acc is not None else ""
            st.success(f"{run.message}{kept} Explore it on the other pages, or save it below.")
        else:
            tail = f" with {100 * acc:.1f} % of held-out {what}" if acc is not None else ""
            st.success(f"Finished after {step} steps{tail}. Explore the model on the other pages, or save it below.")


def _epochs_text(run: LiveRun, step: int) -> str:
    """With a finite training set, how often each example has been seen (memorising needs repeats):
    a part of the progress line, which presenter mode fits on one screen with the four curves."""
    size = run.train_cfg.train_size
    if not size or not step:
        return ""
    epochs = step * min(run.train_cfg.batch_size, size) / size
    return f" · {size:,} fixed examples, each seen {epochs:.1f}×" if epochs < 10 else \
        f" · {size:,} fixed examples, each seen {epochs:,.0f}×"


def _blow_up_warning(run: LiveRun) -> None:
    """A loss far above where it started means the steps overshoot: say so while it happens.

    (A loss that turns NaN or infinite stops the run with its own message; a too-high learning
    rate often does not get that far, because clipping and LayerNorm keep the numbers finite.)
    """
    history = run.history
    if len(history) < 10 or run.status == "failed":
        return
    start = history[0]["loss"]  # measured before the first update: the untrained model's loss
    recent = sum(r["loss"] for r in history[-10:]) / 10
    if recent > 2 * start and recent > start + 1:
        st.warning(f"The loss ({recent:.3g}) is far above where it started ({start:.3g}): the learning rate "
                   f"({run.train_cfg.lr:g}) is too high, so each step overshoots. Stop, lower it (e.g. to 0.003) "
                   "and press Train.")


# The buttons act in callbacks, which run before the page redraws, so every label and message
# already shows the new state. Starting, stopping or forgetting a run also changes the sidebar
# and which parts refresh, so those ask for one full rerun ("full_rerun").


def _on_train(built: S.Built, step_only: bool = False) -> None:
    try:
        run = LiveRun(built.task, built.model_cfg, built.train_cfg)
    except ValueError as err:
        st.session_state[K + "start_error"] = str(err)
        return
    st.session_state.pop(K + "start_error", None)
    set_run(run, origin="train")
    st.session_state[K + "settings_open"] = False
    st.session_state[K + "scroll"] = True  # presenter mode: bring progress and curves into view
    if step_only:
        run.step_once()  # starts the run paused, with one step to take
    else:
        run.start()
    st.session_state[K + "full_rerun"] = True


def _on_pause_resume() -> None:
    run = get_lab().run
    # A statement, not a conditional expression: a bare expression in a page is written to the
    # page by Streamlit's "magic" (it put a "None" over the title at each press).
    if run is None:
        return
    if run.status == "paused":
        run.resume()
    else:
        run.pause()


def _on_step(built: S.Built) -> None:
    run = get_lab().run
    if run is None:
        _on_train(built, step_only=True)
    else:
        run.step_once()


def _on_stop() -> None:
    run = get_lab().run
    if run is not None:
        run.stop()
    st.session_state[K + "full_rerun"] = True


def _on_reset() -> None:
    set_run(None)
    st.session_state[K + "settings_open"] = True  # back to choosing settings
    st.session_state.pop(K + "figs", None)
    st.session_state[K + "full_rerun"] = True


def _buttons(run: LiveRun | None, built: S.Built) -> None:
    status = run.status if run is not None else "idle"
    active = status in ACTIVE
    c1, c2, c3, c4, c5 = st.columns(5)
    c1.button("Train", type="primary", key=K + "b.train", disabled=not built.ok, width="stretch",
              on_click=_on_train, args=(built,),
              help="Start a new run with the settings above (replaces the current one).")
    c2.button("Resume" if status == "paused" else "Pause", key=K + "b.pause", width="stretch",
              disabled=status not in ("training", "paused"), on_click=_on_pause_resume)
    c3.button("Step", key=K + "b.step", width="stretch", disabled=not (active or (run is None and built.ok)),
              on_click=_on_step, args=(built,), help="One optimizer step, then pause: to watch a single update.")
    c4.button("Stop", key=K + "b.stop", disabled=not active, width="stretch", on_click=_on_stop,
              help="End the run; the model trained so far is kept.")
    c5.button("Reset", key=K + "b.reset", disabled=run is None, width="stretch", on_click=_on_reset,
              help="Stop and forget the run: back to an untrained model.")


def _dashboard(built: S.Built) -> None:
    """Buttons, progress and messages: a fragment that refreshes every second while training."""
    if st.session_state.pop(K + "full_rerun", False):
        st.rerun()  # a button started, stopped or forgot the run
    lab = get_lab()
    run = lab.run
    rerun_once_when_done(run, K + "ticking")  # the run ended since the last refresh
    _buttons(run, built)
    if st.session_state.get(K + "start_error"):
        st.error(plain(st.session_state[K + "start_error"]))
    if run is None:
        _idle(built)
        return
    progress = run.progress
    with st.container(key="train-progress"):
        st.progress(min(1.0, progress["step"] / max(1, progress["total"])),
                    text=progress_text(progress, run.status) + _epochs_text(run, progress["step"]))
    _status_message(run)
    _blow_up_warning(run)


def _curves_and_answers(built: S.Built) -> None:
    """The four curves and the model's answers: a fragment of its own that refreshes every
    CHART_REFRESH_S, so the once-a-second progress refresh does not re-send four charts.
    Before a run, the planned learning-rate schedule, drawn by the same frame: the browser
    loads Plotly while the page is idle, not while the first run trains."""
    lab = get_lab()
    run = lab.run
    if run is None:
        if lab.checkpoint is None and built.train_cfg is not None:
            plan_steps, plan_lr = lr_curve(built.train_cfg)
            live_figures({"lr": lr_figure([], [], planned_steps=plan_steps, planned_lr=plan_lr, uirevision="plan")},
                         key=K + "curves")
        return
    figs = live_curves(run, lab.run_id, K + "figs")
    # Redrawn in place, only the curves that changed (st.plotly_chart would mount all four again
    # at every refresh; see transformer.ui.live_figures). The page's element: .st-key-train-curves
    live_figures(figs, key=K + "curves")
    if run.task.kind == "text":
        st.subheader("What the model writes")
        show_samples(run, K + "samples")
        return
    st.subheader("The model's answers on fixed examples")
    snapshot = run.latest()
    if snapshot is None or not snapshot.answers:
        st.caption("They appear with the first snapshot, a moment after training starts.")
    else:
        st.caption(f"At step {snapshot.step}. Wrong tokens are marked; a row is ✓ when every token is right.")
        with st.container(key="answers"):
            show_answers(snapshot.answers, run.task)


def _idle(built: S.Built) -> None:
    if _checkpoint_shown():
        return
    st.info("Pick a task and a model above, then press **Train**: the curves below fill in as it learns, "
            "and the table shows its answers going from nonsense to right.")


def _checkpoint_shown() -> bool:
    """With no run, an uploaded checkpoint is what the other pages show: say so, with its answers."""
    loaded = get_lab().checkpoint
    if loaded is None:
        return False
    st.success(f"Loaded **{plain(loaded.label)}**: the attention and embedding pages now explore it. "
               "Press Train to train a new model instead.")

    def answers():
        examples = validation_examples(loaded.task, N_EXAMPLES, seed=0)  # held out, as a run's probe
        return grade_answers(loaded.task, examples, predict(loaded.model, loaded.task, [e.src for e in examples]))

    show_answers(memo(K + "ckpt_answers", loaded, answers), loaded.task)
    return True


# --------------------------------------------------------------------------- save and load


def _save_load() -> None:
    lab = get_lab()
    current = lab.current_model()
    with st.expander("Save or load a model", expanded=False):
        left, right = st.columns(2)
        with left:
            if current is None:
                st.caption("Train a model first; then you can download it here.")

            def data() -> bytes:
                # Runs on a worker thread when clicked: read the lab, never st.*.
                now = lab.current_model()
                if now is None:  # reset between drawing the button and the click
                    return b""
                extra = {}
                if now.run is not None:
                    extra = {"train_config": now.run.train_cfg.to_dict(),
                             "metrics": dict(now.run.evals[-1]) if now.run.evals else {}}
                return checkpoint_bytes(now.model, now.task, extra=extra)

            name = f"{current.task.name}-{current.model.cfg.arch}.pt" if current else "model.pt"
            st.download_button("Download the current model (.pt)", data=data, file_name=name,
                               mime="application/octet-stream", disabled=current is None,
                               on_click="ignore", key=K + "save")
        with right:
            # Read once, then forgotten by the server (the loaded model is what the pages use).
            taken = take_upload("Load a checkpoint saved by this app", key=K + "upload", type=["pt"])
            if taken is not None:
                upload_name, data = taken
                try:
                    load_checkpoint_bytes(data, upload_name)
                    st.session_state[K + "upload_error"] = None
                except ValueError as err:
                    st.session_state[K + "upload_error"] = str(err)
                st.rerun()
            if st.session_state.get(K + "upload_error"):
                st.error(plain(st.session_state[K + "upload_error"]))


# --------------------------------------------------------------------------- the page

st.title("Train a model")
class_box()  # issue 19: the class code to share this run; a follower sees the teacher's run here and stops
show_notes(SETTINGS.start())
# Open until Train is pressed, then folded to its one-line summary so that the progress and the
# curves come into view (they were below the fold on a laptop screen). Drawn only while open:
# the settings keep their values (persist_state) and come back when it is opened again.
settings = st.expander(_summary(_current_settings()), expanded=True, key=K + "settings_open", on_change="rerun")
with settings:
    built = _settings_panel() if settings.open else S.build(_current_settings(), text=_own_text())
SETTINGS.sync_link()  # the URL reopens these settings, also after a visit to another page

run = get_lab().run
active = run is not None and run.status in ACTIVE
st.session_state[K + "ticking"] = active
st.fragment(_dashboard, run_every=1.0 if active else None)(built)
st.fragment(_curves_and_answers, run_every=CHART_REFRESH_S if active else None)(built)
_save_load()
if st.session_state.pop(K + "scroll", False) and presenter_mode():
    scroll_to("train-progress")  # at 1280x720 they fit one screen from the progress line down
