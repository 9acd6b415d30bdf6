"""What a lesson's live part gets from the renderer: its parameters, the seed, the display mode.

A widget draws its controls inside `ctx.controls()` — a plain container normally, a closed
expander in presenter mode, so the projector shows the figure and not the knobs — and its
figures with `ctx.plot` (or `ctx.plot_live`, for figures that change while something trains),
which enlarges them for the projector.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Mapping

import streamlit as st

# The widget being drawn (set by `lesson_widgets.render_widget`), so helpers deep inside a part
# (`lesson_models.lesson_run`, which has no ctx) can say "not ready yet" for it.
_DRAWING: ContextVar["WidgetContext | None"] = ContextVar("lesson_widget", default=None)

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
    # What the part reported while drawing: the numbers it shows (name -> value, the names in
    # `transformer.course.WIDGET_REPORTS`), and why its result is not on screen yet (None: it is).
    values: dict = field(default_factory=dict, init=False, compare=False)
    pending: str | None = field(default=None, init=False, compare=False)

    def get(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    def report(self, name: str, value: float | None) -> None:
        """Tell the lesson a number this part shows, so its text and questions can use it."""
        if value is not None:
            self.values[name] = float(value)

    def wait(self, reason: str) -> None:
        """Say that what this part is for is not on screen yet (a model to train, a race to run,
        a button to press): the lesson keeps its answer hidden until it is."""
        if self.pending is None:
            self.pending = reason

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


def drawing() -> WidgetContext | None:
    """The lesson part being drawn now, or None outside a lesson."""
    return _DRAWING.get()


def wait(reason: str) -> None:
    """`WidgetContext.wait` for the part being drawn now; nothing outside a lesson."""
    ctx = _DRAWING.get()
    if ctx is not None:
        ctx.wait(reason)

