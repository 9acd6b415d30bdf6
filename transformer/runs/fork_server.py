"""The fork server that starts `LiveRun`'s training processes, and its set-up.

On Linux and macOS a clean process that has already imported PyTorch and the library forks each
run's training process in a few milliseconds, and nothing of the server's threads is copied into
it (`context`, `prepare_training_processes`). The fork server imports this module first.

It also stops the children from re-creating their parent's `__main__` module, which a child of
a fork server does before anything else. In the app the parent is a Streamlit server, whose
`__main__` during a script run is the page being drawn: a training process would run that page
again. Training needs nothing from `__main__`, so the children skip the step. Python has no
public switch for it; tests/ui/test_private_patches.py fails if `multiprocessing.spawn.prepare`
stops calling the two functions replaced here. In the server process itself the replacement is
inert: those functions run only while a child starts up.
"""
from __future__ import annotations

import multiprocessing
import multiprocessing.spawn as _spawn
import threading

# What the fork server imports before it forks anything: this module (the patch below), then
# what a training process uses: the worker and trainer, the tasks, and decoding (snapshots
# grade answers).
PRELOAD = ["transformer.runs.fork_server", "transformer.runs.worker", "transformer.tasks", "transformer.decoding"]


def _skip_main(_name_or_path: str) -> None:
    return None


_spawn._fixup_main_from_name = _skip_main
_spawn._fixup_main_from_path = _skip_main

_CONTEXT = None
_CONTEXT_LOCK = threading.Lock()


def context():
    """The multiprocessing context runs start in, made once per process.

    "forkserver" where there is one (Linux, macOS): a clean process that has already imported
    PyTorch and the library (`PRELOAD`) forks each run in a few
    milliseconds, and nothing of the server's threads is copied into it. Elsewhere "spawn",
    which imports them again for every run (and, unlike the fork server's children, re-runs the
    parent's __main__ first, as multiprocessing always does: run LiveRun from a guarded script).
    """
    global _CONTEXT
    with _CONTEXT_LOCK:
        if _CONTEXT is None:
            if "forkserver" in multiprocessing.get_all_start_methods():
                _CONTEXT = multiprocessing.get_context("forkserver")
                _CONTEXT.set_forkserver_preload(PRELOAD)
            else:
                _CONTEXT = multiprocessing.get_context("spawn")
        return _CONTEXT


def prepare_training_processes() -> None:
    """Start the fork server now (2-3 s, once per process) rather than at the first Train."""
    ctx = context()
    if ctx.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()

