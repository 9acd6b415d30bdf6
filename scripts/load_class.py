"""A class on one server, measured: many sessions that draw nothing, over Streamlit's own protocol.

Each simulated student is one websocket session that speaks as the browser does: it sends
`BackMsg` protobufs (a script run, a button press, a fragment's timed rerun) and reads the
`ForwardMsg`s the server answers with (elements, `auto_rerun` timers, `script_finished`), using
the protobuf classes the installed Streamlit carries (`streamlit.proto`). Nothing is drawn, so
the two cores measured are the server's, not browsers'.

    python scripts/load_class.py follow --followers 1 10 30
        A teacher's session opens the Train page with a longer run (`--steps`), shares it and
        presses Train; N sessions open `?follow=CODE` and rerun the page's fragments at the
        intervals the server sets, as the page does. Per follower refresh latency (p50, p95),
        the server's CPU (its own process, and the training process apart), and the teacher
        run's training speed against the same run from the CLI (`python -m transformer train`).
    python scripts/load_class.py lesson --students 30 [--before]
        N sessions press lesson 4's "Train the preset" (sort) at once: the time until the last
        one sees the trained model, through the preset cache or (`--before`) one run each, as
        before it. In this process, through the lessons' code path (see `lesson`).

`follow` starts its own server (`streamlit run app.py`, a fresh preset cache folder) on `--port`
and stops it at the end. Prints one JSON object per measurement, and a table.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FINISHED = {"FINISHED_SUCCESSFULLY", "FINISHED_FRAGMENT_RUN_SUCCESSFULLY", "FINISHED_WITH_COMPILE_ERROR"}
STEP = re.compile(r"Step ([\d,]+) of ([\d,]+)")
TOKENS = re.compile(r"([\d,]+) tokens/s")


class Session:
    """One browser session that draws nothing: it runs the page, presses buttons by label, and
    reruns the fragments the server asks to have rerun (`auto_rerun`) at their intervals."""

    def __init__(self, url: str, page: str, query: str = ""):
        self.url, self.page, self.query = url, page, query
        self.elements: dict[tuple, object] = {}   # delta path -> the newest Element there
        self.fragments: dict[str, float] = {}     # fragment id -> its rerun interval (s)
        self.latencies: list[float] = []          # seconds from a fragment rerun to its end
        self.errors = 0
        self._finished: asyncio.Queue = asyncio.Queue()
        self._due: dict[str, float] = {}          # fragment id -> when it reruns next (monotonic)
        self._ws = None

    async def open(self) -> "Session":
        ws_url = self.url.replace("http", "ws", 1) + "/_stcore/stream"
        self._ws = await websockets.connect(ws_url, subprotocols=["streamlit"], max_size=2**26,
                                            ping_interval=None)
        self._reader = asyncio.create_task(self._read())
        await self.run()
        return self

    async def close(self) -> None:
        self._reader.cancel()
        await self._ws.close()

    async def _read(self) -> None:
        async for data in self._ws:
            msg = ForwardMsg()
            msg.ParseFromString(data)
            kind = msg.WhichOneof("type")
            if kind == "new_session" and not msg.metadata.run.fragment_ids:
                self.elements.clear()   # a full run of the page (not one fragment's):
                self.fragments.clear()  # it draws everything and sets its fragments' timers again
                self._due.clear()
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                self.elements[tuple(msg.metadata.delta_path)] = msg.delta.new_element
            elif kind == "auto_rerun":
                self.fragments[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
            elif kind == "script_finished":
                self._finished.put_nowait(ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished))

    async def run(self, widgets=(), fragment_id: str = "", timeout: float = 300.0) -> float:
        """Send one script run (the page, or one fragment) and wait for its end; its seconds."""
        back = BackMsg()
        state = back.rerun_script
        state.query_string = self.query
        state.page_name = self.page
        state.fragment_id = fragment_id
        state.is_auto_rerun = bool(fragment_id)
        state.widget_states.widgets.extend(widgets)
        while not self._finished.empty():
            self._finished.get_nowait()
        start = time.perf_counter()
        await self._ws.send(back.SerializeToString())
        while True:
            status = await asyncio.wait_for(self._finished.get(), timeout)
            if status in FINISHED:
                return time.perf_counter() - start
            # FINISHED_EARLY_FOR_RERUN: the page reran itself (st.rerun); wait for that run

    def texts(self) -> str:
        """Every text the page shows now (markdown, alerts, captions, progress lines), joined."""
        out = []
        for el in self.elements.values():
            kind = el.WhichOneof("type")
            if kind == "markdown":
                out.append(el.markdown.body)
            elif kind == "alert":
                out.append(el.alert.body)
            elif kind == "progress":
                out.append(el.progress.text)
        return "\n".join(out)

    def button(self, label: str) -> str | None:
        for el in self.elements.values():
            if el.WhichOneof("type") == "button" and el.button.label == label:
                return el.button.id
        return None

    async def press(self, label: str) -> float:
        widget_id = self.button(label)
        if widget_id is None:
            raise RuntimeError(f"no button {label!r} on the page; it shows:\n{self.texts()[:2000]}")
        return await self.run([WidgetState(id=widget_id, trigger_value=True)])

    async def refresh(self, until: float) -> None:
        """Rerun the page's fragments at their intervals until `until` (time.monotonic), as a
        browser tab does; a fragment's rerun that takes longer delays its next one."""
        due = self._due
        while time.monotonic() < until:
            now = time.monotonic()
            for fragment, interval in list(self.fragments.items()):
                due.setdefault(fragment, now + interval)
                if now >= due[fragment]:
                    try:
                        self.latencies.append(await self.run(fragment_id=fragment, timeout=60))
                    except (asyncio.TimeoutError, websockets.ConnectionClosed):
                        self.errors += 1
                    due[fragment] = time.monotonic() + interval
            await asyncio.sleep(0.02)


