"""What a lesson's live part gets from the renderer: its parameters, the seed, the display mode.

A widget draws its controls inside `ctx.controls()` — a plain container normally, a closed
expander in presenter mode, so the projector shows the figure and not the knobs — and its
figures with `ctx.plot` (or `ctx.plot_live`, for figures that change while something trains),
which enlarges them for the projector.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Mapping

import streamlit as st

@dataclass
class WidgetContext:
    """What a widget gets: its parameters from the lesson file, the link's seed, the display mode."""

    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    presenter: bool = False
    key: str = "lesson"

    def get(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    @contextmanager
    def controls(self):
        """Where a widget puts its knobs: hidden behind an expander in presenter mode."""
        if self.presenter:
            with st.expander("Controls", expanded=False):
                yield
        else:
            with st.container():
                yield

    def plot(self, fig, name: str = "fig") -> None:
        """Draw a plotly figure, about a third larger in presenter mode."""
        if self.presenter:
            from ..figures import for_projector

            for_projector(fig)
        st.plotly_chart(fig, key=f"{self.key}.{name}", width="stretch")

    def plot_live(self, figures: Mapping[str, Any], name: str = "live", columns: int = 2) -> None:
        """Draw figures that change while something trains, redrawn in place at every refresh
        (`live_figures`, which keeps the reader's zoom), enlarged like `plot` in presenter mode.
        Enlarging a figure twice is a no-op, so a figure kept across refreshes is enlarged once."""
        from .live_figures import live_figures

        if self.presenter:
            from ..figures import for_projector

            for fig in figures.values():
                for_projector(fig)
        live_figures(figures, key=f"{self.key}.{name}", columns=columns)
