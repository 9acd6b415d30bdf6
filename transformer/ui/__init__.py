"""Streamlit glue between the pages and the library (the only package code that imports it).

    session.py   this browser session's runs and its current model
    runs.py      RunRegistry: the session's runs by slot ("train", "lesson:...", "race:main", ...)
    sidebar.py   the sidebar every page shares: device, every run's status, presenter mode
    warm_up()    (here) loads PyTorch and Plotly in the background after the first page
    widgets.py   shared controls: `ensure_model_widget`, the model's answers, progress text
    live_figures.py  charts that change at every refresh, redrawn in place (Plotly.react)
    settings.py  the Train page's settings: presets, shareable links, validation (no Streamlit)
    charlm_panel.py  the character model on the Train page: a person's own text, sampled continuations

Training (in a process of its own, or a race in a thread) never calls Streamlit; pages read
what it publishes (see transformer.runs).
"""
from __future__ import annotations

import importlib
import threading

# What every page but the home page needs, slowest first: PyTorch alone takes 2-3 s to import.
WARM_UP_MODULES = ("torch", "transformer.training", "plotly.graph_objects", "transformer.figures")
_warm_up_lock = threading.Lock()
_warm_up_thread: threading.Thread | None = None
_imports_done = threading.Event()


def warm_up(modules=WARM_UP_MODULES) -> threading.Thread:
    """Import `modules` in a background thread, once per server process, and return it.

    The home page and the sidebar need no PyTorch, so the first page of a cold server draws
    without it; app.py then calls this, and by the time a person opens another page the imports
    are done and the fork server that starts training processes is up. A page that needs a
    module sooner waits for these imports first (`wait_for_imports`).
    """
    global _warm_up_thread
    with _warm_up_lock:
        if _warm_up_thread is None:
            def load() -> None:
                try:
                    for name in modules:
                        importlib.import_module(name)
                finally:
                    _imports_done.set()
                from ..runs.fork_server import prepare_training_processes

                prepare_training_processes()  # the fork server that starts each run's process
                from .classroom import warm_presets_from_env

                warm_presets_from_env()  # $TLAB_WARM_PRESETS=1: the lessons' presets, in the background

            _warm_up_thread = threading.Thread(target=load, name="tlab-warm-up", daemon=True)
            _warm_up_thread.start()
        return _warm_up_thread


def wait_for_imports() -> None:
    """Block until the warm-up's imports are done, when a warm-up is under way.

    Two threads importing PyTorch at once can each find the other's half-built modules (Python
    breaks the cycle between their import locks by handing one of them a partial module):
    a page opened while the warm-up imported torch failed with "generic_type: cannot initialize
    type". So app.py lets the warm-up finish before it runs any page that needs PyTorch.
    """
    if _warm_up_thread is not None:
        _imports_done.wait()


def torch_imported() -> bool:
    """PyTorch is fully imported (in sys.modules, and not halfway through the warm-up's import)."""
    import sys

    return "torch" in sys.modules and (_warm_up_thread is None or _imports_done.is_set())


def _route_through_app() -> None:
    """Make every URL run app.py, which routes with st.navigation.

    Streamlit keeps a rule from its first multipage design: when a folder named `pages/` sits
    next to the entry script, a URL such as /train runs pages/train.py by itself, without
    app.py, so a shared link would open a page with no sidebar and the wrong layout. The rule is
    a flag decided once per server; every page imports this package, so the first page run that
    finds the flag set clears it and reruns, and from then on app.py sees every URL. The flag is
    private and Streamlit 1.67 has no public switch for it: tests/ui/test_private_patches.py fails
    when Streamlit's version or its use of the flag changes.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without the rule
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

        if get_script_run_ctx() is not None:
            import streamlit as st

            st.rerun()


_route_through_app()
