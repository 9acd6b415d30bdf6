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
    # Presenter mode's one "Controls" expander of this widget: a widget that draws its knobs in
    # two places (an input, then a layer and head) still gets one expander, not two alike.
    _expander: Any = field(default=None, init=False, repr=False, compare=False)

    def get(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    @contextmanager
    def controls(self):
        """Where a widget puts its knobs: hidden behind an expander in presenter mode (one per
        widget: later calls add to the expander the first call made, where it stands)."""
        if self.presenter:
            if self._expander is None:
                self._expander = st.expander("Controls", expanded=False)
            with self._expander:
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
