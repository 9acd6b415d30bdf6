"""The figures' one look: colours, fonts, the shared line-chart layout, and presenter mode.

Every figure builder takes its colours from here, so the app reads as one app and a change of
palette is one edit. Trace colours come from the Okabe-Ito palette (Okabe & Ito, 2008), which
stays distinct for colour-blind viewers; heatmaps use Viridis (sequential, 0..1 for attention
weights) and RdBu (diverging, centred on 0 for signed values).
"""
from __future__ import annotations

SEQUENTIAL = "Viridis"
DIVERGING = "RdBu"

# Okabe-Ito, by name.
BLUE = "#0072B2"
VERMILLION = "#D55E00"
GREEN = "#009E73"
PURPLE = "#CC79A7"  # reddish purple
ORANGE = "#E69F00"
SKY = "#56B4E9"
YELLOW = "#F0E442"
BLACK = "#000000"
GREY = "#999999"
# Distinct trace colours in the order a figure with several lines takes them.
PALETTE = (BLUE, VERMILLION, GREEN, PURPLE, ORANGE, SKY, BLACK, GREY, YELLOW)

# Roles: what a colour means wherever it appears.
TRAIN_COLOUR = BLUE  # the training side of a curve pair
VAL_COLOUR = VERMILLION  # the held-out side, and a marked moment (a step, a formation)
ACCENT_COLOUR = GREEN
MUTED_COLOUR = GREY
DARK_GREY = "#555555"  # a secondary line or note beside the main one
LIGHT_GREY = "#cccccc"  # guides drawn behind the data
MASKED_COLOUR = "#c8c8c8"  # cells that cannot be attended to (the causal mask)
ALLOWED_COLOUR = "#21918c"  # Viridis's middle: a cell that may be attended to, in a mask picture
POSITIVE_COLOUR, NEGATIVE_COLOUR = "#2166ac", "#b2182b"  # the ends of RdBu, for signed bars
TABLE_HEADER_COLOUR = "#e8eef7"

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
