"""Charts that refresh in place: a grid of Plotly figures redrawn with `Plotly.react`.

`st.plotly_chart` puts a hash of the figure into its element id, so a chart that gains a point
at every refresh is mounted anew in the browser: half a core on the Train page, taken from the
trainer beside it, and a reader's zoom is lost each time. `live_figures` is a small custom
component (Streamlit's v1 protocol, page in `live_figures_frontend/index.html`): one frame,
kept across refreshes by its key, that redraws only the figures whose spec changed and only
those on screen (the others catch up when seen). Plotly's JavaScript is the installed plotly
package's, copied once into the app's static folder so the browser caches it (`plotly_src`).
Charts that do not change while they are looked at stay `st.plotly_chart`. The measurements
behind these choices are in docs/PERFORMANCE.md.
"""
from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path
from typing import Mapping

import plotly
import plotly.graph_objects as go
import streamlit as st
import streamlit.components.v1 as components
from plotly.utils import PlotlyJSONEncoder

FRONTEND = Path(__file__).resolve().parent / "live_figures_frontend"
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data"  # holds plotly.min.js
APP_STATIC = Path(__file__).resolve().parents[2] / "static"  # beside app.py: Streamlit's /app/static
CONFIG = {"displaylogo": False, "responsive": True}
_copy_lock = threading.Lock()


def figure_json(fig: go.Figure) -> str:
    """The figure as Plotly.js reads it, without plotly.py's default template.

    The template (about 10 KB of defaults) would be sent at every refresh only to be replaced
    by the app's theme in the frame.
    """
    spec = fig.to_plotly_json()
    spec["layout"] = {k: v for k, v in spec["layout"].items() if k != "template"}
    return json.dumps(spec, cls=PlotlyJSONEncoder, separators=(",", ":"))


def plotly_src() -> str:
    """The URL the frame loads plotly.js from, relative to the frame's page
    (<server>/component/<name>/index.html): the app's static copy, or the package's own file."""
    package_file = f"../{__name__}.plotly_js/plotly.min.js"
    if not st.get_option("server.enableStaticServing"):
        return package_file
    name = f"plotly-{plotly.__version__}.min.js"
    target = APP_STATIC / name
    with _copy_lock:
        try:
            if not target.exists():
                APP_STATIC.mkdir(exist_ok=True)
                partial = target.with_name(f".{name}.{os.getpid()}")
                shutil.copyfile(PLOTLY_JS / "plotly.min.js", partial)
                os.replace(partial, target)  # whole or absent, for a server running beside this one
        except OSError:
            return package_file  # a read-only install
    return f"../../app/static/{name}"


def _component():
    # Streamlit registers v1 components only inside a script run, in that run's runtime (each
    # AppTest has its own), so they are declared at every call; declaring is a dict update.
    # "plotly_js" serves plotly's own folder, for plotly_src's fallback.
    components.declare_component("plotly_js", path=str(PLOTLY_JS))
    return components.declare_component("live_figures", path=str(FRONTEND))


def live_figures(figures: Mapping[str, go.Figure], *, key: str, columns: int = 2) -> None:
    """Draw `figures` (name -> figure, in reading order) in a grid of `columns`, in one frame.

    Call it at every refresh with the same `key`: a figure whose JSON is unchanged is not
    redrawn, a changed one is updated in place. Each figure's `layout.height` sets its row.
    """
    specs = [{"name": name, "spec": figure_json(fig)} for name, fig in figures.items()]
    _component()(figures=specs, columns=columns, config=CONFIG, plotly_src=plotly_src(), key=key, default=None)
