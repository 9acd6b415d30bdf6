"""A class on one server, the Streamlit side: the class code, followers, the presets' warm-up.

    class_box()            on the Train page: the teacher's "Share with the class" (a code and a
                           link), or, for a follower, the teacher's run read only (then st.stop)
    follow_from_link()     the sidebar calls it on every page: `?follow=CODE` makes this
                           session a follower of the run shared under CODE
    follow_status()        the sidebar's line saying whose run this is, and "Stop following"
    warm_presets_from_env() with $TLAB_WARM_PRESETS=1, train the lessons' presets at start

A follower's session holds the teacher's run, read only (`transformer.runs.follow.FollowedRun`),
in its "train" slot: the Attention, Embeddings and Generate pages show it as they show one's
own run, from the same snapshots; no page of a follower trains or captures anything for it.
"""
from __future__ import annotations

import streamlit as st

from ..runs.follow import default_classes
from .session import get_lab, run_is_active
from .text import plain

FOLLOW_PARAM = "follow"
K = "classroom."
_LINK_SEEN = K + "link"  # the follow code of a link already acted on (reruns keep the URL)


# --------------------------------------------------------------------------- following

def follow_from_link() -> None:
    """Act on `?follow=CODE` once per code: follow that run, or say (as text) why not."""
    raw = st.query_params.get(FOLLOW_PARAM)
    if raw is None or raw == st.session_state.get(_LINK_SEEN):
        return
    st.session_state[_LINK_SEEN] = raw
    share = default_classes().get(raw)
    if share is None:
        st.session_state[K + "error"] = (
            f"No class is sharing a run under the code {str(raw).strip()[:12]!r} now (it may have ended): "
            "check the code with your teacher.")
        return
    st.session_state.pop(K + "error", None)
    get_lab().follow(share)


def _whose(share) -> str:
    return f"{share.owner}'s run" if share.owner else "the teacher's run"


def follow_status() -> None:
    """In the sidebar: whose run a follower sees, and a way back to runs of one's own."""
    error = st.session_state.get(K + "error")
    if error:
        st.warning(plain(error))
    lab = get_lab()
    share = lab.following
    if share is None:
        return
    st.markdown(f"**Following** {plain(_whose(share))} (class code {share.code}), read only.")
    if st.button("Stop following", key=K + "unfollow"):
        lab.unfollow()
        st.query_params.pop(FOLLOW_PARAM, None)
        st.rerun()


def waiting_for_teacher() -> bool:
    """For pages that need a model: True (after saying so, and refreshing until it comes) when
    this session follows a teacher who has no run yet. A follower is never offered a training."""
    lab = get_lab()
    if lab.following is None or lab.run is not None:
        return False
    st.fragment(_wait_for_run, run_every=2.0)()
    return True


def _wait_for_run() -> None:
    share = get_lab().following
    if share is None or get_lab().run is not None:
        st.rerun()
    st.info(f"Following {plain(_whose(share))} (class code {share.code}): it has not started training yet. "
            "This page fills in as soon as it does.")


# --------------------------------------------------------------------------- the Train page

def class_box() -> None:
    """The Train page's class part. For a follower: the teacher's run, read only, and then
    `st.stop()` (no settings, no Train, Pause, Step or Stop). Otherwise: a small "Share with
    the class" panel with the code and the link that open this run for the students."""
    lab = get_lab()
    if lab.following is not None:
        live = _live(lab)
        st.session_state[K + "ticking"], st.session_state[K + "run"] = live, lab.run_id
        st.fragment(_followed_dashboard, run_every=1.0 if live else None)()
        st.stop()
    with st.popover("Share with the class", icon=":material/groups:"):
        st.caption("Students who open the link (or type the code on any page's link) watch this session's "
                   "runs live, read only, on the Train, Attention and Embeddings pages. Nothing trains twice.")
        owner = st.text_input("Your name, as the class sees it", key=K + "owner", max_chars=40,
                              placeholder="the teacher")
        if lab.share is None:
            st.button("Share my run", key=K + "share", type="primary",
                      on_click=lambda: lab.share_run(st.session_state.get(K + "owner", "").strip()))
            return
        share = lab.share_run(owner.strip())
        st.markdown(f"Class code: **{share.code}**")
        st.code(_link(share.code), language=None)


