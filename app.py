"""Transformer Lab: the entry script. `streamlit run app.py`

It sets up the page, lists the pages in teaching order (Learn / Explore / Compare), draws the
sidebar every page shares, and runs the page the URL asks for. Pages are listed explicitly, and
only those whose file exists, so the app runs at every stage of its construction.
"""
from pathlib import Path

import streamlit as st

from transformer.ui import wait_for_imports, warm_up
from transformer.ui.sidebar import mirror_presenter, presenter_from_link, render_sidebar

ROOT = Path(__file__).resolve().parent

# (file, title, icon, url path); the first page of the first section is the home page.
PAGES = {
    "Learn": [
        ("pages/home.py", "Home", ":material/home:", None),
        ("pages/lessons.py", "Guided lessons", ":material/school:", "lessons"),
    ],
    "Explore": [
        ("pages/train.py", "Train a model", ":material/model_training:", "train"),
        ("pages/attention.py", "Attention", ":material/grid_on:", "attention"),
        ("pages/generate.py", "Generate", ":material/edit_note:", "generate"),
        ("pages/positional_encoding.py", "Positional encoding", ":material/waves:", "positional_encoding"),
        ("pages/embeddings.py", "Embeddings", ":material/scatter_plot:", "embeddings"),
        ("pages/vision_transformer.py", "Vision transformer", ":material/image:", "vision_transformer"),
    ],
    "Compare": [
        ("pages/rnn_vs_transformer.py", "RNN vs Transformer", ":material/compare_arrows:", "rnn_vs_transformer"),
        ("pages/learning_vs_memorising.py", "Learning vs memorising", ":material/fact_check:", "learning_vs_memorising"),
    ],
}


def navigation_pages() -> dict[str, list]:
    """The st.Page entries of the pages that exist, grouped by section."""
    sections = {}
    for section, entries in PAGES.items():
        pages = []
        for path, title, icon, url_path in entries:
            if not (ROOT / path).is_file():
                continue
            if url_path is None:
                pages.append(st.Page(path, title=title, icon=icon, default=True))
            else:
                pages.append(st.Page(path, title=title, icon=icon, url_path=url_path))
        if pages:
            sections[section] = pages
    return sections


# Presenter mode (a projector) folds the sidebar away; its chevron brings it back.
presenter = presenter_from_link()
st.set_page_config(page_title="Transformer Lab", page_icon="🔬", layout="wide",
                   initial_sidebar_state="collapsed" if presenter else "expanded")
page = st.navigation(navigation_pages())
if page.url_path:  # every page but the home page needs PyTorch: not while the warm-up imports it
    wait_for_imports()
render_sidebar(follow_run=page.url_path != "train")  # the Train page shows the run's progress itself
try:
    page.run()
finally:
    mirror_presenter()  # also when the page stops early (st.stop) or reruns
warm_up()  # the home page draws without PyTorch; load it now, before a person opens another page
