"""Presenter mode for a grid of charts that must fit one projector screen together.

`theme.for_projector` enlarges a figure by about a third, text and height alike: right for a
figure that is the one thing on screen (a lesson step's heatmap). The Train page's four curves
are the opposite case: at 1280x720 the class must see the progress and all four at once, so
there are two rows of about 270 px for them. `for_projector_grid` enlarges the text as much
(ticks 16-17 px instead of 12-14) but keeps each chart at a fixed height, and puts the title on
one line with the legend in the row under it, as on the normal page, instead of moving the legend
below the plot (which alone cost 140 px).
"""
from __future__ import annotations

from .theme import FONT_SIZE

# At 1280x720 in presenter mode the curve frame has 720 - 79 (Streamlit's header) - 74 (the
# progress line and the gap under it) = 567 px for two rows and the 8 px between them.
GRID_HEIGHT = 270


def for_projector_grid(fig, height: int = GRID_HEIGHT):
    """Enlarge `fig`'s text for presenter mode in place, at a fixed `height` (px); returns it.

    The figure is marked as enlarged (`layout.meta["for_projector"]`), so `for_projector`
    leaves it alone and a figure kept across refreshes is not enlarged again.
    """
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    if meta.get("for_projector"):
        return fig
    size = FONT_SIZE + 4
    # Title (size + 2) at the top of the margin, the legend's row at its bottom (see base_layout).
    fig.update_layout(meta={**meta, "for_projector": True}, height=height, font=dict(size=size),
                      title_font=dict(size=size + 2), margin=dict(t=2 * size + 48, b=10))
    fig.update_annotations(font_size=size - 1)
    fig.update_xaxes(tickfont_size=size - 2, title_font_size=size - 1)
    fig.update_yaxes(tickfont_size=size - 2, title_font_size=size - 1)
    # A long y title ("cross-entropy (nats / answer token)") is longer than a short plot is
    # tall: its unit goes on a second line.
    for axis in fig.select_yaxes():
        text = axis.title.text or ""
        if len(text) > 20 and " (" in text and "<br>" not in text:
            axis.title.text = text.replace(" (", "<br>(", 1)
    return fig
