"""Figure builders: pure functions, numpy arrays / lists in, ``plotly.graph_objects.Figure`` out.

Nothing here imports Streamlit (a test asserts it), so every figure works in a notebook as well
as in the app::

    from transformer.figures.training import loss_figure
    loss_figure(steps, losses).show()

Shared conventions (colours and layout in ``theme.py``), so the pages look like one app:

* sequential colour scale ``SEQUENTIAL`` (Viridis, colour-blind safe), fixed to 0..1 for
  attention weights; diverging ``DIVERGING`` (RdBu) centred on 0 for signed values;
* every figure has a title that says what to notice and axis titles with units;
* ``uirevision`` is set, so zoom and pan survive the app's once-a-second refreshes.
"""
from __future__ import annotations

from .theme import (  # noqa: F401 (the conventions above, importable from the package)
    DIVERGING,
    FONT_SIZE,
    SEQUENTIAL,
    base_layout,
    for_projector,
)
