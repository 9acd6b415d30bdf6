"""The project as a package: `pip install -e .` and the linter configured in pyproject.toml."""
from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import tomllib

import pytest


def _pyproject(repo_root):
    return tomllib.loads((repo_root / "pyproject.toml").read_text())


def test_the_command_line_entry_point_is_the_cli(repo_root):
    target = _pyproject(repo_root)["project"]["scripts"]["transformer-lab"]
    module, _, name = target.partition(":")
    main = getattr(importlib.import_module(module), name)
    assert main is importlib.import_module("transformer.cli").main
    assert main(["tasks"]) == 0          # runs as `transformer-lab tasks` would


def test_the_package_data_lists_files_that_exist(repo_root):
    """A renamed lesson folder or front-end file must not silently drop out of the wheel."""
    data = _pyproject(repo_root)["tool"]["setuptools"]["package-data"]
    for package, patterns in data.items():
        folder = repo_root.joinpath(*package.split("."))
        for pattern in patterns:
            assert list(folder.glob(pattern)), f"{package}: {pattern} matches nothing"


def test_the_tree_passes_the_linter(repo_root):
    """Unused imports and names, undefined names: ruff with the rules pyproject.toml selects."""
    ruff = shutil.which("ruff", path=os.path.dirname(sys.executable)) or shutil.which("ruff")
    if ruff is None:
        if os.environ.get("CI"):
            pytest.fail("ruff is missing: it is in requirements-dev.txt")
        pytest.skip("ruff is not installed (pip install -r requirements-dev.txt)")
    result = subprocess.run([ruff, "check", "--output-format", "concise", "."], cwd=repo_root,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_lessons_ship_where_the_course_looks(repo_root):
    """A wheel puts the `lessons` package-data in site-packages/lessons/, beside transformer/:
    `transformer.course` looks there, one level above the package, as it does in a checkout.
    lessons/ holds data only: a Python package named `lessons` would be shadowed by pages/lessons.py."""
    from transformer.course import LESSONS_DIR, lesson_files

    setuptools = _pyproject(repo_root)["tool"]["setuptools"]
    assert LESSONS_DIR.resolve() == (repo_root / "lessons").resolve()
    assert "*.toml" in setuptools["package-data"][LESSONS_DIR.name]
    assert setuptools["packages"]["find"].get("namespaces", True), "lessons/ has no __init__.py"
    assert not list(LESSONS_DIR.glob("*.py"))
    assert {p.parent for p in lesson_files()} == {LESSONS_DIR}