def _link(code: str) -> str:
    base = (st.context.url or "").split("?")[0]
    return f"{base}?{FOLLOW_PARAM}={code}"


def _live(lab) -> bool:
    """Whether a follower's view must refresh: the run trains, or there is none yet to wait for."""
    run = lab.run
    return run_is_active(run) or (run is None and not lab.following.ended)


def _followed_dashboard() -> None:
    """A follower's Train page: the teacher's progress, curves and answers, refreshed while it trains."""
    from .live_figures import live_figures
    from .widgets import live_curves, progress_text, show_answers

    lab = get_lab()
    share, run = lab.following, lab.run
    if share is None:
        st.rerun()
    live = _live(lab)
    if st.session_state.get(K + "ticking") != live or st.session_state.get(K + "run") != lab.run_id:
        st.session_state[K + "ticking"], st.session_state[K + "run"] = live, lab.run_id
        st.rerun()  # the run ended or a new one came: the whole page once, refreshing or not
    st.info(f"You are following **{plain(_whose(share))}** (class code {share.code}), read only: "
            "the teacher trains, pauses and steps; the other pages show the same model.")
    if share.ended:
        step = run.latest().step if run is not None and run.latest() is not None else 0
        st.warning(f"The teacher's session has ended. You keep its last snapshot (step {step}) to explore.")
    if run is None:
        st.caption("It has not started training yet; this page fills in as soon as it does.")
        return
    progress = run.progress
    st.progress(min(1.0, progress["step"] / max(1, progress["total"])),
                text=f"{run.task.name} · {progress_text(progress, run.status)} · {run.status}")
    live_figures(live_curves(run, lab.run_id, K + "figs"), key=K + "curves")
    snapshot = run.latest()
    if snapshot is not None and snapshot.answers:
        st.caption(f"The model's answers at step {snapshot.step}.")
        show_answers(snapshot.answers, run.task)


# --------------------------------------------------------------------------- warm-up

# Lesson widgets that train a model, and the (task, arch) each uses when the lesson names none.
TRAINED_WIDGETS = {
    "attention_heatmap": ("reverse", "decoder"), "head_grid": ("sort", "decoder"),
    "date_cross_attention": ("dates", "encoder-decoder"), "training_curves": ("reverse", "decoder"),
    "train_preset": ("reverse", "decoder"), "embedding_space": ("sentiment", "encoder"),
}


def lesson_presets() -> list[tuple]:
    """(task, arch, seed, demo) of every model the lessons train, in lesson order, once each."""
    from ..course import load_all

    found = []
    for lesson in load_all():
        for step in lesson.steps:
            widget = getattr(step, "widget", None)
            if widget is None or widget.name not in TRAINED_WIDGETS:
                continue
            task, arch = TRAINED_WIDGETS[widget.name]
            params = widget.params
            if widget.name == "date_cross_attention":
                params = {}
            entry = (params.get("task", task), params.get("arch", arch), 0, params.get("demo"))
            if entry not in found:
                found.append(entry)
    return found


def warm_presets_from_env():
    """With $TLAB_WARM_PRESETS=1, train the lessons' presets in the background, one at a time
    and at the lowest priority (`PresetCache.warm_up`); returns the thread, or None."""
    from functools import partial

    from ..runs.preset_cache import default_cache, warm_up_wanted
    from .lesson_models import LessonRuns
    from .runs import RunRegistry

    if not warm_up_wanted():
        return None
    runs = LessonRuns(RunRegistry())  # the warm-up's own registry: no session's
    openers = [partial(runs.start, ("warm-up", *p), task, arch, seed, demo)
               for p in lesson_presets() for task, arch, seed, demo in [p]]
    return default_cache().warm_up(openers)
