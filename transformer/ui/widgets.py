"""Controls and small displays shared by the pages.

The one most pages need is `ensure_model_widget`: it returns the session's current model, or
offers to train a preset when there is none, so a page that explores a trained model works on
a first visit too::

    from transformer.ui.widgets import ensure_model_widget

    current = ensure_model_widget(task_default="reverse")
    if current is None:
        st.stop()                      # the widget has drawn the offer or the preset's progress
    model, task, snapshots = current.model, current.task, current.snapshots
"""
from __future__ import annotations

import html
import math
from typing import Sequence

import streamlit as st

from ..config import ARCH_LABELS
from ..figures.presenter import for_projector_grid
from ..figures.training import (accuracy_figure, accuracy_series, columns, grad_norm_figure, grad_norm_series,
                                loss_figure, loss_series, lr_figure, lr_series, set_empty_note,
                                update_figure)
from ..runs.job import ACTIVE
from ..runs.live import LiveRun
from ..tasks import get_task
from ..presets import preset_configs
from ..training import lr_curve
from .session import CurrentModel, current_model, get_lab, presenter_mode, set_run
from .text import plain


# --------------------------------------------------------------------------- small formatters


def format_duration(seconds: float | None, precise: bool = False) -> str:
    """12.3 -> "12 s" ("12.3 s" when precise), 95 -> "1 min 35 s", None -> "unknown"."""
    if seconds is None or not math.isfinite(seconds):
        return "unknown"
    if precise and seconds < 60:
        return f"{max(0.0, seconds):.1f} s"
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def progress_text(progress: dict, status: str) -> str:
    """"Step 120 of 600 · 5,400 tokens/s · about 12 s left" from `LiveRun.progress`."""
    parts = [f"Step {progress['step']:,} of {progress['total']:,}"]
    if progress.get("tokens_per_s"):
        parts.append(f"{progress['tokens_per_s']:,.0f} tokens/s")
    if status == "training" and progress.get("eta_s") is not None:
        parts.append(f"about {format_duration(progress['eta_s'])} left")
    elif status in ("finished", "stopped", "failed", "paused"):
        parts.append(f"{format_duration(progress.get('elapsed_s'), precise=True)} of training")
    return " · ".join(parts)


# --------------------------------------------------------------------------- live curves


def live_curves(run: LiveRun, run_key, state_key: str) -> dict:
    """{"loss", "accuracy", "lr", "grad_norm"}: a run's four curves, kept in
    st.session_state[state_key]. Built once per run (`run_key` tells runs apart); after that each
    new history row only swaps the lines in (`update_figure`), because building a plotly Figure
    costs more than the training steps it would steal from the run in the same process."""
    history, evals = run.history, run.evals
    big = presenter_mode()
    status = run.status
    waiting = _waiting_note(status) if not history and not evals else None
    key = (run_key, len(history), len(evals), big, waiting)
    cached = st.session_state.get(state_key)
    if cached is not None and cached[0] == key:
        return cached[1]
    steps, loss, lr, grad_norm = columns(history, "step", "loss", "lr", "grad_norm")
    e_steps, val_loss = columns(evals, "step", "val_loss")
    a_steps, token_acc, seq_acc = columns(evals, "step", "token_acc", "seq_acc")
    # The same measured on training examples (rows from before the trainer did have none).
    t_steps, train_loss = columns(evals, "step", "train_loss")
    ta_steps, train_token_acc, train_seq_acc = columns(evals, "step", "train_token_acc", "train_seq_acc")
    text = run.task.kind == "text"
    if text:  # a text window is never all right
        seq_acc = train_seq_acc = None
    train_acc = dict(train_steps=ta_steps, train_token_acc=train_token_acc, train_seq_acc=train_seq_acc)
    plan_steps, plan_lr = lr_curve(run.train_cfg)
    series = {
        "loss": loss_series(steps, loss, e_steps, val_loss, train_steps=t_steps, train_loss=train_loss),
        "accuracy": accuracy_series(a_steps, token_acc, seq_acc, **train_acc),
        "lr": lr_series(steps, lr, plan_steps, plan_lr),
        "grad_norm": grad_norm_series(steps, grad_norm),
    }
    revision = f"run-{run_key}"  # zoom survives refreshes; a new run starts unzoomed
    builders = {
        "loss": lambda: loss_figure(steps, loss, e_steps, val_loss, train_steps=t_steps, train_loss=train_loss,
                                    uirevision=revision + "-loss"),
        "accuracy": lambda: accuracy_figure(a_steps, token_acc, seq_acc, **train_acc,
                                            target=run.task.preset(run.model_cfg.arch).target_acc,
                                            title="Next-character accuracy — training (dashed) vs validation" if text else None,
                                            uirevision=revision + "-acc"),
        "lr": lambda: lr_figure(steps, lr, planned_steps=plan_steps, planned_lr=plan_lr,
                                uirevision=revision + "-lr", height=280),
        "grad_norm": lambda: grad_norm_figure(steps, grad_norm, clip=run.train_cfg.grad_clip,
                                              uirevision=revision + "-gn", height=280),
    }
    same_run = cached is not None and cached[0][0] == run_key and cached[0][3] == big
    figs = dict(cached[1]) if same_run else {}
    for name, build in builders.items():
        if name in figs:
            update_figure(figs[name], series[name])
        else:
            # Presenter mode: larger text, same height, so progress and all four fit at 1280x720.
            figs[name] = for_projector_grid(build()) if big else build()
    if waiting:
        set_empty_note(figs["loss"], waiting)
    st.session_state[state_key] = (key, figs)
    return figs


