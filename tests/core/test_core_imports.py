"""The import rule of the project: the core loads without Streamlit or Plotly, and the figure
builders load without Streamlit. Each check runs in a fresh interpreter, because this pytest
process has long since imported both."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# Walk every module of a package (skipping ones that would run a program), import it, and
# report which of the watched top-level packages ended up loaded.
PROBE = r"""
import importlib, json, pkgutil, sys
root, skip, watched = sys.argv[1], set(sys.argv[2].split(",")), sys.argv[3].split(",")

def walk(name):
    # pkgutil.walk_packages would import skipped subpackages just to list them; recurse by hand.
    pkg = importlib.import_module(name)
    yield name
    for info in pkgutil.iter_modules(getattr(pkg, "__path__", [])):
        if info.name in skip or info.name == "__main__":
            continue
        full = name + "." + info.name
        if info.ispkg:
            yield from walk(full)
        else:
            importlib.import_module(full)
            yield full

imported = list(walk(root))
print(json.dumps({"imported": imported, "loaded": [w for w in watched if w in sys.modules]}))
"""


def _probe(root: str, skip: list[str], watched: list[str]) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, root, ",".join(skip) or "-", ",".join(watched)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, f"importing {root} failed:\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_core_never_imports_streamlit_or_plotly():
    result = _probe("transformer", skip=["figures", "ui"], watched=["streamlit", "plotly"])
    assert "transformer.config" in result["imported"]
    assert result["loaded"] == [], (
        f"the core pulled in {result['loaded']}; only transformer.figures / transformer.ui may"
    )


def test_figures_never_import_streamlit():
    result = _probe("transformer.figures", skip=[], watched=["streamlit"])
    assert result["loaded"] == [], "a figure builder imported streamlit; figures must stay pure"


# The home page of a fresh server, through AppTest in a fresh interpreter, with app.py's
# background warm-up recorded instead of started: what did drawing the page itself load?
HOME_PROBE = r"""
import json, sys
from streamlit.testing.v1 import AppTest
import transformer.ui
from transformer.ui.sidebar import _cpu_only_torch

calls = []
real_warm_up = transformer.ui.warm_up
transformer.ui.warm_up = lambda: calls.append("warm_up")
at = AppTest.from_file(sys.argv[1], default_timeout=60).run()
drawn = {"exception": [e.value for e in at.exception], "title": [t.value for t in at.title],
         "sidebar": " ".join(m.value for m in at.sidebar.markdown), "torch_loaded": "torch" in sys.modules,
         "warm_up_calls": calls, "cpu_only_torch": _cpu_only_torch()}
real_warm_up().join(timeout=120)
drawn["torch_after_warm_up"] = "torch" in sys.modules
print(json.dumps(drawn))
"""


def test_home_page_draws_without_pytorch_and_then_warms_it_up():
    proc = subprocess.run([sys.executable, "-c", HOME_PROBE, str(REPO_ROOT / "app.py")],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    drawn = json.loads(proc.stdout.strip().splitlines()[-1])
    assert drawn["exception"] == [] and drawn["title"] == ["Transformer Lab"]
    assert "Device:" in drawn["sidebar"] and "idle" in drawn["sidebar"]
    if drawn["cpu_only_torch"]:  # a GPU build must load torch to find its GPU's name
        assert not drawn["torch_loaded"], "the home page or the sidebar imported torch"
        assert "Device:** CPU" in drawn["sidebar"] or "Device: CPU" in drawn["sidebar"]
    assert drawn["warm_up_calls"] == ["warm_up"], "app.py starts the warm-up after the page"
    assert drawn["torch_after_warm_up"]


def test_no_page_imports_torch_itself():
    """Pages are thin: they call library functions and draw figures; running a model (and so
    importing torch) is the library's job. Read from the source, so a lazy import counts too."""
    import ast

    for page in sorted((REPO_ROOT / "pages").glob("*.py")):
        tree = ast.parse(page.read_text(), filename=str(page))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n == "torch" or n.startswith("torch.") for n in names), (
                f"{page.name}:{node.lineno} imports torch; move the model code into transformer/")
