"""Measure the app's own speed (the README's "app's own speed" table); not a test.

    .venv/bin/python scripts/measure_app.py [--steps 300] [--repeats 2]

1. first page interactive: seconds from /_stcore/health answering to the home page drawn and idle,
   in a browser that was already open (a cold server: the first session's script runs for the
   first time), then for a second session;
2. page switches: click a page in the sidebar -> its page drawn (its script run, and every chart
   on it drawn; the moment it was first seen so, confirmed by 0.3 s of staying so), first and
   second visit of each page;
3. training speed with the Train page open and refreshing once a second, against the same run
   from the command line (`python -m transformer train ... --json`) and in the same server
   while the browser shows another page, alternated `--repeats` times. Both use the thread count a live run gets (`transformer.runs.limiter.threads_per_run()`).
   Compared by the trainer's own clock for the whole run (training, evaluation and, for the
   live run, its snapshots; process start-up excluded), which both report, and by wall-clock
   time (the command line's includes starting Python and importing torch; the page's includes
   up to one refresh before "Finished" shows).
   For each of the three, `CpuAccount` reads the kernel's scheduler statistics: the CPU time of
   the training process, the server, the browser and this script with its Playwright driver,
   and the time the training process was ready to run but waited for a core (its run-queue
   wait, /proc/PID/task/*/schedstat), plus the VM's steal time. The wait is the slowdown the
   other programs on this machine caused; what they cannot explain is this VM's own drift.

Drives Debian's Chromium at /usr/bin/chromium with Playwright, like tests/browser.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from conftest import CHROMIUM, CHROMIUM_ARGS, StreamlitServer, wait_for_app  # noqa: E402

from playwright.sync_api import sync_playwright  # noqa: E402

PAGES = ["Train a model", "Attention", "Positional encoding", "Embeddings", "RNN vs Transformer",
         "Guided lessons", "Home"]


def settled(page, timeout_s: float = 300) -> None:
    wait_for_app(page, timeout_ms=timeout_s * 1000, settle_ms=300)


# True once the page is drawn and has stayed so for `settle` polls in a row; it notes, in the
# page's own clock, the poll at which it was first seen drawn, and keeps what it saw in
# window.__tlabSeen (for the message when a page is never drawn). Drawn: the new page's title
# on screen (see _BEFORE_CLICK_JS), connected, no script running, no widget still loading, and
# every Plotly chart on it drawn, in Streamlit's own element or in a live_figures frame.
_DRAWN_JS = """(settle) => {
    const app = document.querySelector('[data-testid="stApp"]');
    const title = document.querySelector('[data-testid="stMain"] h1');
    const frames = [...document.querySelectorAll('iframe')].filter(f => (f.src || '').includes('live_figures'));
    const seen = window.__tlabSeen = {
        title: title ? title.innerText : null, old_title: window.__tlabOldTitle,
        script: app.getAttribute('data-test-script-state'),
        connection: app.getAttribute('data-test-connection-state'),
        loading: !!document.querySelector('[data-testid="stSkeleton"], [data-testid="stSkeletonElement"]'),
        charts_drawn: [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].map(c => !!c.querySelector('.main-svg')),
        frames_drawn: frames.map(f => !!(f.contentDocument && f.contentDocument.querySelector('.main-svg'))),
    };
    const drawn = seen.title !== null && seen.title !== seen.old_title && seen.script === 'notRunning'
        && seen.connection === 'CONNECTED' && !seen.loading
        && seen.charts_drawn.every(Boolean) && seen.frames_drawn.every(Boolean);
    if (!drawn) { window.__tlabDrawnSince = 0; window.__tlabDrawnPolls = 0; return false; }
    if (!window.__tlabDrawnSince) window.__tlabDrawnSince = performance.now();
    window.__tlabDrawnPolls = (window.__tlabDrawnPolls || 0) + 1;
    return window.__tlabDrawnPolls >= settle;
}"""


# Before the click: the title on screen, which the new page's own replaces (a page's script may
# start and end within one frame, so its running state is not always seen).
_BEFORE_CLICK_JS = """() => {
    const title = document.querySelector('[data-testid="stMain"] h1');
    window.__tlabOldTitle = title ? title.innerText : null;
    window.__tlabDrawnSince = 0; window.__tlabDrawnPolls = 0;
}"""


def switch(page, name: str) -> float | None:
    """Seconds from the click on `name` in the sidebar to its page drawn (see _DRAWN_JS): the
    moment it was first seen drawn, not the end of the 0.3 s that confirms it stays so."""
    nav = page.locator('[data-testid="stSidebarNav"]')
    link = nav.get_by_text(name, exact=True)
    if not link.count():
        return None
    before = page.url
    page.evaluate(_BEFORE_CLICK_JS)
    clicked = page.evaluate("() => performance.now()")
    link.click()
    page.wait_for_function("(old) => location.href !== old", arg=before, timeout=120_000)
    page.locator('[data-testid="stMain"] h1').first.wait_for(timeout=120_000)
    try:
        page.wait_for_function(_DRAWN_JS, arg=3, polling=100, timeout=120_000)
    except Exception as err:
        raise RuntimeError(f"{name} was not drawn within 120 s: {page.evaluate('() => window.__tlabSeen')}") from err
    return (page.evaluate("() => window.__tlabDrawnSince") - clicked) / 1000


def page_timings(browser, page, base_url: str) -> dict:
    """A second session's first page, then every page switch (first and second visit)."""
    out = {}
    second = browser.new_page(viewport={"width": 1400, "height": 900})
    start = time.monotonic()
    second.goto(base_url + "/")
    settled(second)
    out["first_page_warm_s"] = time.monotonic() - start
    second.close()
    switches = {}
    for visit in ("first", "second"):
        for name in PAGES:
            seconds = switch(page, name)
            if seconds is not None:
                switches.setdefault(name, {})[visit] = round(seconds, 2)
    out["page_switch_s"] = switches
    return out


