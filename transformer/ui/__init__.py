"""Streamlit glue between the pages and the library (the only package code that imports it).

    session.py   this browser session's training run and its current model
    sidebar.py   the sidebar every page shares: device, run status, presenter mode
    widgets.py   shared controls: `ensure_model_widget`, the model's answers, progress text
    settings.py  the Train page's settings: presets, shareable links, validation (no Streamlit)

A training thread never calls Streamlit; pages read what it publishes (see transformer.live).
"""
