"""Measure the Generate page (issue 18) and take its screenshots; not a test.

    .venv/bin/python scripts/measure_generate.py [--tasks charlm reverse] [--visits 3] [--shots DIR]
    .venv/bin/python scripts/measure_generate.py --tasks --shots DIR     # presenter screenshots only

For each task: press Train on the Train page (the task's preset, as a teacher would); while it
trains, open Generate (it follows the run) and, with --shots, take a screenshot; when it has
finished, in a browser at 1400x900:

1. open: click "Generate" in the sidebar (from Home) -> every chart on the page drawn, the
   moment it was first seen so (`measure_app.switch`), `--visits` times;
2. each tab: click -> the rerun seen, then every chart drawn;
3. the sampling sliders: a move of the temperature slider (an input event) -> the bars redrawn,
   in the page's own clock (no server involved), `--moves` times;
4. with --shots: every tab at 1400x900, and presenter mode (?presenter=1) at 1280x720.

Drives Debian's Chromium at /usr/bin/chromium with Playwright, like tests/browser. Prints one
JSON object.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "scripts")]
from conftest import CHROMIUM, CHROMIUM_ARGS, StreamlitServer  # noqa: E402
from measure_app import settled, switch  # noqa: E402
from measure_attention import _RERUN_DRAWN_JS  # noqa: E402

from playwright.sync_api import sync_playwright  # noqa: E402

TABS = ("Output layer", "Sampling", "Step by step", "Beam search", "Free text", "Attention")

# One move of the temperature slider in the component's shadow root, timed to the next frame.
_MOVE_JS = """(value) => new Promise((done) => {
    const roots = [document, ...[...document.querySelectorAll('*')].map(e => e.shadowRoot).filter(Boolean)];
    const input = roots.map(r => r.querySelector('.tlab-sampling input[aria-label="temperature T"]')).find(Boolean);
    const t0 = performance.now();
    input.value = String(value);
    input.dispatchEvent(new Event('input', {bubbles: true}));
    requestAnimationFrame(() => requestAnimationFrame(() => done((performance.now() - t0) / 1000)));
})"""


def start_training(page, base_url: str, task: str) -> None:
    page.goto(f"{base_url}/train?task={task}")
    settled(page)
    page.locator('[data-testid="stMain"]').get_by_role("button", name="Train", exact=True).click()


def wait_finished(page) -> None:
    switch(page, "Train a model")
    page.locator('[data-testid="stMain"]').get_by_text("Finished after").wait_for(timeout=900_000)
    settled(page)


# A rerun shorter than one poll would never be seen running: an observer notes it instead.
_WATCH_RERUN_JS = """() => {
    window.__tlabRan = false; window.__tlabDoneAt = 0; window.__t0 = performance.now();
    const app = document.querySelector('[data-testid="stApp"]');
    if (window.__tlabObserver) window.__tlabObserver.disconnect();
    window.__tlabObserver = new MutationObserver(() => {
        if (app.getAttribute('data-test-script-state') === 'running') window.__tlabRan = true;
    });
    window.__tlabObserver.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""


def open_tab(page, name: str) -> float:
    page.evaluate(_WATCH_RERUN_JS)
    page.locator('[data-testid="stMain"]').get_by_role("tab", name=name).click()
    try:
        page.wait_for_function(_RERUN_DRAWN_JS, polling=20, timeout=120_000)
    except Exception as err:
        state = page.evaluate("() => ({ran: window.__tlabRan, script: document.querySelector('[data-testid=\"stApp\"]')"
                              ".getAttribute('data-test-script-state'), charts: [...document.querySelectorAll("
                              "'[data-testid=\"stPlotlyChart\"]')].map(c => !!c.querySelector('.main-svg'))})")
        raise RuntimeError(f"the {name} tab was not drawn within 120 s: {state}") from err
    return round(page.evaluate("() => (window.__tlabDoneAt - window.__t0) / 1000"), 3)


def shoot(page, path: Path, at_tabs: bool = True) -> None:
    """A screenshot of the viewport, scrolled so the tabs are at the top (their content below)."""
    if at_tabs:
        page.evaluate("() => { const t = document.querySelector('[data-testid=\"stMain\"] [role=tablist]');"
                      " if (t) t.scrollIntoView({block: 'start'}); }")
    page.wait_for_timeout(800)
    page.screenshot(path=str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="*", default=["charlm", "reverse"], help="none: only the presenter shots")
    parser.add_argument("--visits", type=int, default=3)
    parser.add_argument("--moves", type=int, default=5)
    parser.add_argument("--shots", type=Path, default=None, help="folder for screenshots (none if omitted)")
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args()
    if args.shots:
        args.shots.mkdir(parents=True, exist_ok=True)

    log = Path(tempfile.mkdtemp(prefix="tlab-measure-generate-")) / "server.log"
    server = StreamlitServer(log, port=args.port)
    report = {}
    try:
        server.start()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(300_000)
            for task in args.tasks:
                start_training(page, server.url, task)
                page.wait_for_timeout(8000)  # a few snapshots in
                switch(page, "Generate")
                if args.shots:
                    shoot(page, args.shots / f"generate-{task}-training-1400.png", at_tabs=False)
                    shoot(page, args.shots / f"generate-{task}-training-tabs-1400.png")
                wait_finished(page)
                row = {"open_s": []}
                for _ in range(args.visits):
                    switch(page, "Home")
                    row["open_s"].append(round(switch(page, "Generate"), 2))
                row["tab_s"] = {}
                for tab in TABS[1:] + TABS[:1]:
                    row["tab_s"][tab] = open_tab(page, tab)
                    if args.shots:
                        shoot(page, args.shots / f"generate-{task}-{tab.replace(' ', '_')}-1400.png")
                    if tab == "Sampling":
                        row["slider_redraw_s"] = [round(page.evaluate(_MOVE_JS, 0.3 + 0.2 * i), 4)
                                                  for i in range(args.moves)]
                row["open_median_s"] = round(statistics.median(row["open_s"]), 3)
                report[task] = row
                print(json.dumps({task: row}), flush=True)
            if args.shots:
                small = browser.new_page(viewport={"width": 1280, "height": 720})
                small.set_default_timeout(300_000)
                # A new session: the preset trained above comes from the server's cache at once.
                small.goto(f"{server.url}/generate?presenter=1")
                settled(small)
                small.get_by_role("button", name="Train the preset").click()
                small.locator('[data-testid="stMain"] [role=tablist]').wait_for(timeout=900_000)
                settled(small)
                shoot(small, args.shots / "generate-presenter-top-1280.png", at_tabs=False)
                for tab in ("Output layer", "Sampling", "Step by step"):
                    if tab != "Output layer":  # the first tab is open already: a click reruns nothing
                        open_tab(small, tab)
                    shoot(small, args.shots / f"generate-presenter-{tab.replace(' ', '_')}-1280.png")
            browser.close()
    finally:
        server.stop()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
