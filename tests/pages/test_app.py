"""The app shell through AppTest: navigation, the home page, the shared sidebar, the session's run,
and `ensure_model_widget`, which the exploring pages rely on."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import app_pages, end_apptest_session
from transformer.ui import wait_for_imports

ROOT = Path(__file__).resolve().parents[2]
APP = "../../app.py"  # relative to this file, as AppTest resolves it
PAGES = [path for path in app_pages().values() if path != "pages/home.py"]
EXISTING = [p for p in PAGES if (ROOT / p).is_file()]


def live_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "tlab-live-run" and t.is_alive()]


def sidebar_text(at: AppTest) -> str:
    return " ".join(m.value for m in at.sidebar.markdown)


def test_home_page_runs_clean_with_doors_to_existing_pages():
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "Transformer Lab"
    links = {link.proto.page for link in at.get("page_link")}
    labels = " ".join(link.proto.label for link in at.get("page_link"))
    assert "Train a model now" in labels
    for path, label in (("pages/lessons.py", "guided lessons"), ("pages/attention.py", "Explore attention")):
        assert ((ROOT / path).is_file()) == (label in labels), f"a door to {path} only when it exists"
    assert links, "the doors are page links"


@pytest.mark.parametrize("page_path", EXISTING)
def test_every_page_opens_without_an_exception(page_path):
    at = AppTest.from_file(APP, default_timeout=90).run()
    # The home page started the warm-up, which imports PyTorch. The real app waits for it before
    # a page that needs torch (app.py); AppTest's switch_page runs the page without app.py.
    wait_for_imports()
    at.switch_page(page_path).run()
    assert not at.exception, f"{page_path}: {at.exception[0].value if at.exception else ''}"


def test_sidebar_shows_device_and_idle_run():
    at = AppTest.from_file(APP, default_timeout=60).run()
    text = sidebar_text(at)
    assert "Device:" in text and ("CPU" in text or "GPU" in text or "NVIDIA" in text)
    assert "idle" in text
    assert at.toggle(key="presenter_mode").value is False
    assert not at.get("html"), "no presenter styles until asked"


def test_presenter_mode_enlarges_the_text():
    # Set through session_state: AppTest drops the sidebar of an st.navigation app on reruns
    # (the real app keeps it), so the toggle is read on a first run.
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["presenter_mode"] = True
    at.run()
    assert not at.exception
    assert at.toggle(key="presenter_mode").value is True
    styles = " ".join(h.proto.body for h in at.get("html"))
    assert "font-size" in styles


def test_sidebar_follows_the_run_and_closing_the_session_stops_it():
    train = AppTest.from_file("../../pages/train.py", default_timeout=60)
    for key, value in dict(task="reverse", length="4", d_model="16", n_heads="2", n_layers="1",
                           d_ff="32", steps="5000").items():
        train.query_params[key] = value
    train.run()
    train.button(key="train.b.train").click().run()
    assert not train.exception

    # Every AppTest shares one session, so a fresh app run shows this session's sidebar.
    def sidebar_now() -> str:
        return sidebar_text(AppTest.from_file(APP, default_timeout=60).run())

    deadline = time.monotonic() + 60
    text = sidebar_now()
    while ("training: step" not in text or "Loss:" not in text) and time.monotonic() < deadline:
        time.sleep(0.3)
        text = sidebar_now()
    assert "training: step" in text and "of 5000" in text
    assert "Loss:" in text
    assert live_threads()
    end_apptest_session()  # what Streamlit does when the browser tab closes
    assert not live_threads(), "a closed session's run must stop and its thread end"


def _ensure_script():
    import streamlit as st

    from transformer.ui.widgets import ensure_model_widget

    current = ensure_model_widget(task_default="copy", task_params={"length": 3, "n_symbols": 3})
    if current is None:
        st.stop()
    st.markdown(f"MODEL {current.task.name} {current.model.cfg.arch} {len(current.snapshots)}")


@pytest.mark.slow
def test_ensure_model_widget_offers_the_preset_then_returns_its_model():
    at = AppTest.from_function(_ensure_script, default_timeout=60).run()
    assert not at.exception
    offer = [b for b in at.button if "Train the preset" in b.label]
    assert offer, "with no model, the page offers the preset"
    assert "about" in offer[0].label and " s)" in offer[0].label
    offer[0].click().run()
    deadline = time.monotonic() + 120
    while not any(m.value.startswith("MODEL") for m in at.markdown) and time.monotonic() < deadline:
        assert not at.exception
        time.sleep(0.5)
        at.run()
    models = [m.value for m in at.markdown if m.value.startswith("MODEL")]
    assert models and models[0].startswith("MODEL copy decoder"), "the trained preset becomes the current model"
    assert int(models[0].split()[-1]) >= 2, "with its snapshot history"
    assert not live_threads(), "the preset run has ended"
    at.run()
    assert any(m.value.startswith("MODEL") for m in at.markdown), "and it stays for the session"
