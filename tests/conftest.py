"""Shared fixtures: the repository root, AppTest helpers, and the browser-test harness.

Browser tests (marked ``browser``) run the real app with ``streamlit run app.py`` in a
subprocess and drive it with Playwright in Debian's headless Chromium at ``/usr/bin/chromium``
(Playwright's own browser download cannot reach its CDN from the project's machines). Outside
CI they skip with a reason when Chromium or pytest-playwright is missing; in CI (``CI=true``)
they run and fail instead, so a broken set-up cannot pass silently.

Typical browser test::

    @pytest.mark.browser
    def test_home(page, app_url, open_app):
        open_app(page, "")            # navigates, waits for the script to finish, no exception
"""
from __future__ import annotations

import base64
import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

# Tiny test models are slower with many threads on a shared 2-core machine; set before any
# test module imports torch.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# Presets trained by tests (and by the browser tests' server) go to a folder of this test
# session, never the user's cache (transformer.runs.preset_cache).
os.environ.setdefault("TLAB_PRESET_CACHE", tempfile.mkdtemp(prefix="tlab-presets-"))

REPO_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
HAVE_PLAYWRIGHT = importlib.util.find_spec("pytest_playwright") is not None

CHROMIUM_ARGS = [
    "--no-sandbox",  # the test machines run as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# How long the Streamlit server may take to answer /_stcore/health (cold imports of torch and
# streamlit on a busy 2-core machine take several seconds).
SERVER_START_TIMEOUT_S = 90.0


def _browser_unavailable_reason() -> str | None:
    if not HAVE_PLAYWRIGHT:
        return "pytest-playwright is not installed (run `make test`, which installs requirements-dev.txt)"
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing (install Debian's chromium: `sudo apt-get install chromium`)"
    return None


def pytest_collection_modifyitems(config, items):
    """Skip browser tests when they cannot run here, except in CI where that is a failure."""
    reason = _browser_unavailable_reason()
    if reason is None or IN_CI:
        return
    skip = pytest.mark.skip(reason=f"browser test skipped: {reason}")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


# --------------------------------------------------------------------------- AppTest helpers


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


def app_pages() -> dict[str, str]:
    """url path -> page file, as `app.py`'s PAGES table lists them (the home page is ""), read
    from its source so the tests open every page the app has without running the app."""
    import ast

    tree = ast.parse((REPO_ROOT / "app.py").read_text())
    table = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                 and getattr(node.targets[0], "id", None) == "PAGES")
    pages = ast.literal_eval(table)
    return {url or "": path for entries in pages.values() for path, _title, _icon, url in entries}


# Every AppTest in a process shares this session id (streamlit/testing/v1/local_script_runner.py),
# so session-scoped resources would leak from one test into the next.
APPTEST_SESSION_ID = "test session id"


def end_apptest_session() -> None:
    """What closing the browser tab does: drop the session's resources (stopping its run)."""
    from streamlit.runtime.caching.cache_resource_api import clear_session_cache

    clear_session_cache(APPTEST_SESSION_ID)


@pytest.fixture(autouse=True)
def _fresh_apptest_session():
    """Each test starts with a fresh Streamlit session (only matters once streamlit is loaded)."""
    yield
    if "streamlit.runtime.caching.cache_resource_api" in sys.modules:
        end_apptest_session()


@pytest.fixture(autouse=True)
def _fresh_preset_cache(tmp_path, monkeypatch):
    """Each test starts with an empty preset cache (memory and folder), so a page test that
    presses "Train the preset" sees it train (the tests of the cache itself make their own)."""
    monkeypatch.setenv("TLAB_PRESET_CACHE", str(tmp_path / "presets"))
    yield
    module = sys.modules.get("transformer.runs.preset_cache")
    if module is not None:
        module._DEFAULT = None


def open_apptest(path: str, query: dict | None = None, timeout: float = 120) -> AppTest:
    """A page opened in a fresh AppTest with `query` as its link parameters, run once, no exception."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(path, default_timeout=timeout)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def fresh_session(page, checkpoint=None, run=None, name="test.pt"):
    """AppTest script (for `AppTest.from_function(fresh_session, args=(page,), ...)`): a clean
    session on the first run (AppTests share one session id, so a model, run or experiment left
    by another test would leak in), then `run` or `checkpoint` (uploaded as `name`) as the current
    model, then the page. A checkpoint put in st.session_state["test.swap"] replaces the model
    before the next run (as an upload would). Self-contained: AppTest runs its source alone."""
    import runpy

    import streamlit as st

    from transformer.ui.session import get_lab, load_checkpoint_bytes

    if "test.fresh" not in st.session_state:
        st.session_state["test.fresh"] = True
        st.cache_resource.clear()  # drops (and stops) the shared session's runs and experiments
        if run is not None:
            get_lab().set_run(run)
        if checkpoint is not None:
            load_checkpoint_bytes(checkpoint, name)
    swap = st.session_state.pop("test.swap", None)
    if swap is not None:
        load_checkpoint_bytes(swap, "swapped.pt")
    runpy.run_path(page, run_name="__main__")


def rerun_until(at, done, timeout: float, interval: float = 0.3) -> bool:
    """Rerun the page until `done(at)` holds (AppTest does not tick run_every); False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if done(at):
            return True
        time.sleep(interval)
    return False


def stop_all_races(what: str = "race thread(s)") -> None:
    """Stop every `RaceRun` still alive (AppTest sessions never close); fail if one will not end."""
    import gc

    from transformer.runs.race import RaceRun

    stuck = [r for r in gc.get_objects() if type(r) is RaceRun and r.alive and not r.stop(timeout=15)]
    assert not stuck, f"{len(stuck)} {what} did not stop within 15 s"


@pytest.fixture
def stop_races():
    """Stop every race a test started through a page."""
    yield
    stop_all_races()


@pytest.fixture
def stop_live_runs():
    """Stop every `LiveRun` still alive when the test ends (AppTest sessions never 'close').

    Use it in tests that start runs through a page; it fails the test if a thread will not end.
    """
    yield
    import gc

    from transformer.runs.live import LiveRun

    stuck = []
    for obj in gc.get_objects():
        if type(obj) is LiveRun and obj.alive and not obj.stop(timeout=15):
            stuck.append(obj)
    assert not stuck, f"{len(stuck)} training thread(s) did not stop within 15 s"


# --------------------------------------------------------------------------- browser harness


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def live_figures_of(at, key: str | None = None) -> dict:
    """The figures a page's live_figures frame (transformer.ui.live_figures) was last given:
    name -> Plotly JSON. With `key`, the frame of that key; without, the page's only one."""
    [frame] = [el for el in at.get("component_instance") if "live_figures" in el.proto.component_name
               and (key is None or el.proto.id.endswith("-" + key))]
    return {f["name"]: json.loads(f["spec"]) for f in json.loads(frame.proto.json_args)["figures"]}


def plotly_array(value) -> np.ndarray:
    """An array from a figure's JSON: Plotly 6 sends numpy arrays as {"dtype", "bdata" (base64),
    "shape"}; lists stay lists."""
    if isinstance(value, dict) and "bdata" in value:
        data = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        return data.reshape([int(n) for n in str(shape).split(",")]) if shape else data
    return np.array(value, dtype=float)


class StreamlitServer:
    """A ``streamlit run app.py`` subprocess on a free port; its output goes to ``log_path``."""

    def __init__(self, log_path: Path, port: int | None = None):
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = SERVER_START_TIMEOUT_S) -> "StreamlitServer":
        cmd = [
            sys.executable, "-m", "streamlit", "run", "app.py",
            "--server.headless", "true",
            "--server.port", str(self.port),
            "--server.address", "127.0.0.1",
            "--browser.gatherUsageStats", "false",
            # Tests want to read the real exception when a page fails.
            "--client.showErrorDetails", "full",
        ]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            cmd, cwd=REPO_ROOT, stdout=self._log, stderr=subprocess.STDOUT, env=dict(os.environ)
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"streamlit did not become healthy within {timeout_s:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if getattr(self, "_log", None) is not None:
            self._log.close()

    def log_tail(self, n_chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n_chars:]
        except OSError:
            return "(no server log)"


