"""Sampling controls that act in the browser: temperature, top-k and top-p over one distribution.

Moving a temperature slider only reshapes logits the server has already computed, so asking the
server (a rerun, a model call) at every notch would be waste and lag. `sampling_controls` sends
the next position's logits once to a small component (Streamlit's components v2; its HTML bars
and rules are in `sampling_frontend/`, no library, nothing downloaded) that redraws the bars of
the top candidates before and after, and the entropy, at every move. When a slider is released
the settings come back to the server as the component's state, so the generation below samples
with exactly what the person sees.

The browser's rules are those of `transformer.decoding.next_token_distribution` (a browser test
compares the two).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
import streamlit as st

FRONTEND = Path(__file__).resolve().parent / "sampling_frontend"
DEFAULT = {"temperature": 1.0, "top_k": 0, "top_p": 1.0}


@lru_cache(maxsize=1)
def _component():
    # Registered once per process; the JS and CSS are the files beside this module (components
    # v2 reads paths only from installed component packages, so they are passed as text).
    return st.components.v2.component(
        "tlab_sampling",
        js=(FRONTEND / "sampling.js").read_text(encoding="utf-8"),
        css=(FRONTEND / "sampling.css").read_text(encoding="utf-8"),
    )


def clean_settings(raw) -> dict:
    """The settings a browser sent, as numbers within their ranges (anything else: the default)."""
    out = dict(DEFAULT)
    if isinstance(raw, dict):
        for name, lo, hi, kind in (("temperature", 0.0, 2.0, float), ("top_k", 0, 10_000, int),
                                   ("top_p", 0.05, 1.0, float)):
            try:
                value = kind(raw.get(name, out[name]))
            except (TypeError, ValueError):
                continue
            if np.isfinite(value):
                out[name] = min(max(value, lo), hi)
    return out


def sampling_controls(logits, tokens: Sequence[str], labels: Sequence[str], *, key: str,
                      settings: dict | None = None, joiner: str = "", shown: int = 15,
                      large: bool = False) -> dict:
    """Draw the controls over `logits` [V] (one per token of `tokens`); return the settings
    {"temperature", "top_k" (0 = off), "top_p"} last released in the browser.

    labels: how each token is shown (a space as "␣"); shown: how many of the most likely
    candidates get a bar; settings: where the sliders start (the value kept under `key`).
    """
    z = np.asarray(logits, dtype=np.float64).reshape(-1)
    if z.size != len(tokens) or z.size != len(labels):
        raise ValueError(f"{z.size} logits for {len(tokens)} tokens: give one logit per token.")
    start = clean_settings(settings)
    data = {"logits": [float(v) if np.isfinite(v) else -1e9 for v in z], "tokens": [str(t) for t in tokens],
            "labels": [str(t) for t in labels], "settings": start, "shown": int(shown), "joiner": joiner,
            "large": bool(large)}
    result = _component()(key=key, data=data, default={"settings": start}, on_settings_change=lambda: None)
    return clean_settings(getattr(result, "settings", None) if result is not None else None)
