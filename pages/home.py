"""Home: what the app is, in a few lines, and three doors into it."""
from pathlib import Path

import streamlit as st

import transformer.ui  # noqa: F401  (routes every URL through app.py; see transformer/ui/__init__.py)

ROOT = Path(__file__).resolve().parent.parent

st.title("Transformer Lab")
st.markdown(
    "A small but complete **transformer**, written from scratch in PyTorch, learns a task while you "
    "watch: the loss falls, its answers go from nonsense to right, and its **attention** shows which "
    "tokens it reads to write each answer. Recurrent networks (RNN, GRU, LSTM) race it on the same "
    "tasks, so you can see what attention changed. Every task trains on a laptop CPU in under a minute."
)

DOORS = [
    ("pages/lessons.py", "Start the guided lessons", ":material/school:",
     "From words as vectors to attention, one idea at a time, with questions to check understanding."),
    ("pages/train.py", "Train a model now", ":material/model_training:",
     "Pick a task and a model, press Train, and watch it learn, refreshed every second."),
    ("pages/attention.py", "Explore attention", ":material/grid_on:",
     "See which tokens each head looks at, and how that changes during training."),
]

doors = [door for door in DOORS if (ROOT / door[0]).is_file()]
for column, (path, label, icon, text) in zip(st.columns(max(1, len(doors)), gap="small"), doors):
    with column.container(border=True):
        st.page_link(path, label=f"**{label}**", icon=icon)
        st.caption(text)

st.markdown(
    "Each run belongs to this browser tab: closing the tab stops it. Settings live in the address bar, "
    "so a link reopens the same view."
)