# ----------------------------------------------------------------- the server and its CPU

class Server:
    """`streamlit run app.py` in `app_dir` on `port`, with a fresh preset cache; CPU read from /proc."""

    def __init__(self, app_dir: Path, port: int):
        self.url = f"http://127.0.0.1:{port}"
        env = dict(os.environ, TLAB_PRESET_CACHE=tempfile.mkdtemp(prefix="tlab-load-presets-"))
        self.log = open(tempfile.mktemp(prefix="tlab-load-server-", suffix=".log"), "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=app_dir, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/_stcore/health", timeout=2)
                return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"the server did not start; its log is {self.log.name}")

    def cpu_seconds(self) -> tuple[float, float]:
        """(CPU seconds of the server process, CPU seconds of its descendants: the fork server
        and training processes), user + system."""
        tick = os.sysconf("SC_CLK_TCK")
        parents, cpu = {}, {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
            cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
        children, frontier = set(), {self.proc.pid}
        while frontier:
            frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - children
            children |= frontier
        return cpu.get(self.proc.pid, 0.0), sum(cpu.get(pid, 0.0) for pid in children)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _number(text: str) -> int:
    return int(text.replace(",", ""))


# ----------------------------------------------------------------- scenario: followers

async def follow(server: Server, followers: int, steps: int, seconds: float) -> dict:
    log(f"{followers} followers: the teacher opens the Train page")
    teacher = await Session(server.url, "train", f"task=reverse&steps={steps}").open()
    await teacher.press("Share my run")
    code = re.search(r"Class code: \*\*([A-Z0-9]{5})\*\*", teacher.texts()).group(1)
    await teacher.press("Train")
    students = await asyncio.gather(*[Session(server.url, "train", f"follow={code}").open()
                                      for _ in range(followers)])
    if followers and "You are following" not in students[0].texts():
        raise RuntimeError("a student's page does not follow the run:\n" + students[0].texts()[:2000])
    # Warm: the run has started (the first one waits for the fork server) and every session
    # has refreshed a few times. Then measure for `seconds`.
    log("waiting for the teacher's run to start")
    deadline = time.monotonic() + 300
    while _progress(teacher)[0] == 0 and time.monotonic() < deadline:
        await asyncio.gather(*[s.refresh(time.monotonic() + 1) for s in [teacher, *students]])
    await asyncio.gather(*[s.refresh(time.monotonic() + 3) for s in [teacher, *students]])
    for s in [teacher, *students]:
        s.latencies.clear()
    log(f"measuring for {seconds:.0f} s")
    cpu0, wall0 = server.cpu_seconds(), time.monotonic()
    step0, samples = _progress(teacher), []

    async def sample():
        while time.monotonic() < wall0 + seconds:
            samples.append(_progress(teacher))
            await asyncio.sleep(1.0)

    await asyncio.gather(sample(), *[s.refresh(wall0 + seconds) for s in [teacher, *students]])
    cpu1, wall1 = server.cpu_seconds(), time.monotonic()
    step1 = _progress(teacher)
    await teacher.press("Stop")
    for s in [teacher, *students]:
        await s.close()
    viewers = [s for s in students] or [teacher]
    latencies = [x for s in viewers for x in s.latencies]
    tokens = [t for _, t in samples if t]
    wall = wall1 - wall0
    return {
        "followers": followers, "seconds": round(wall, 1),
        "refreshes": len(latencies), "errors": sum(s.errors for s in viewers),
        "p50_s": round(percentile(latencies, 0.5), 3), "p95_s": round(percentile(latencies, 0.95), 3),
        "server_cpu_pct": round(100 * (cpu1[0] - cpu0[0]) / wall, 1),
        "training_cpu_pct": round(100 * (cpu1[1] - cpu0[1]) / wall, 1),
        "steps_per_s": round((step1[0] - step0[0]) / wall, 2),
        "tokens_per_s": round(statistics.median(tokens), 0) if tokens else None,
        "load_1min": round(os.getloadavg()[0], 2),
    }


def _progress(session: Session) -> tuple[int, int | None]:
    """(step, tokens/s) from the Train page's newest progress line: a fragment's rerun replaces
    its elements by position, so a line from an earlier layout may linger; it has fewer steps."""
    best = (0, None)
    for line in session.texts().splitlines():
        step, tokens = STEP.search(line), TOKENS.search(line)
        if step and _number(step.group(1)) >= best[0]:
            best = (_number(step.group(1)), _number(tokens.group(1)) if tokens else None)
    return best


def cli_speed(steps: int, threads: int) -> dict:
    """The same run from the command line: steps per second and median tokens per second."""
    out = subprocess.run([sys.executable, "-m", "transformer", "train", "--task", "reverse", "--steps", str(steps),
                          "--threads", str(threads), "--json"], cwd=ROOT, capture_output=True, text=True, check=True)
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    rows = [r for r in rows if r.get("step")]
    return {"cli_steps_per_s": round(rows[-1]["step"] / rows[-1]["elapsed_s"], 2),
            "cli_tokens_per_s": round(statistics.median(r["tokens_per_s"] for r in rows), 0),
            "threads": threads, "load_1min": round(os.getloadavg()[0], 2)}


# ----------------------------------------------------------------- scenario: lesson 4

def lesson(students: int, before: bool, timeout: float) -> dict:
    """`students` sessions press lesson 4's "Train the preset" (sort, decoder, seed 0) at once:
    seconds until the last sees the trained model (its run has ended).

    Run in this process through the lessons' own code path (`LessonRuns.start`, one session's
    run registry each, the process's run limiter), not over the websocket: the step asks for a
    locked prediction first, and the time is the training's, not the drawing's. `before` starts
    one LiveRun per student, as the code did before the preset cache.
    """
    from dataclasses import replace

    from transformer.presets import preset_configs
    from transformer.runs.job import ACTIVE
    from transformer.runs.live import LiveRun
    from transformer.runs.preset_cache import PresetCache
    from transformer.tasks import get_task
    from transformer.ui.lesson_models import LessonRuns
    from transformer.ui.runs import RunRegistry

    registries = [RunRegistry() for _ in range(students)]
    key = ("sort", "decoder", 0)
    start = time.monotonic()
    if before:
        task = get_task("sort")
        model_cfg, train_cfg = preset_configs(task, "decoder", stop_at_target=True)
        from transformer.ui.lesson_models import LESSON_EVAL_EVERY

        train_cfg = replace(train_cfg, seed=0, eval_every=min(train_cfg.eval_every, LESSON_EVAL_EVERY))
        runs = [LiveRun(task, model_cfg, train_cfg, max_snapshots=30).start() for _ in registries]
    else:
        import transformer.runs.preset_cache as cache_module

        cache_module._DEFAULT = PresetCache(tempfile.mkdtemp(prefix="tlab-load-presets-"))  # empty: trains once
        runs = [LessonRuns(r).start(key, *key) for r in registries]
    done: dict[int, float] = {}
    while len(done) < students and time.monotonic() < start + timeout:
        for i, run in enumerate(runs):
            if i not in done and run.status not in ACTIVE:
                done[i] = time.monotonic() - start
        time.sleep(0.2)
    for run in runs:
        run.stop(timeout=0)  # ask all first: one stopped alone frees a slot for the next queued
    for r in registries:
        r.close()
    for run in runs:
        run.join(30)
    times = sorted(done.values())
    return {"students": students, "cache": not before, "saw_model": len(times),
            "first_s": round(times[0], 1) if times else None,
            "last_s": round(times[-1], 1) if len(times) == students else None,
            "timeout_s": timeout, "load_1min": round(os.getloadavg()[0], 2)}


# ----------------------------------------------------------------- main

def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="scenario", required=True)
    f = sub.add_parser("follow", help="N students follow one teacher's run")
    f.add_argument("--followers", type=int, nargs="+", default=[1, 10, 30])
    f.add_argument("--steps", type=int, default=20_000, help="the teacher's run (long enough to outlast the measurement)")
    f.add_argument("--seconds", type=float, default=30.0, help="measured time per N")
    f.add_argument("--cli-steps", type=int, default=600)
    f.add_argument("--port", type=int, default=8599)
    f.add_argument("--app-dir", type=Path, default=ROOT, help="the checkout whose app is served")
    l = sub.add_parser("lesson", help="N students press lesson 4's 'Train the preset' at once")
    l.add_argument("--students", type=int, default=30)
    l.add_argument("--before", action="store_true", help="one run per student, as before the preset cache")
    l.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args(argv)

    print(json.dumps({"uptime_load": os.getloadavg(), "cpus": os.cpu_count()}), flush=True)
    if args.scenario == "lesson":
        print(json.dumps(lesson(args.students, args.before, args.timeout)), flush=True)
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` stops the server
    server = Server(args.app_dir, args.port)
    try:
        if args.scenario == "follow":
            rows = []
            for n in args.followers:
                rows.append(asyncio.run(follow(server, n, args.steps, args.seconds)))
                print(json.dumps(rows[-1]), flush=True)
            from transformer.runs.limiter import threads_per_run

            cli = cli_speed(args.cli_steps, threads_per_run())
            print(json.dumps(cli), flush=True)
            print("\n| followers | refreshes | p50 refresh | p95 refresh | server CPU | training CPU | tokens/s | of CLI | load |")
            print("|---|---|---|---|---|---|---|---|---|")
            for r in rows:
                share = r["tokens_per_s"] / cli["cli_tokens_per_s"] if r["tokens_per_s"] else float("nan")
                print(f"| {r['followers']} | {r['refreshes']} | {r['p50_s']:.3f} s | {r['p95_s']:.3f} s | "
                      f"{r['server_cpu_pct']:.0f} % | {r['training_cpu_pct']:.0f} % | {r['tokens_per_s']:,.0f} | "
                      f"{share:.2f} | {r['load_1min']} |")
            print(f"\nCLI, same run, {cli['threads']} thread(s): {cli['cli_tokens_per_s']:,.0f} tokens/s, "
                  f"{cli['cli_steps_per_s']} steps/s (load {cli['load_1min']})")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