def _waiting_note(status: str) -> str:
    """What the empty loss chart says while a run has no data yet (not "Press Train": it was).
    Short: it is one line across a half-width chart."""
    if status == "queued":
        return "Queued: waiting for a free training slot."
    if status == "training":
        return "Training started: the first evaluation comes in a moment."
    if status == "paused":
        return "Paused before the first step: press Step or Resume."
    return "The run ended before its first evaluation."


# --------------------------------------------------------------------------- the model's answers

# Wrong tokens get a vermillion background *and* an underline, so they stay visible without
# colour vision; right ones a quiet green.
ANSWERS_CSS = """<style>
.tlab-answers { width: 100%; border-collapse: collapse; }
.tlab-answers th { text-align: left; }
.tlab-answers code { font-size: 1.05em; }
.tlab-wrong { background: #D55E00; color: #fff; border-radius: 3px; padding: 0 2px; text-decoration: underline; }
.tlab-right { color: #0b6e4f; }
</style>"""


def _tokens_html(tokens: Sequence[str], ok: Sequence[bool], joiner: str) -> str:
    spans = []
    for tok, good in zip(tokens, ok):
        text = html.escape(tok)
        css, title = ("tlab-right", "right") if good else ("tlab-wrong", "wrong")
        spans.append(f'<span class="{css}" title="{title}">{text}</span>')
    return html.escape(joiner).join(spans)


def answers_html(answers: Sequence[dict], joiner: str = " ") -> str:
    """An HTML table of snapshot answers: input, expected, predicted (wrong tokens marked).

    Each answer is a dict as in `Snapshot.answers`: input, expected, predicted, correct, and
    optionally predicted_tokens / token_correct / expected_tokens (then wrong tokens are marked).
    """
    rows = []
    for ans in answers:
        pred_tokens = ans.get("predicted_tokens")
        token_ok = ans.get("token_correct")
        if pred_tokens is not None and token_ok is not None:
            predicted = _tokens_html(pred_tokens, token_ok, joiner)
            missing = len(ans.get("expected_tokens") or []) - len(pred_tokens)
            if missing > 0:
                predicted += f' <span class="tlab-wrong">+{missing} missing</span>'
        else:
            predicted = html.escape(str(ans.get("predicted", "")))
        if not (pred_tokens or ans.get("predicted")):
            predicted = '<span class="tlab-wrong">(nothing)</span>'
        mark = "✓" if ans.get("correct") else "✗"
        rows.append(
            "<tr>"
            f"<td><code>{html.escape(str(ans.get('input', '')))}</code></td>"
            f"<td><code>{html.escape(str(ans.get('expected', '')))}</code></td>"
            f"<td><code>{predicted}</code></td>"
            f'<td style="text-align:center">{mark}</td>'
            "</tr>"
        )
    head = "<tr><th>input</th><th>expected</th><th>model's answer</th><th>right?</th></tr>"
    return f'{ANSWERS_CSS}<table class="tlab-answers">{head}{"".join(rows)}</table>'


