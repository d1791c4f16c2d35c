"""The house keeps its shape: DESIGN.md's layer table and the lint rules, checked on every run."""

from __future__ import annotations

import ast
import importlib.metadata
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


ROOMS = ["app", "archive", "config", "db", "domain", "flows", "forms_spec", "notifications", "tasks"]


def test_installing_swflow_adds_one_top_level_package() -> None:
    top_level = importlib.metadata.distribution("swflow").read_text("top_level.txt") or ""
    assert top_level.split() == ["swflow"]
    linked = sorted(p.name for p in (ROOT / "swflow").iterdir() if p.is_symlink())
    assert linked == ROOMS, "every room at the top is linked into swflow/ (and nothing else)"


def _imported_names(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
    return names


def test_no_module_imports_the_old_top_level_names() -> None:
    """One import root: `import config` or `from archive import …` would load a second copy."""
    files = [p for folder in [*ROOMS, "tests", "bench", "scripts"] for p in (ROOT / folder).rglob("*.py")]
    found = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in files
        for line, name in _imported_names(path)
        if name.split(".")[0] in ROOMS
    ]
    assert found == []


def test_benchmarks_stand_alone() -> None:
    """bench/ uses the package (the CLI, `swflow.app.local`), never the tests: renaming a test breaks no benchmark."""
    found = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in (ROOT / "bench").rglob("*.py")
        for line, name in _imported_names(path)
        if name.split(".")[0] == "tests"
    ]
    assert found == []


def test_no_module_is_longer_than_400_lines_but_frozen_migrations() -> None:
    files = [p for folder in ROOMS for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts]
    long = {str(p.relative_to(ROOT)): n for p in files if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert long == {}


def test_ruff_finds_nothing_in_the_package() -> None:
    result = subprocess.run([_tool("ruff"), "check", *ROOMS], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_passes() -> None:
    result = subprocess.run([_tool("mypy"), "--strict", "-p", "swflow"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
