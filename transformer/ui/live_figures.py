"""Charts that refresh in place: a grid of Plotly figures redrawn with `Plotly.react`.

Why not `st.plotly_chart` for charts that change every refresh: in Streamlit 1.67 a Plotly
chart's element id hashes its figure, so every new point makes a new element, which the browser
mounts from scratch (a fresh plot, a fresh React subtree). Measured on the Train page (headless
Chromium, 2 cores): about 150-200 ms of browser CPU per chart per refresh, half a core for the
page's four curves, which on a two-core laptop is taken from the training process beside it;
and a reader's zoom is lost at every refresh, since the zoomed plot is thrown away. Plotly.react
on a plot that stays costs 25-35 ms here and keeps the zoom (`layout.uirevision`).

So `live_figures` is a small custom component (Streamlit's v1 protocol, `declare_component`):
one frame holding every figure, kept across refreshes by its key, that redraws only the figures
whose spec changed. Its page is `live_figures_frontend/index.html`; Plotly's JavaScript comes
from the installed plotly package, served as a second "component" whose folder is plotly's own,
so nothing is copied or downloaded. Static charts stay `st.plotly_chart`.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

import plotly
import plotly.graph_objects as go
import streamlit.components.v1 as components
from plotly.utils import PlotlyJSONEncoder

FRONTEND = Path(__file__).resolve().parent / "live_figures_frontend"
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data"  # holds plotly.min.js
CONFIG = {"displaylogo": False, "responsive": True}


def figure_json(fig: go.Figure) -> str:
    """The figure as Plotly.js reads it, without plotly.py's default template.

    The template (about 10 KB of defaults) would be sent at every refresh only to be replaced
    by the app's theme in the frame.
    """
    spec = fig.to_plotly_json()
    spec["layout"] = {k: v for k, v in spec["layout"].items() if k != "template"}
    return json.dumps(spec, cls=PlotlyJSONEncoder, separators=(",", ":"))


def _component():
    # Streamlit registers v1 components only inside a script run, in that run's runtime (each
    # AppTest has its own), so they are declared at every call; declaring is a dict update.
    # The name "plotly_js" is part of the URL index.html loads Plotly from.
    components.declare_component("plotly_js", path=str(PLOTLY_JS))
    return components.declare_component("live_figures", path=str(FRONTEND))


def live_figures(figures: Mapping[str, go.Figure], *, key: str, columns: int = 2) -> None:
    """Draw `figures` (name -> figure, in reading order) in a grid of `columns`, in one frame.

    Call it at every refresh with the same `key`: a figure whose JSON is unchanged is not
    redrawn, a changed one is updated in place. Each figure's `layout.height` sets its row.
    """
    specs = [{"name": name, "spec": figure_json(fig)} for name, fig in figures.items()]
    _component()(figures=specs, columns=columns, config=CONFIG, key=key, default=None)
