"""Streamlit glue between the pages and the library (the only package code that imports it).

    session.py   this browser session's training run and its current model
    sidebar.py   the sidebar every page shares: device, run status, presenter mode
    widgets.py   shared controls: `ensure_model_widget`, the model's answers, progress text
    settings.py  the Train page's settings: presets, shareable links, validation (no Streamlit)

A training thread never calls Streamlit; pages read what it publishes (see transformer.live).
"""
from __future__ import annotations


def _route_through_app() -> None:
    """Make every URL run app.py, which routes with st.navigation.

    Streamlit keeps a rule from its first multipage design: when a folder named `pages/` sits
    next to the entry script, a URL such as /train runs pages/train.py by itself, without
    app.py, so a shared link would open a page with no sidebar and the wrong layout. The rule is
    a flag decided once per server; every page imports this package, so the first page run that
    finds the flag set clears it and reruns, and from then on app.py sees every URL.
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
