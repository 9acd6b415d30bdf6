"""The sidebar every page shares: the device in use, this session's runs, presenter mode.

`app.py` calls `render_sidebar()` once per script run, before the page. The status of the
session's own run, and one line for each other run under way (a lesson's, a race, the
positional-encoding experiment), live in a fragment that refreshes itself once a second while
any of them is active, so they stay current on every page without rerunning the page; when the
last one ends the fragment reruns the app once, which turns the refresh off again.

Presenter mode is for a projector at 1280x720: the text grows, the sidebar starts collapsed (its
chevron, top left, brings it back, with the switch at its top and its own text at normal size),
and the mode lives in the URL (`?presenter=1`), so a teacher's link opens the projector view.
"""
from __future__ import annotations

import functools
import importlib.metadata

import streamlit as st

from .session import TRAIN, get_run, presenter_mode, run_is_active, session_runs
from .text import plain
from . import torch_imported, wait_for_imports

PRESENTER_CSS = """
<style>
/* Presenter mode: everything about a third larger, for a projector at the back of a room. */
html { font-size: 21px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li { font-size: 1.15rem; }
[data-testid="stMainBlockContainer"] { max-width: 100%; padding: 4rem 2rem 2rem 2rem; }
/* The sidebar holds the teacher's controls, not what the class reads: back to normal size
   (21px * 0.76 = 16px), so page names ("Positional encoding") fit and the switch stays on screen. */
[data-testid="stSidebarContent"] { zoom: 0.76; }
[data-testid="stSidebarNav"] span { white-space: normal; }
/* Labels of buttons, page links and checkboxes wrap instead of ending in "…" (Prev/Next, the
   home page's doors, "leave out special tokens"). */
[data-testid="stMain"] button p, [data-testid="stMain"] label p, [data-testid="stPageLink"] p {
    white-space: normal; overflow-wrap: anywhere; line-height: 1.35; }
[data-testid="stMain"] button div:has(> [data-testid="stMarkdownContainer"]) { overflow: visible; }
</style>
"""

# The URL parameter that turns presenter mode on (1) or off (0), and the session key that
# remembers what this app last wrote there (so its own mirror is not read as a new link).
PRESENTER_PARAM = "presenter"
_WRITTEN = "_presenter_in_url"
_ON = ("1", "true", "yes", "on")


def device_label() -> str:
    """Where runs train by default (`--device auto`): "CPU", a GPU's name, "Apple GPU (MPS)".

    A CPU-only PyTorch wheel (version "...+cpu") has no GPU to look for, so until something
    else has loaded PyTorch the answer needs no import: the first page of a cold server is not
    kept waiting 2-3 s for it.
    """
    if _cpu_only_torch() and not torch_imported():
        return "CPU"
    wait_for_imports()  # torch may be half-imported by the warm-up: importing it here too breaks it
    return _device_label_from_torch()


@functools.cache  # the installed wheel does not change while the server runs
def _cpu_only_torch() -> bool:
    try:
        return importlib.metadata.version("torch").endswith("+cpu")
    except importlib.metadata.PackageNotFoundError:
        return False


@st.cache_resource(show_spinner=False)
def _device_label_from_torch() -> str:
    from ..devices import device_name, resolve_device

    device = resolve_device("auto")
    # The thread count device_name adds for a CPU is the server's, not a run's: leave it out.
    return "CPU" if device.type == "cpu" else device_name(device)


def step_and_total(run) -> tuple[int, int]:
    """(steps taken, steps planned) of a LiveRun, or of a race's slowest model."""
    progress = run.progress
    if "step" in progress:
        return progress["step"], progress["total"]
    models = progress.values()  # a RaceRun: {name: {"step", "total", ...}}
    return min((p["step"] for p in models), default=0), max((p["total"] for p in models), default=0)


def status_text(run) -> str:
    """One line for the run's state: idle / queued position K / training step N of M / ..."""
    if run is None:
        return "idle: no run yet"
    status = run.status
    step, total = step_and_total(run)
    if status == "queued":
        position = run.queue_position
        return f"queued, position {position}" if position else "queued"
    if status == "training":
        return f"training: step {step} of {total}"
    if status == "paused":
        return f"paused at step {step} of {total}"
    if status == "finished":
        return f"finished: {step} steps"
    if status == "stopped":
        return f"stopped at step {step} of {total}"
    if status == "failed":
        return f"failed at step {step + 1}"
    return "idle: not started"


