"""Figure builders: pure functions, numpy arrays / lists in, ``plotly.graph_objects.Figure`` out.

Nothing here imports Streamlit (a test asserts it), so every figure works in a notebook as well
as in the app::

    from transformer.figures.training import loss_figure
    loss_figure(steps, losses).show()

Shared conventions, so the pages look like one app:

* sequential colour scale ``SEQUENTIAL`` (Viridis, colour-blind safe), fixed to 0..1 for
  attention weights; diverging ``DIVERGING`` (RdBu) centred on 0 for signed values;
* every figure has a title that says what to notice and axis titles with units;
* ``uirevision`` is set, so zoom and pan survive the app's once-a-second refreshes.
"""
from __future__ import annotations

SEQUENTIAL = "Viridis"
DIVERGING = "RdBu"

# Trace colours from the Okabe-Ito palette, which stays distinct for colour-blind viewers.
TRAIN_COLOR = "#0072B2"  # blue
VAL_COLOR = "#D55E00"  # vermillion
ACCENT_COLOR = "#009E73"  # bluish green
MUTED_COLOR = "#999999"

FONT_SIZE = 14


def base_layout(title: str, x_title: str, y_title: str, *, uirevision: str, height: int = 320) -> dict:
    """Layout shared by the app's line charts; pass to ``fig.update_layout(**...)``."""
    # The title sits at the very top and the legend (a row above the plot) below it, with room
    # for the legend to wrap onto a second row when wider tick labels narrow the plot; the two
    # shared one 60 px margin before, and a wrapped legend ran over the title.
    return dict(
        title=dict(text=title, x=0.0, xanchor="left", y=1.0, yref="container", yanchor="top",
                   pad=dict(t=6), font=dict(size=FONT_SIZE + 2)),
        xaxis=dict(title=dict(text=x_title)),
        yaxis=dict(title=dict(text=y_title)),
        font=dict(size=FONT_SIZE),
        height=height,
        margin=dict(l=10, r=10, t=78, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0),
        hovermode="x unified",
        uirevision=uirevision,
    )


def for_projector(fig):
    """Enlarge `fig` in place for presenter mode (about a third larger; returns it).

    Explicit sizes everywhere: titles and annotations carry their own, and Streamlit's chart
    theme would otherwise keep them small. A figure already enlarged is left as it is (marked
    in `layout.meta`), so a figure kept across refreshes does not grow at every draw.
    """
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    if meta.get("for_projector"):
        return fig
    fig.update_layout(meta={**meta, "for_projector": True})
    size = (fig.layout.font.size or FONT_SIZE) + 5
    fig.update_layout(font=dict(size=size), title_font=dict(size=size + 4),
                      height=int((fig.layout.height or 400) * 1.3))
    # At this size a long title overruns a half-width column and meets a legend above the plot:
    # "what — what to notice" goes on two lines, and the legend moves below the plot.
    # The height grows with the margins, so the plot itself keeps its larger size.
    title = fig.layout.title.text or ""
    if " — " in title:
        top = fig.layout.margin.t or 0
        # Centred in the margin (plotly's default): a two-line title anchored at the top
        # would have its first line cut off; the legend moves below the plot anyway.
        fig.update_layout(title_text=title.replace(" — ", "<br>", 1), title_y=None, title_yanchor="auto",
                          margin_t=max(top, 110), height=fig.layout.height + max(0, 110 - top))
    if fig.layout.legend.y is not None and fig.layout.legend.y >= 1:
        bottom = fig.layout.margin.b or 0
        fig.update_layout(legend=dict(yanchor="top", y=-0.3, xanchor="left", x=0.0),  # clear of the x title
                          margin_b=max(bottom, 140), height=fig.layout.height + max(0, 140 - bottom))
    fig.update_annotations(font_size=size)
    fig.update_xaxes(tickfont_size=size - 2, title_font_size=size)
    fig.update_yaxes(tickfont_size=size - 2, title_font_size=size)
    return fig
