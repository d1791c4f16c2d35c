"""The agency's own definitions beside swflow's: templates, forms, scorecards, escalation policies and
instruments an agency writes go in `$SWFLOW_HOME/definitions/{templates,forms,scorecards,escalation,
instruments}/*.yaml`
(or under `SWFLOW_DEFINITIONS`). They load with swflow's own and are validated the same way. One id
may appear once per folder; an agency file with the id of one of swflow's own must carry a higher
version, and then wins for new projects (a running project keeps the snapshot it was launched with).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Protocol, TypeVar

from swflow.config.errors import DefinitionError
from swflow.config.settings import home_dir

__all__ = ["KINDS", "agency_folder", "catalogue"]

KINDS = {
    "templates": "模板",
    "forms": "表单",
    "scorecards": "记分卡",
    "escalation": "升级策略",
    "instruments": "量表/问卷",
}


class _Versioned(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def version(self) -> int: ...


D = TypeVar("D", bound=_Versioned)


def agency_folder(kind: str) -> Path:
    """Where the agency keeps its own definitions of `kind` (the folder need not exist)."""
    root = os.environ.get("SWFLOW_DEFINITIONS")
    return (Path(root).expanduser() if root else home_dir() / "definitions") / kind


def _listing(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """What the folder holds now (names, sizes, times): a changed file is loaded again."""
    if not folder.is_dir():
        return ()
    found = []
    for path in sorted(folder.glob("*.yaml")):
        stat = path.stat()
        found.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(found)


def catalogue(kind: str, builtin: Path, load: Callable[[Path], D]) -> tuple[D, ...]:
    """swflow's own definitions of `kind` with the agency's merged in: one per id, the highest version."""
    return _merged(kind, str(builtin), load, _shipped(builtin), _listing(agency_folder(kind)))


@cache
def _shipped(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """swflow's own files do not change while it runs: listed once."""
    return _listing(folder)


@cache
def _merged(
    kind: str,
    _builtin: str,
    load: Callable[[Path], D],
    own: tuple[tuple[str, int, int], ...],
    agency: tuple[tuple[str, int, int], ...],
) -> tuple[D, ...]:
    chosen: dict[str, tuple[D, Path]] = {}
    for name, *_ in own:
        item = load(Path(name))
        chosen[item.id] = (item, Path(name))
    agency_ids: dict[str, Path] = {}
    problems: list[str] = []
    for name, *_ in agency:
        path = Path(name)
        item = load(path)
        if item.id in agency_ids:
            problems.append(f"{path}: id: {KINDS[kind]} {item.id} 在 {agency_ids[item.id].name} 中已有定义")
            continue
        agency_ids[item.id] = path
        if item.id in chosen and item.version <= chosen[item.id][0].version:
            shipped = chosen[item.id][0].version
            problems.append(
                f"{path}: version: 与 swflow 自带的{KINDS[kind]} {item.id} v{shipped} 同 id，版本须高于 {shipped}"
                "（或换一个 id）"
            )
            continue
        chosen[item.id] = (item, path)
    if problems:
        raise DefinitionError("\n".join(problems))
    return tuple(item for item, _ in sorted(chosen.values(), key=lambda pair: pair[0].id))
