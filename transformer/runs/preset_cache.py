"""Presets trained once per server: shared while they train, kept in memory and on disk after.

A preset (task and its parameters, model and training settings, seed) is deterministic, so a
class of thirty opening the same lesson step would otherwise train thirty identical models on
two cores, the last student waiting minutes. `PresetCache.open` returns, for those settings:

1. the run in memory, if one of this server's sessions started it: still training (every
   session that asks watches the same run; nothing is trained twice) or finished;
2. else a finished run read from disk (written by this server or another sharing the folder,
   before a restart), with its whole history of metric rows, evaluations and snapshots, so the
   film and the curves read as for a fresh run;
3. else a new `LiveRun`, started, which every later asker shares.

Each session gets its own `PresetView` of the shared run: reads go to the run; `stop` lets go
of it (the run stops only when its last viewer lets go, so one student leaving does not stop
the others' model); pause, step and resume act only for a sole viewer.

On disk: one file per preset, `<key>.pt`, in `$TLAB_PRESET_CACHE` (default
`~/.cache/transformer-lab/presets`, under `$XDG_CACHE_HOME` when set). The key is a hash of the
full settings and of the code that trains them (`code_version`: the package version, PyTorch's,
and the source of every module that takes part in training), so an edit of the trainer never
serves a stale model. Files are written atomically (a temporary file, then `os.replace`: a
reader on another replica never sees half a file), hold only tensors and plain values, and are
read with `torch.load(weights_only=True)`, which runs no code from the file. The folder is held
under `$TLAB_PRESET_CACHE_MB` megabytes (default `CACHE_MB`), the least recently used going first;
the runs kept in memory are held under the same bound.

Warm-up (`warm_up`): train a list of presets in the background, one at a time, yielding to any
session's run (paused while others train and nobody watches it).
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import fields
from pathlib import Path

import numpy as np

from ..budget import MB, positive_env
from .job import ACTIVE
from .limiter import RunLimiter, default_limiter
from .live import LiveRun
from .snapshot import Snapshot, _read_only

DIR_ENV, MB_ENV, WARM_ENV = "TLAB_PRESET_CACHE", "TLAB_PRESET_CACHE_MB", "TLAB_WARM_PRESETS"
CACHE_MB = 500
FORMAT = 1  # of the files; a file of another format is ignored (and trained anew)

# What the code version hashes: every module a training run executes. The UI and the figures
# only draw what a run published, so editing them keeps the cache.
_PACKAGE = Path(__file__).resolve().parent.parent
_NOT_TRAINING = ("ui", "figures", "analysis")


def cache_dir() -> Path:
    """$TLAB_PRESET_CACHE, else $XDG_CACHE_HOME/transformer-lab/presets (default ~/.cache/...)."""
    env = os.environ.get(DIR_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or Path.home() / ".cache"
    return Path(base) / "transformer-lab" / "presets"


def cache_bytes() -> int:
    """The most bytes the cache holds on disk (and in memory): $TLAB_PRESET_CACHE_MB, else CACHE_MB."""
    return int((positive_env(MB_ENV) or CACHE_MB) * MB)


@functools.cache
def code_version() -> str:
    """A hash of the package version, PyTorch's version and the source of the training code."""
    import importlib.metadata

    import torch

    digest = hashlib.sha256()
    try:
        digest.update(importlib.metadata.version("transformer-lab").encode())
    except importlib.metadata.PackageNotFoundError:
        pass
    digest.update(torch.__version__.encode())
    for path in sorted(_PACKAGE.rglob("*.py")):
        relative = path.relative_to(_PACKAGE)
        if relative.parts[0] in _NOT_TRAINING:
            continue
        digest.update(str(relative).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def preset_key(task, model_cfg, train_cfg, run_settings: dict | None = None) -> str:
    """The cache key of a run: a hash of everything that decides what it learns and publishes.

    Configs are taken as `LiveRun` completes them (`run_configs`), with "auto" resolved to the
    device it means here. The thread count is left out: it decides how fast, not what.
    """
    from ..devices import resolve_device
    from ..training import run_configs

    model_cfg, train_cfg = run_configs(task, model_cfg, train_cfg)
    train = train_cfg.to_dict()
    train.pop("threads", None)
    train["device"] = resolve_device(train_cfg.device).type
    payload = {"task": task.to_dict(), "model": model_cfg.to_dict(), "train": train,
               "run": run_settings or {}, "code": code_version(), "format": FORMAT}
    text = json.dumps(payload, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class PresetCache:
    """Preset runs shared by every session of a server: in memory, and in a folder on disk.

    folder:    where the files go (default `cache_dir()`); max_bytes: the bound on the folder and
               on the finished runs held in memory (default `cache_bytes()`);
    limiter:   the run limiter new runs queue on (default the process's).
    `started` counts the runs this cache has started, `loaded` the ones read from disk.
    """

    def __init__(self, folder: str | Path | None = None, max_bytes: int | None = None,
                 limiter: RunLimiter | None = None):
        self.folder = Path(folder) if folder is not None else cache_dir()
        self._max_bytes = max_bytes
        self.limiter = limiter
        self._lock = threading.RLock()
        self._runs: OrderedDict[str, LiveRun] = OrderedDict()  # key -> run, least recently used first
        self._viewers: dict[str, set] = {}  # key -> the PresetViews holding its run
        self._sizes: dict[str, int] = {}  # key -> bytes of its file (what memory is counted in)
        self.started = 0
        self.loaded = 0
        # The warm-up's runs queue on a limiter of their own, so that a paused warm-up run never
        # holds a slot a session's run waits for; its thread marks itself in `_local`.
        self._warm_limiter = RunLimiter(1)
        self._local = threading.local()

    @property
    def max_bytes(self) -> int:
        return self._max_bytes if self._max_bytes is not None else cache_bytes()

    # ----------------------------------------------------------------- asking for a preset

    def open(self, task, model_cfg, train_cfg, **run_settings) -> "PresetView":
        """A view of the run of these settings: shared, kept, or new and started (see the module).

        run_settings: LiveRun's snapshot settings (snapshot_every, ...), part of the key. Raises
        ValueError (one sentence) for settings LiveRun refuses, before anything starts.
        """
        key = preset_key(task, model_cfg, train_cfg, run_settings)
        with self._lock:
            run = self._runs.get(key)
            if run is not None and run.status in ("failed", "stopped"):
                run = None  # a run that did not finish is not the preset: train it again
            if run is None:
                run = self._read(key, task, model_cfg, train_cfg, run_settings)
            if run is None:
                limiter = self._warm_limiter if getattr(self._local, "warming", False) else self.limiter
                run = LiveRun(task, model_cfg, train_cfg, limiter=limiter, **run_settings).start()
                self.started += 1
                threading.Thread(target=self._keep_when_done, args=(key, run),
                                 name="tlab-preset-keeper", daemon=True).start()
            self._runs[key] = run
            self._runs.move_to_end(key)
            view = PresetView(self, key, run)
            self._viewers.setdefault(key, set()).add(view)
        return view

    def viewers(self, key: str) -> int:
        with self._lock:
            return len(self._viewers.get(key, ()))

    def _release(self, view: "PresetView") -> bool:
        """`view` lets go of its run; True when it was the last viewer of a run still under way
        (which is then stopped, and forgotten: it is not the preset)."""
        with self._lock:
            viewers = self._viewers.get(view.key, set())
            viewers.discard(view)
            if viewers:
                return False
            self._viewers.pop(view.key, None)
            run = self._runs.get(view.key)
            if run is not view.shared or run.status not in ACTIVE:
                return False
            del self._runs[view.key]
        run.stop(timeout=0)
        return True

    # ----------------------------------------------------------------- keeping what finished

    def _keep_when_done(self, key: str, run: LiveRun) -> None:
        """Wait for a new run to end; write it to disk when it finished, forget it otherwise."""
        run.join()
        if run.status == "finished":
            try:
                self._write(key, run)
            except OSError:
                pass  # a full or read-only disk: the run stays shared in memory all the same
            self._trim_memory()
        else:
            with self._lock:
                if self._runs.get(key) is run:
                    del self._runs[key]

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.pt"

    def _write(self, key: str, run: LiveRun) -> None:
        import torch

        data = {"format": FORMAT, "key": key, "rows": run.history, "evals": run.evals,
                "snapshots": [_pack_snapshot(s) for s in run.snapshots], "task": run.task.to_dict(),
                "saved_at": time.time()}
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self._path(key)
        tmp = self.folder / f".{key}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            torch.save(data, tmp)
            os.replace(tmp, final)  # atomic: a reader sees the old file or the whole new one
        finally:
            tmp.unlink(missing_ok=True)
        self._sizes[key] = final.stat().st_size
        self._trim_disk(keep=final)

    def _read(self, key: str, task, model_cfg, train_cfg, run_settings: dict) -> LiveRun | None:
        """The finished run of `key` from disk, or None (none there, or a file that does not read)."""
        import torch

        path = self._path(key)
        if not path.is_file():
            return None
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
            if data.get("format") != FORMAT or data.get("key") != key:
                raise ValueError("not this preset's file")
            snapshots = [_unpack_snapshot(s) for s in data["snapshots"]]
            run = LiveRun(task, model_cfg, train_cfg, limiter=self.limiter, **run_settings)
            run.restore(data["rows"], data["evals"], snapshots)
        except Exception:  # a torn, foreign or outdated file: train the preset again
            path.unlink(missing_ok=True)
            return None
        try:
            os.utime(path)  # least recently *used*: reading counts
            self._sizes[key] = path.stat().st_size
        except OSError:
            pass
        self.loaded += 1
        return run

    def _trim_disk(self, keep: Path | None = None) -> None:
        """Delete the least recently used files until the folder is within max_bytes."""
        files = []
        for path in self.folder.glob("*.pt"):
            try:
                stat = path.stat()
            except OSError:
                continue  # deleted meanwhile (another replica trimming)
            files.append((stat.st_mtime, stat.st_size, path))
        files.sort()
        total = sum(size for _, size, _ in files)
        for _, size, path in files:
            if total <= self.max_bytes:
                break
            if path == keep and total - size <= self.max_bytes and len(files) > 1:
                continue
            path.unlink(missing_ok=True)
            total -= size

    def _trim_memory(self) -> None:
        """Forget the least recently used finished runs until those held are within max_bytes
        (their files stay; sessions viewing one keep it through their view)."""
        with self._lock:
            sizes = {key: self._sizes.get(key) or sum(s.nbytes for s in run.snapshots)
                     for key, run in self._runs.items() if run.status == "finished"}
            total = sum(sizes.values())
            for key in list(sizes):
                if total <= self.max_bytes:
                    break
                del self._runs[key]
                total -= sizes[key]

    def on_disk(self) -> list[str]:
        """The keys of the presets in the folder."""
        return sorted(p.stem for p in self.folder.glob("*.pt"))

    # ----------------------------------------------------------------- warm-up

    def warm_up(self, openers, poll_s: float = 0.5) -> threading.Thread:
        """Train presets one at a time in a background thread, at the lowest priority. Each of
        `openers` opens one (returns a PresetView, through `open`); its run is paused while any
        other run holds a slot of the server's limiter and nobody but the warm-up watches it."""
        def main():
            self._local.warming = True
            limiter = self.limiter or default_limiter()
            for opener in openers:
                try:
                    view = opener()
                except ValueError:
                    continue
                while view.status in ACTIVE:
                    if limiter.active > 0 and self.viewers(view.key) == 1:
                        view.pause()
                    else:
                        view.resume()
                    time.sleep(poll_s)
                view.stop(timeout=0)

        thread = threading.Thread(target=main, name="tlab-preset-warm-up", daemon=True)
        thread.start()
        return thread


class PresetView:
    """One session's handle on a shared preset run: it reads as the run (status, progress,
    history, evals, snapshots, model_copy, ...); `stop` lets go of it.

    A view that lets go of a run others still watch keeps, as a stopped run of its own, what
    the run had published by then (as stopping one's own run keeps the model trained so far).
    """

    def __init__(self, cache: PresetCache, key: str, run: LiveRun):
        self._cache, self.key = cache, key
        self.shared = run  # the run every viewer of this preset reads
        self._run = run    # what this view reads: the shared run, or its copy once let go
        self._released = False
        self._stopped_shared = False

    def __getattr__(self, name):  # everything a page reads of a LiveRun
        return getattr(self._run, name)

    @property
    def status(self) -> str:
        return self._run.status

    @property
    def sole_viewer(self) -> bool:
        return not self._released and self._cache.viewers(self.key) == 1

    def pause(self) -> None:
        if self.sole_viewer:
            self.shared.pause()

    def resume(self) -> None:
        if self.sole_viewer:
            self.shared.resume()

    def step_once(self) -> None:
        if self.sole_viewer:
            self.shared.step_once()

    def stop(self, timeout: float | None = 10.0) -> bool:
        if not self._released:
            self._released = True
            run = self.shared
            if run.status in ACTIVE:
                self._stopped_shared = self._cache._release(self)
                if not self._stopped_shared:
                    self._run = _copy_of(run, "stopped")
            else:
                self._cache._release(self)
        return self.join(timeout)

    def join(self, timeout: float | None = None) -> bool:
        return self.shared.join(timeout) if self._stopped_shared else True


def _copy_of(run: LiveRun, status: str) -> LiveRun:
    """A run that never trains, holding what `run` has published so far."""
    copy = LiveRun(run.task, run.model_cfg, run.train_cfg, snapshot_every=run.snapshot_every, limiter=run.limiter)
    return copy.restore(run.history, run.evals, run.snapshots, status=status)


# ----------------------------------------------------------------- files: tensors and plain values only

_ARRAY = "__ndarray__"


def _safe(value):
    """`value` with numpy arrays as tensors (marked) and numpy scalars as Python numbers, so
    that `torch.load(weights_only=True)` reads it back."""
    import torch

    if isinstance(value, np.ndarray):
        return {_ARRAY: torch.from_numpy(np.array(value))}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_safe(v) for v in value)
    return value


def _unsafe(value):
    if isinstance(value, dict):
        if set(value) == {_ARRAY}:
            return _read_only(value[_ARRAY].numpy())
        return {k: _unsafe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_unsafe(v) for v in value)
    return value


def _pack_snapshot(snapshot: Snapshot) -> dict:
    return {f.name: _safe(getattr(snapshot, f.name)) for f in fields(Snapshot)}


def _unpack_snapshot(data: dict) -> Snapshot:
    names = {f.name for f in fields(Snapshot)}
    return Snapshot(**{k: _unsafe(v) for k, v in data.items() if k in names})


_DEFAULT: PresetCache | None = None
_DEFAULT_LOCK = threading.Lock()


def default_cache() -> PresetCache:
    """The server's preset cache (its folder and bound read from the environment at first use)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = PresetCache()
        return _DEFAULT


def warm_up_wanted() -> bool:
    """True when $TLAB_WARM_PRESETS asks for the lessons' presets to be trained at start."""
    return os.environ.get(WARM_ENV, "").strip().lower() in ("1", "true", "yes", "on")


__all__ = ["PresetCache", "PresetView", "cache_dir", "cache_bytes", "code_version", "default_cache",
           "preset_key", "warm_up_wanted"]
