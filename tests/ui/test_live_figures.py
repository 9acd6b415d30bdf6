"""transformer.ui.live_figures: the figures it sends, and the frame's link to Plotly's script.

That the browser draws them, redraws them in place and keeps the plot element is checked in
tests/browser/test_browser_app.py (the Train page's loss chart).
"""
from __future__ import annotations

import json
import posixpath

import numpy as np

from transformer.figures.training import loss_figure
from transformer.ui import live_figures


def test_a_figure_is_sent_without_plotlys_default_template_and_with_everything_else():
    fig = loss_figure(np.arange(1, 51), np.linspace(3, 1, 50), [0, 25], [3.0, 2.0], uirevision="run-3")
    assert fig.layout.template.layout  # plotly.py attached its ~10 KB default
    spec = json.loads(live_figures.figure_json(fig))
    assert "template" not in spec["layout"]
    assert spec["layout"]["uirevision"] == "run-3", "zoom survives refreshes only with uirevision"
    assert spec["layout"]["title"]["text"] == fig.layout.title.text
    assert [t["name"] for t in spec["data"]] == [t.name for t in fig.data]
    assert len(live_figures.figure_json(fig)) < len(fig.to_json())


def test_plotly_js_comes_from_the_apps_static_folder_or_else_from_the_package(tmp_path, monkeypatch):
    frame_dir = "/component/transformer.ui.live_figures.live_figures/"  # where the frame's page is
    static = tmp_path / "static"
    monkeypatch.setattr(live_figures, "APP_STATIC", static)
    monkeypatch.setattr(live_figures.st, "get_option", lambda name: name == "server.enableStaticServing")
    src = live_figures.plotly_src()
    # A copy Streamlit serves at /app/static/ with validators, so the browser keeps it compiled.
    assert posixpath.normpath(posixpath.join(frame_dir, src)).startswith("/app/static/plotly-")
    copied = static / posixpath.basename(src)
    assert copied.read_bytes() == (live_figures.PLOTLY_JS / "plotly.min.js").read_bytes()
    assert live_figures.plotly_src() == src and [p.name for p in static.iterdir()] == [copied.name]

    # Static serving off: the package's own file, served as the component this module declares.
    monkeypatch.setattr(live_figures.st, "get_option", lambda name: False)
    fallback = posixpath.normpath(posixpath.join(frame_dir, live_figures.plotly_src()))
    assert fallback == f"/component/{live_figures.__name__}.plotly_js/plotly.min.js"
    assert (live_figures.PLOTLY_JS / "plotly.min.js").is_file()
