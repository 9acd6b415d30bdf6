"""The two places where the app reaches into another library's private internals.

Each patch lives in one place; these tests fail loudly when Streamlit or Python changes what
the patch relies on, instead of the app silently misbehaving (a shared link opening a page
without its sidebar, or every training process re-running the page that started it).
"""
from __future__ import annotations

import inspect
import multiprocessing.spawn as spawn

import streamlit
from streamlit.runtime import pages_manager
from streamlit.runtime.scriptrunner import script_runner


def test_streamlit_still_routes_pages_folder_urls_by_the_flag_the_app_clears():
    """transformer.ui._route_through_app clears PagesManager.uses_pages_directory.

    Streamlit decides once per server whether a `pages/` folder beside the entry script means
    "run pages/x.py for /x without app.py"; st.navigation clears the flag, but only after the
    first run, which for a shared link is the page itself.
    """
    assert streamlit.__version__.startswith("1.67."), (
        f"Streamlit {streamlit.__version__}: check transformer.ui._route_through_app against it, "
        "then update this version")
    assert hasattr(pages_manager.PagesManager, "uses_pages_directory")
    assert "PagesManager.uses_pages_directory" in inspect.getsource(script_runner)


def test_the_route_patch_leaves_the_flag_cleared():
    from transformer.ui import _route_through_app

    pages_manager.PagesManager.uses_pages_directory = True
    try:
        _route_through_app()  # outside a script run: clears the flag, no rerun
        assert pages_manager.PagesManager.uses_pages_directory is False
    finally:
        pages_manager.PagesManager.uses_pages_directory = None


def test_python_still_fixes_up_main_through_the_functions_the_fork_server_replaces():
    """transformer.runs.fork_server replaces these so a training child skips its parent's
    `__main__` (in the app: the Streamlit page being drawn)."""
    source = inspect.getsource(spawn.prepare)
    assert "_fixup_main_from_name(" in source and "_fixup_main_from_path(" in source
    import transformer.runs.fork_server as tp

    assert spawn._fixup_main_from_name is tp._skip_main
    assert spawn._fixup_main_from_path is tp._skip_main
