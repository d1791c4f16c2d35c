"""The house keeps its shape (docs/architecture.md): its floors, no circles, one import root, every
data file installed, and the lint rules, checked on every run."""

from __future__ import annotations

import ast
import fnmatch
import importlib.metadata
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = BIN / name if (BIN / name).exists() else shutil.which(name)
    assert found, f"{name} is not installed: it comes with the test extras (pip install -e '.[test]')"
    return str(found)


def test_floors_of_the_house_are_kept() -> None:
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
    folders = [*ROOMS, "tests", "bench", "scripts"]
    files = [p for folder in folders for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts]
    long = {str(p.relative_to(ROOT)): n for p in files if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert long == {}


def test_ruff_finds_nothing_in_the_package() -> None:
    result = subprocess.run([_tool("ruff"), "check", *ROOMS], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_passes() -> None:
    result = subprocess.run([_tool("mypy"), "--strict", "-p", "swflow"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _modules() -> dict[str, Path]:
    found = {}
    for room in ROOMS:
        for path in (ROOT / room).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            found[".".join(["swflow", *(parts[:-1] if parts[-1] == "__init__" else parts)])] = path
    return found


def _imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules `name` imports anywhere in its text (a lazy import inside a function
    is a dependency too); `from package import submodule` depends on the submodule only."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
            package = node.module or ""
            if node.level:
                package = ".".join(base[: len(base) - node.level + 1] + ([node.module] if node.module else []))
            found |= {f"{package}.{a.name}" if f"{package}.{a.name}" in modules else package for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {m for m in found if m in modules and m != name}


def test_no_module_of_the_package_imports_itself_round_a_circle() -> None:
    """Inside a room too (import-linter's layers see only between rooms): a circle of modules, even
    one closed by an import inside a function, fails here with its members named."""
    modules = _modules()
    graph = {name: _imports_of(name, path, modules) for name, path in modules.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    assert circles == []


def test_every_data_file_of_the_rooms_is_installed() -> None:
    """A template, a page, a style sheet left out of package-data works in an editable install and
    is missing from a wheel: every file of the rooms that is not Python must match a pattern."""
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"
    ]
    listed = subprocess.run(["git", "ls-files", *ROOMS], cwd=ROOT, capture_output=True, text=True, check=True)
    missing = []
    for line in listed.stdout.splitlines():
        path = ROOT / line
        if path.suffix == ".py" or path.name == ".gitignore":
            continue
        packages = [
            d for d in path.parents if d.is_relative_to(ROOT / line.split("/")[0]) and (d / "__init__.py").exists()
        ]
        if not any(
            fnmatch.fnmatch(path.relative_to(d).as_posix(), pattern)
            for d in packages
            for pattern in patterns.get(".".join(["swflow", *d.relative_to(ROOT).parts]), [])
        ):
            missing.append(line)
    assert missing == []