def short_status(run) -> str:
    """A run's state in a few characters, for one line under the session's run: "step 40/600",
    "paused at 40/600", "queued (2)"."""
    status = run.status
    step, total = step_and_total(run)
    if status == "queued":
        return f"queued ({run.queue_position})" if run.queue_position else "queued"
    if status == "training":
        return f"step {step}/{total}"
    if status == "paused":
        return f"paused at {step}/{total}"
    return status


def latest_loss(run) -> float | None:
    """The loss of the last optimizer step (None before the first)."""
    if run is None:
        return None
    history = run.history
    return history[-1]["loss"] if history else None


def _under_way(follow_run: bool) -> tuple[dict, bool]:
    """({slot: run} of the session's other runs under way (lessons, races, ...), and whether the
    status needs its once-a-second refresh), from one look at the registry."""
    active = session_runs().active()
    others = {slot: run for slot, run in active.items() if slot != TRAIN}
    return others, bool(others) or (follow_run and TRAIN in active)


def _status_block(follow_run: bool = True) -> None:
    run = get_run()
    others, refreshing = _under_way(follow_run)
    if not follow_run and run_is_active(run):
        # Not refreshed here: a step number or a status word (queued, training, paused) would
        # stand still while the page's own progress moves on.
        st.markdown("**Run:** under way, its progress is on this page")
    else:
        loss = latest_loss(run)
        st.markdown(f"**Run:** {status_text(run)}")
        if loss is not None:
            st.markdown(f"**Loss:** {loss:.4f} nats/token")
    registry = session_runs()
    for slot, other in others.items():
        st.caption(f"**{plain(registry.label(slot))}** · {short_status(other)}")
    ticking = st.session_state.get("_sidebar_ticking", False)
    if ticking and not refreshing:
        # The run just ended: rerun the whole app once so this fragment stops refreshing and
        # every page redraws its final state.
        st.session_state["_sidebar_ticking"] = False
        st.rerun()


def presenter_from_link() -> bool:
    """Presenter mode, after applying a link's `?presenter=1` (or 0); call before the sidebar.

    A value equal to the one this app wrote itself is not a new link: the switch, turned off,
    would otherwise be turned on again by the URL it had not yet cleared. The URL is brought in
    line at once, so that a page that stops early (st.stop) still leaves it right.
    """
    raw = st.query_params.get(PRESENTER_PARAM)
    if raw is not None and raw != st.session_state.get(_WRITTEN):
        st.session_state["presenter_mode"] = raw.strip().lower() in _ON
    mirror_presenter()
    return presenter_mode()


def mirror_presenter() -> None:
    """`presenter=1` in the URL while presenter mode is on, nothing otherwise.

    Called before and after the page: Streamlit clears the query parameters when its navigation
    switches pages (pages write only their own parameters: ui/state.py's write_link).
    """
    if presenter_mode():
        if st.query_params.get(PRESENTER_PARAM) != "1":
            st.query_params[PRESENTER_PARAM] = "1"
        st.session_state[_WRITTEN] = "1"
    else:
        if PRESENTER_PARAM in st.query_params:
            del st.query_params[PRESENTER_PARAM]
        st.session_state.pop(_WRITTEN, None)


def render_sidebar(follow_run: bool = True) -> None:
    """Draw the shared sidebar (call once from app.py, before `page.run()`).

    follow_run=False draws the run's status without refreshing it every second: for a page
    that shows the run's progress itself (the Train page), where a second refresh would only
    cost the server and the browser time.
    """
    from .classroom import follow_from_link, follow_status

    follow_from_link()  # ?follow=CODE: watch a teacher's run, read only (before anything reads the run)
    _, active = _under_way(follow_run)
    st.session_state["_sidebar_ticking"] = active
    with st.sidebar:
        # First, under the page list: the switch must stay on screen at 720 px, under any status.
        st.toggle("Presenter mode", key="presenter_mode",
                  help="Larger text for a projector, the sidebar folded away; figures on the pages grow "
                       "too. A link with ?presenter=1 opens it.")
        st.markdown(f"**Device:** {device_label()}")
        follow_status()
        st.fragment(_status_block, run_every=1.0 if active else None)(follow_run)
    if presenter_mode():
        st.html(PRESENTER_CSS)
