"""The warm-up imports PyTorch in a thread; a page that needs torch must not import it at the
same time (two threads importing torch and one of its submodules hand each other half-built
modules: "generic_type: cannot initialize type")."""
from __future__ import annotations

import sys
import threading

import pytest

import transformer.ui as ui


@pytest.fixture
def fresh_warm_up(monkeypatch, tmp_path):
    """A warm-up that has not run yet, importing a module that takes a while to import."""
    monkeypatch.setattr(ui, "_warm_up_thread", None)
    monkeypatch.setattr(ui, "_imports_done", threading.Event())
    monkeypatch.setattr("transformer.runs.fork_server.prepare_training_processes", lambda: None)
    monkeypatch.setattr("transformer.ui.classroom.warm_presets_from_env", lambda: None)
    (tmp_path / "tlab_slow_module.py").write_text("import time\ntime.sleep(0.5)\nREADY = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "tlab_slow_module"
    sys.modules.pop("tlab_slow_module", None)


def test_waiting_returns_at_once_when_no_warm_up_runs(monkeypatch):
    monkeypatch.setattr(ui, "_warm_up_thread", None)
    monkeypatch.setattr(ui, "_imports_done", threading.Event())
    ui.wait_for_imports()  # must not block forever


def test_a_page_waits_until_the_warm_up_has_imported_everything(fresh_warm_up):
    thread = ui.warm_up(modules=(fresh_warm_up,))
    ui.wait_for_imports()
    assert getattr(sys.modules[fresh_warm_up], "READY", False), "the module is fully imported, not half"
    thread.join(timeout=30)


def test_torch_counts_as_imported_only_once_the_warm_up_is_done(fresh_warm_up, monkeypatch):
    import torch  # noqa: F401  (in sys.modules, as when the warm-up is halfway through it)

    release = threading.Event()
    monkeypatch.setattr("transformer.runs.fork_server.prepare_training_processes", lambda: None)
    blocker = type(sys)("tlab_blocking_module")
    sys.modules.pop("tlab_blocking_module", None)

    class Finder:  # a module whose import waits for the test: the warm-up is "halfway"
        @staticmethod
        def find_spec(name, path=None, target=None):
            if name != "tlab_blocking_module":
                return None
            import importlib.util

            class Loader:
                def create_module(self, spec):
                    return blocker

                def exec_module(self, module):
                    release.wait(30)

            return importlib.util.spec_from_loader(name, Loader())

    monkeypatch.setattr(sys, "meta_path", [Finder, *sys.meta_path])
    thread = ui.warm_up(modules=("tlab_blocking_module",))
    try:
        assert not ui.torch_imported(), "the sidebar must not import torch while the warm-up does"
    finally:
        release.set()
        thread.join(timeout=30)
        sys.modules.pop("tlab_blocking_module", None)
    assert ui.torch_imported()
