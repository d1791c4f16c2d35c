"""The house keeps its shape: DESIGN.md's layer table and the lint rules, checked on every run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = BIN / name if (BIN / name).exists() else shutil.which(name)
    assert found, f"{name} is not installed: it comes with the test extras (pip install -e '.[test]')"
    return str(found)


def test_layers_of_design_md_are_kept() -> None:
    result = subprocess.run([_tool("lint-imports")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_finds_nothing_in_the_package() -> None:
    packages = ["app", "archive", "config", "flows", "forms_spec", "notifications", "tasks"]
    result = subprocess.run([_tool("ruff"), "check", *packages], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_passes() -> None:
    packages = ["config", "forms_spec", "archive", "notifications", "tasks", "flows", "app"]
    result = subprocess.run([_tool("mypy"), "--strict", *packages], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