def _read(path: str) -> str | None:
    try:
        with open(path, errors="replace") as f:  # a command line need not be UTF-8
            return f.read()
    except OSError:
        return None  # the process ended between listing and reading


def _schedstat(pid: int) -> tuple[int, int]:
    """(ns on a CPU, ns waiting on a run queue), summed over the process's threads."""
    on_cpu = waited = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0, 0
    for tid in tids:
        text = _read(f"/proc/{pid}/task/{tid}/schedstat")
        if text:
            fields = text.split()
            on_cpu, waited = on_cpu + int(fields[0]), waited + int(fields[1])
    return on_cpu, waited


def _steal_s() -> float:
    fields = _read("/proc/stat").splitlines()[0].split()
    return int(fields[8]) / os.sysconf("SC_CLK_TCK")


class CpuAccount:
    """Who used the CPU while one run trained, from the kernel's scheduler statistics.

    Samples every process five times a second and keeps, per process, the growth of its CPU
    time and run-queue wait since the first sample (or since its birth), grouped as: "train"
    (the training process), "server" (Streamlit and the rest of its process tree), "browser"
    (Chromium), "driver" (this script and Playwright's driver) and "other".
    """

    def __init__(self, server_pid: int | None, train_pid=lambda: None):
        self.server_pid, self.train_pid = server_pid, train_pid
        self._seen: dict[int, list] = {}  # pid -> [group, first (cpu, wait), last (cpu, wait)]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> "CpuAccount":
        self._steal0, self._start = _steal_s(), time.monotonic()
        self._sample(first=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.seconds, self.steal_s = time.monotonic() - self._start, _steal_s() - self._steal0

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            try:
                self._sample(first=False)
            except Exception as err:  # one odd process must not end the accounting unseen
                print(f"CpuAccount: a sample failed ({type(err).__name__}: {err})", file=sys.stderr)

    def _group(self, pid: int, parents: dict[int, int], cmdlines: dict[int, str]) -> str:
        if pid == self.train_pid():
            return "train"
        cmd = cmdlines.get(pid, "")
        if "chromium" in cmd:
            return "browser"
        if pid == os.getpid() or "playwright" in cmd:
            return "driver"
        chain, up = [], pid
        while up in parents and up not in chain:
            chain.append(up)
            if up == self.server_pid:
                # A child of the fork server is a live run's training process.
                parent = parents.get(pid)
                return "train" if "forkserver" in cmdlines.get(parent, "") else "server"
            up = parents[up]
        return "other"

    def _sample(self, first: bool) -> None:
        parents, cmdlines = {}, {}
        for name in os.listdir("/proc"):
            if name.isdigit():
                stat = _read(f"/proc/{name}/stat")
                if stat:
                    pid = int(name)
                    parents[pid] = int(stat.rsplit(")", 1)[1].split()[1])
                    cmdlines[pid] = (_read(f"/proc/{name}/cmdline") or "").replace("\0", " ")
        for pid in parents:
            now = _schedstat(pid)
            if pid in self._seen:
                self._seen[pid][2] = now
            else:
                self._seen[pid] = [self._group(pid, parents, cmdlines), now if first else (0, 0), now]

    def report(self) -> dict:
        groups: dict[str, list[float]] = {}
        for group, (cpu0, wait0), (cpu1, wait1) in self._seen.values():
            totals = groups.setdefault(group, [0.0, 0.0])
            totals[0] += (cpu1 - cpu0) / 1e9
            totals[1] += (wait1 - wait0) / 1e9
        out = {f"{group}_cpu_s": round(cpu, 2) for group, (cpu, _) in sorted(groups.items())}
        out["train_wait_s"] = round(groups.get("train", [0, 0])[1], 2)
        out["steal_s"] = round(self.steal_s, 2)
        out["window_s"] = round(self.seconds, 2)
        return out


def cli_run(task: str, steps: int, threads: int) -> dict:
    cmd = [sys.executable, "-m", "transformer", "train", "--task", task, "--steps", str(steps),
           "--threads", str(threads), "--json"]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    with CpuAccount(None, train_pid=lambda: proc.pid) as cpu:
        out, _ = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}")
    wall = time.monotonic() - start
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    last = rows[-1]
    return {"elapsed_s": last["elapsed_s"], "wall_s": wall, "step": last["step"], "cpu": cpu.report()}