@pytest.fixture(scope="session")
def streamlit_server(tmp_path_factory):
    """The app served by ``streamlit run app.py`` for the whole session; stopped at the end."""
    reason = _browser_unavailable_reason()
    if reason is not None and not IN_CI:
        pytest.skip(f"browser test skipped: {reason}")
    server = StreamlitServer(tmp_path_factory.mktemp("streamlit") / "server.log").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def app_url(streamlit_server) -> str:
    """Base URL of the running app, e.g. ``http://127.0.0.1:43123``."""
    return streamlit_server.url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Point pytest-playwright at Debian's Chromium instead of Playwright's download."""
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install -y chromium`)."
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A projector-sized window so screenshots and layouts match what a class sees."""
    return {**browser_context_args, "viewport": {"width": 1400, "height": 900}}


EXCEPTION_SELECTOR = '[data-testid="stException"]'


# True once the app has drawn its page and been connected with no script running for `settle`
# polls in a row: a page that reruns itself (st.rerun) passes through "notRunning" between runs.
_SETTLED_JS = """(settle) => {
    const app = document.querySelector('[data-testid="stApp"]');
    // Drawn something (a fresh session is "notRunning" for a moment before its first run)...
    const drawn = document.querySelector('[data-testid="stMain"] [data-testid="stElementContainer"]');
    // ...with every widget's code loaded (a busy machine shows grey placeholders for a while)...
    const loading = document.querySelector('[data-testid="stSkeleton"], [data-testid="stSkeletonElement"]');
    // ...and no script running now.
    const idle = app && drawn && !loading && app.getAttribute('data-test-script-state') === 'notRunning'
        && app.getAttribute('data-test-connection-state') === 'CONNECTED';
    window.__tlabIdlePolls = idle ? (window.__tlabIdlePolls || 0) + 1 : 0;
    return window.__tlabIdlePolls >= settle;
}"""


