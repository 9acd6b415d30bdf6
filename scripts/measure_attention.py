"""Measure the Attention page's speed (issue 14); not a test.

    .venv/bin/python scripts/measure_attention.py [--tasks reverse charlm] [--visits 3] [--scrubs 5]

For each task: train its preset on the Train page (the task's own preset, as a teacher would),
then, in a browser at 1400x900:

1. open: click "Attention" in the sidebar (from Home) -> every chart on the page drawn, the
   moment it was first seen so (`measure_app.switch`), `--visits` times;
2. the page's height in pixels, and how many charts it draws;
3. scrub through training time, per notch:
   * server-side: the page's own "look at the model as it was at training step" slider (a
     Streamlit select_slider, one rerun per notch), when the page has one: keyboard ← on its
     thumb -> the rerun seen, then every chart drawn again;
   * client-side: the "Attention over training" figure's own Plotly slider: a click on its rail
     -> plotly's `plotly_animated` event and the next painted frame.

Drives Debian's Chromium at /usr/bin/chromium with Playwright, like tests/browser. Prints one
JSON object.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "scripts")]
from conftest import CHROMIUM, CHROMIUM_ARGS, StreamlitServer  # noqa: E402
from measure_app import settled, switch  # noqa: E402

from playwright.sync_api import sync_playwright  # noqa: E402

FILM = "Attention over training"
SCRUB_LABEL = "look at the model as it was at training step"

# After a server-side notch: the rerun was seen (running), and now the script is done, nothing is
# loading or stale, and every chart has drawn; notes the first moment it was seen so.
_RERUN_DRAWN_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    const script = app.getAttribute('data-test-script-state');
    if (script === 'running') window.__tlabRan = true;
    const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
    const stale = document.querySelector('[data-stale="true"]');
    const done = window.__tlabRan && script === 'notRunning' && !stale
        && !document.querySelector('[data-testid="stSkeleton"], [data-testid="stSkeletonElement"]')
        && charts.every(c => c.querySelector('.main-svg'));
    if (!done) { window.__tlabDoneAt = 0; return false; }
    if (!window.__tlabDoneAt) window.__tlabDoneAt = performance.now();
    return performance.now() - window.__tlabDoneAt > 300;
}"""


def train_preset(page, base_url: str, task: str) -> None:
    page.goto(f"{base_url}/train?task={task}")
    settled(page)
    main = page.locator('[data-testid="stMain"]')
    main.get_by_role("button", name="Train", exact=True).click()
    main.get_by_text("Finished after").wait_for(timeout=900_000)
    settled(page)


def page_size(page) -> dict:
    return page.evaluate("""() => ({
        height_px: document.querySelector('[data-testid="stMain"]').scrollHeight,
        charts: document.querySelectorAll('[data-testid="stPlotlyChart"]').length,
    })""")


def server_scrub(page, notches: int) -> list[float]:
    """Seconds per notch of the page's own training-step slider (empty if it has none)."""
    thumb = page.locator('[data-testid="stMain"] [data-testid="stSlider"]').filter(
        has_text=SCRUB_LABEL).get_by_role("slider")
    if not thumb.count():
        return []
    out = []
    for _ in range(notches):
        thumb.first.focus()
        page.evaluate("() => { window.__tlabRan = false; window.__tlabDoneAt = 0; window.__t0 = performance.now(); }")
        page.keyboard.press("ArrowLeft")
        page.wait_for_function(_RERUN_DRAWN_JS, polling=20, timeout=120_000)
        out.append(round(page.evaluate("() => (window.__tlabDoneAt - window.__t0) / 1000"), 3))
    return out


def open_film(page) -> bool:
    """Bring the training-time film on screen (in its tab, if the page has tabs)."""
    tab = page.get_by_role("tab", name="Over training")
    if tab.count():
        tab.first.click()
        settled(page)
    film = page.locator('[data-testid="stPlotlyChart"]').filter(has_text=FILM)
    if not film.count():
        return False
    film.first.scroll_into_view_if_needed()
    film.first.locator(".slider-rail-rect").wait_for(timeout=60_000)
    return True


def client_scrub(page, notches: int) -> list[float]:
    """Seconds per click on the film's Plotly slider, to the new frame painted: the last of
    plotly's `plotly_animated` / `plotly_redraw` events, then the next animation frame."""
    film = page.locator('[data-testid="stPlotlyChart"]').filter(has_text=FILM).first
    page.evaluate("""(el) => {
        const gd = el.querySelector('.js-plotly-plot');
        window.__tlabEvents = [];
        for (const name of ['plotly_animated', 'plotly_redraw'])
            gd.on(name, () => requestAnimationFrame(() => window.__tlabEvents.push([name, performance.now()])));
    }""", film.element_handle())
    film.locator(".slider-rail-rect").first.scroll_into_view_if_needed()  # a tall film's slider is below the fold
    rail = film.locator(".slider-rail-rect").first.bounding_box()
    ticks = [box["x"] + box["width"] / 2 for box in
             (t.bounding_box() for t in film.locator(".slider-tick-rect").all())]
    out = []
    for i in range(notches):
        x = ticks[max(0, len(ticks) - 2 - i)]  # walk back from the last step, one notch at a time
        page.evaluate("() => { window.__tlabEvents = []; window.__t0 = performance.now(); }")
        page.mouse.click(x, rail["y"] + rail["height"] / 2)
        page.wait_for_function("() => window.__tlabEvents.some(e => e[0] === 'plotly_animated')",
                               polling=10, timeout=30_000)
        time.sleep(0.5)  # a redraw after the animation, if there is one
        out.append(round(page.evaluate(
            "() => (Math.max(...window.__tlabEvents.map(e => e[1])) - window.__t0) / 1000"), 3))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["reverse", "charlm"])
    parser.add_argument("--visits", type=int, default=3)
    parser.add_argument("--scrubs", type=int, default=5)
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args()

    log = Path(tempfile.mkdtemp(prefix="tlab-measure-attention-")) / "server.log"
    server = StreamlitServer(log, port=args.port)
    report = {}
    try:
        server.start()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(300_000)
            for task in args.tasks:
                train_preset(page, server.url, task)
                row = {"open_s": []}
                for _ in range(args.visits):
                    switch(page, "Home")
                    row["open_s"].append(round(switch(page, "Attention"), 2))
                row.update(page_size(page))
                row["server_scrub_s"] = server_scrub(page, args.scrubs)
                row["client_scrub_s"] = client_scrub(page, args.scrubs) if open_film(page) else None
                for name in ("open_s", "server_scrub_s", "client_scrub_s"):
                    if row[name]:
                        row[name[:-2] + "_median_s"] = round(statistics.median(row[name]), 3)
                report[task] = row
                print(json.dumps({task: row}), flush=True)
            browser.close()
    finally:
        server.stop()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