def show_answers(answers: Sequence[dict], task=None) -> None:
    """Draw `answers_html` (the task's token joiner keeps multi-character tokens apart)."""
    joiner = getattr(getattr(task, "vocab", None), "joiner", " ") if task is not None else " "
    st.markdown(answers_html(answers, joiner), unsafe_allow_html=True)


# --------------------------------------------------------------------------- the current model


def start_preset_run(task_name: str, arch: str | None = None, task_params: dict | None = None,
                     origin: str = "preset") -> LiveRun:
    """Start the task's preset (stopping at its target accuracy) as this session's run.

    Through the server's preset cache (`transformer.runs.preset_cache`): a preset some session
    has trained is reused at once, one training now is shared, only a new one trains.
    """
    from ..runs.preset_cache import default_cache

    task = get_task(task_name, **(task_params or {}))
    model_cfg, train_cfg = preset_configs(task, arch, stop_at_target=True)
    run = default_cache().open(task, model_cfg, train_cfg)
    set_run(run, origin=origin)
    return run


def run_progress(run: LiveRun, label: str, queued: str) -> None:
    """A progress bar for a run under way, "{label} · how it stands"; `queued` is how it stands
    while it waits for a training slot, with {position} in it."""
    status, progress = run.status, run.progress
    fraction = min(1.0, progress["step"] / max(1, progress["total"]))
    if status == "queued":
        text = queued.format(position=run.queue_position or 1)
    else:
        text = progress_text(progress, status)
    st.progress(fraction, text=f"{label} · {text}")


def _preset_progress(run: LiveRun) -> None:
    """Progress of a preset run started by `ensure_model_widget`; reruns the page when done."""
    if run.status in ACTIVE:
        run_progress(run, "Training the preset", "Waiting for a free slot: queued, position {position}.")
    else:
        st.rerun()


def ensure_model_widget(task_default: str = "reverse", *, arch_default: str | None = None,
                        task_params: dict | None = None, archs: Sequence[str] | None = None,
                        key: str = "ensure_model", show_caption: bool = True) -> CurrentModel | None:
    """Return the session's current model, or offer to train a preset and return None.

    task_default:  the task whose preset is offered (a name from `transformer.tasks.TASKS`)
    arch_default:  the preset's architecture (default: the task's recommended one)
    task_params:   task parameters for the preset, e.g. {"length": 8}
    archs:         architectures the page can show (e.g. transformers only for attention);
                   a current model of another architecture is passed over with a sentence
    key:           widget key prefix, unique per call site on a page
    show_caption:  draw one line saying which model is shown

    Returns a `CurrentModel` (model, task, snapshots, source, label, run). Returns None when
    there is no usable model yet: then it has drawn either the offer ("Train the preset ... about
    N s") or, once pressed, the preset's progress, refreshed each second; when the preset
    finishes the page reruns and this returns its model. The caller should `st.stop()` on None.
    A model trained here stays the session's current model until another run or checkpoint.
    """
    from .classroom import waiting_for_teacher

    if waiting_for_teacher():  # a follower is never offered a training of their own
        return None
    lab = get_lab()
    current = current_model()
    run = lab.run
    preset_training = (
        run is not None and lab.run_origin == "preset" and lab.current == "run" and run.status in ACTIVE
    )
    if preset_training:
        st.fragment(_preset_progress, run_every=1.0)(run)
        return None
    if current is not None and (archs is None or current.model.cfg.arch in archs):
        if show_caption:
            where = "this session's run" if current.source == "run" else "an uploaded checkpoint"
            if lab.following is not None:
                where = "the teacher's run, followed read only"
            st.caption(f"Showing **{plain(current.label)}** ({where}; change it on the Train page).")
        return current

    task = get_task(task_default, **(task_params or {}))
    arch = arch_default or next((a for a in task.archs if archs is None or a in archs), task.archs[0])
    preset = task.preset(arch)
    if current is not None:
        st.info(
            f"The current model is a {ARCH_LABELS.get(current.model.cfg.arch, current.model.cfg.arch)}, "
            f"which this page cannot show: train the preset below or pick another architecture on the Train page."
        )
    else:
        st.info(f"This page explores a trained model, and this session has none yet. "
                f"The preset for **{task.title or task.name}** learns it in about {preset.seconds:.0f} s.")
    if st.button(f"Train the preset ({task.name}, {ARCH_LABELS.get(arch, arch)}, about {preset.seconds:.0f} s)",
                 key=f"{key}.train_preset", type="primary"):
        start_preset_run(task.name, arch, task_params)
        st.rerun()
    return None


