"""transformer.ui.live_figures: the figures it sends, and the frame's link to Plotly's script.

That the browser draws them, redraws them in place and keeps the plot element is checked in
tests/browser/test_browser_app.py (the Train page's loss chart).
"""
from __future__ import annotations

import json
import re

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


def test_the_frame_loads_plotly_from_the_component_this_module_declares():
    html = (live_figures.FRONTEND / "index.html").read_text()
    [folder] = re.findall(r'<script src="\.\./([^/"]+)/plotly\.min\.js"', html)
    # Streamlit serves a v1 component at /component/<declaring module>.<name>/
    assert folder == f"{live_figures.__name__}.plotly_js"
    assert (live_figures.PLOTLY_JS / "plotly.min.js").is_file()