def wait_for_app(page, timeout_ms: float = 60_000, settle_ms: int = 600) -> None:
    """Wait until Streamlit is connected and has finished running the page (and stays idle)."""
    page.evaluate("() => { window.__tlabIdlePolls = 0; }")
    page.wait_for_function(_SETTLED_JS, arg=max(1, settle_ms // 100), polling=100, timeout=timeout_ms)


CHART = '[data-testid="stPlotlyChart"]'


def rendered_charts(page, at_least: int, timeout_ms: float = 30_000) -> int:
    """Wait until `at_least` Plotly charts have drawn their SVG; return how many there are."""
    page.wait_for_function(
        f"document.querySelectorAll('{CHART} .js-plotly-plot .main-svg').length >= {at_least}",
        timeout=timeout_ms,
    )
    return page.locator(CHART).count()


def live_frame(page, element_key: str, timeout_ms: float = 15_000):
    """The frame a page draws its live curves in (transformer.ui.live_figures), found by the
    Streamlit element class of its key ("train.curves" -> "st-key-train-curves")."""
    host = page.locator(f".st-key-{element_key} iframe")
    host.wait_for(timeout=timeout_ms)
    return host.element_handle().content_frame()


def assert_no_exception(page, server: StreamlitServer | None = None) -> None:
    """Fail with the exception's text (and the server log) if the page shows an ``st.exception``."""
    errors = page.locator(EXCEPTION_SELECTOR)
    if errors.count():
        text = "\n---\n".join(errors.all_inner_texts())
        log = f"\n\nserver log:\n{server.log_tail()}" if server is not None else ""
        pytest.fail(f"page {page.url} shows a Streamlit exception:\n{text}{log}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can see whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def open_app(streamlit_server, request, tmp_path_factory):
    """``open_app(page, path="", query="", timeout_ms=60_000)``: go to a page of the app, wait,
    assert no exception. A page of many charts on a busy machine may need a longer timeout."""

    pages = []

    def _open(page, path: str = "", query: str = "", timeout_ms: float = 60_000):
        pages.append(page)
        page.set_default_timeout(timeout_ms)  # a shared 2-core machine can be slow to draw
        url = f"{streamlit_server.url}/{path.lstrip('/')}"
        if query:
            url += "?" + query.lstrip("?")
        page.goto(url)
        wait_for_app(page, timeout_ms=timeout_ms)
        assert_no_exception(page, streamlit_server)
        return page

    yield _open
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed and pages:
        # What the browser showed when the test failed, and what the server said.
        shot = tmp_path_factory.mktemp("failed") / f"{request.node.name}.png"
        try:
            pages[-1].screenshot(path=str(shot), full_page=True)
            print(f"\nscreenshot of the failure: {shot}")
        except Exception as err:  # the page may be gone; the log still helps
            print(f"\nno screenshot ({err})")
        print(f"server log (tail):\n{streamlit_server.log_tail(2000)}")