# Streamlit has no scrolling call. A zero-height component frame shares the app's origin, so its
# script can reach the page: it waits for the element (the page may still be drawing), keeps it
# clear of Streamlit's fixed header, and scrolls it to the top of the screen once.
_SCROLL_JS = """<script>
const page = window.parent.document;
let tries = 0;
const timer = setInterval(() => {
  const target = page.querySelector(%s);
  if (target || ++tries > 50) clearInterval(timer);
  if (!target) return;
  const header = page.querySelector('[data-testid="stHeader"]');
  target.style.scrollMarginTop = ((header ? header.getBoundingClientRect().height : 0) + 8) + 'px';
  target.scrollIntoView({block: 'start'});
}, 100);
</script>"""


def rerun_once_when_done(job, flag_key: str) -> None:
    """Stop a fragment's refreshes when the job it shows has ended.

    A page keeps `st.session_state[flag_key]` True while its fragment refreshes a running job
    (`run_every`). The first refresh that finds the job ended clears the flag and reruns the
    whole page once, which draws it again without `run_every`.
    """
    if job is not None and job.status not in ACTIVE and st.session_state.get(flag_key):
        st.session_state[flag_key] = False
        st.rerun()


def race_status(race, noun: str = "race", finished: str | None = None) -> None:
    """One line above a race's curves: queued (and where), failed (and why), or how it stands."""
    if race.status == "queued":
        st.warning(f"Queued, position {race.queue_position or 1}: the {noun} starts when a training slot frees up.")
    elif race.status == "failed":
        st.error(plain(race.message))
    else:
        message = finished if finished and race.status == "finished" else race.message
        st.caption(f"**{race.status.capitalize()}.** {plain(message)}")


CUSTOM = "✎ type your own…"  # the last entry of a page's example picker


def _use_typed_text(key_prefix: str, text: str) -> None:
    st.session_state[key_prefix + "example"] = CUSTOM
    st.session_state[key_prefix + "text"] = text


def parsed_input(task, text: str, max_len: int | None, key_prefix: str) -> list[str] | None:
    """The source tokens of what a person picked or typed, or None after one sentence on the page.

    An input that is only too long (for the task, or for a model context of `max_len`) also
    offers a button that puts the start that fits into the page's text box
    (`key_prefix + "text"`, with its picker `key_prefix + "example"` set to `CUSTOM`).
    """
    from ..analysis.inspection import InputTooLong, parse_input

    try:
        return parse_input(task, text, max_len)
    except InputTooLong as err:
        st.warning(plain(err))
        st.button(f"Truncate to “{plain(err.fits)}”", key=key_prefix + "truncate", on_click=_use_typed_text,
                  args=(key_prefix, err.fits))
    except ValueError as err:
        st.error(plain(err))
    return None


def scroll_to(key: str) -> None:
    """Scroll the element made by `st.container(key=key)` to the top of the screen, once.

    For presenter mode at a projector, where a page's main view (the Train page's progress and
    four curves) fits one 720 px screen only from its own top, not from the page's title.
    """
    import json

    import streamlit.components.v1 as components

    components.html(_SCROLL_JS % json.dumps(f".st-key-{key}"), height=0)