ELAPSED = re.compile(r"· (?:(\d+) min )?([\d.]+) s of training")


def page_run(page, away: bool, server_pid: int) -> dict:
    """Train from the Train page; with `away`, switch to Home while it trains (sidebar only)."""
    with CpuAccount(server_pid) as cpu:
        row = _page_run(page, away)
    return {**row, "cpu": cpu.report()}


def _page_run(page, away: bool) -> dict:
    sidebar = page.locator('[data-testid="stSidebar"]')
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_text("Train a model", exact=True).click()
    settled(page)
    main = page.locator('[data-testid="stMain"]')
    start = time.monotonic()
    main.get_by_role("button", name="Train", exact=True).click()
    progress = page.locator(".st-key-train-progress")
    # "about N s left" shows only while a run trains: the new run, not the last one's result.
    progress.get_by_text("left").wait_for(timeout=300_000)
    if away:
        # Elsewhere the sidebar follows the run (on the Train page it does not refresh).
        nav.get_by_text("Home", exact=True).click()
        sidebar.get_by_text("finished:").wait_for(timeout=900_000)
    else:
        main.get_by_text("Finished after").wait_for(timeout=900_000)
    wall = time.monotonic() - start
    if away:
        nav.get_by_text("Train a model", exact=True).click()
        settled(page)
    progress.get_by_text("of training").wait_for(timeout=300_000)
    text = progress.inner_text().strip()
    match = ELAPSED.search(text)
    elapsed = int(match.group(1) or 0) * 60 + float(match.group(2))
    return {"elapsed_s": elapsed, "wall_s": wall, "progress": text}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="reverse")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--only-speed", action="store_true", help="skip the page timings")
    parser.add_argument("--only-pages", action="store_true", help="skip the training-speed runs")
    parser.add_argument("--nice-browser", action="store_true",
                        help="run Chromium at the lowest CPU priority, as if it were on another machine "
                             "(a student's laptop); the server still serves and refreshes the page")
    args = parser.parse_args()

    from transformer.runs.limiter import threads_per_run

    threads = threads_per_run()
    log = Path(tempfile.mkdtemp(prefix="tlab-measure-")) / "server.log"
    server = StreamlitServer(log)
    report = {}
    try:
        with sync_playwright() as pw:
            executable = CHROMIUM
            if args.nice_browser:
                wrapper = log.parent / "chromium-nice"
                wrapper.write_text(f'#!/bin/sh\nexec nice -n 19 {CHROMIUM} "$@"\n')
                wrapper.chmod(0o755)
                executable = str(wrapper)
            browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(300_000)
            # The browser is already open when the server starts, as a person's would be.
            server.start()
            healthy = time.monotonic()
            page.goto(server.url + "/")
            settled(page)
            report["first_page_cold_s"] = time.monotonic() - healthy
            if not args.only_speed:
                report.update(page_timings(browser, page, server.url))

            page.goto(f"{server.url}/train?task={args.task}&steps={args.steps}")
            settled(page)
            runs = []
            for _ in range(0 if args.only_pages else args.repeats):
                # Let the browser finish what the last page load started (the Train page's
                # curves frame compiles plotly.js): else it takes CPU from the CLI's run.
                time.sleep(5)
                row = {"cli": cli_run(args.task, args.steps, threads),
                       "page": page_run(page, away=False, server_pid=server.proc.pid),
                       "away": page_run(page, away=True, server_pid=server.proc.pid)}
                runs.append(row)
                print(json.dumps({k: {"elapsed_s": round(v["elapsed_s"], 1), **v["cpu"]} for k, v in row.items()}),
                      flush=True)
            report["runs"] = runs
            browser.close()
    finally:
        server.stop()
    runs = report["runs"]
    if not runs:
        print(json.dumps(report, indent=2))
        return

    def median(mode: str, what: str = "elapsed_s") -> float:
        return statistics.median(r[mode][what] for r in runs)

    # Speed = steps per second, so the ratio of times: the command line's over the page's.
    report["speed_page_vs_cli"] = round(median("cli") / median("page"), 3)
    report["speed_page_vs_same_server_without_page"] = round(median("away") / median("page"), 3)
    report["median_elapsed_s"] = {mode: round(median(mode), 2) for mode in ("cli", "page", "away")}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
