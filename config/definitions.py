"""The agency's own definitions beside swflow's: templates, forms, scorecards and escalation policies
an agency writes go in `$SWFLOW_HOME/definitions/{templates,forms,scorecards,escalation}/*.yaml`
(or under `SWFLOW_DEFINITIONS`). They load with swflow's own and are validated the same way. One id
may appear once per folder; an agency file with the id of one of swflow's own must carry a higher
version, and then wins for new projects (a running project keeps the snapshot it was launched with).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, Protocol, TypeVar

from swflow.config.errors import DefinitionError, FormError, RefusedError
from swflow.config.settings import home_dir

__all__ = ["KINDS", "agency_folder", "catalogue", "copy_template"]

KINDS = {"templates": "模板", "forms": "表单", "scorecards": "记分卡", "escalation": "升级策略"}


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
    return _merged(kind, str(builtin), load, _listing(builtin), _listing(agency_folder(kind)))


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


def copy_template(source_id: str, new_id: str | None) -> tuple[Path, Any]:
    """`swflow templates new`: the source template's file, comments kept, written into the agency's
    folder under `new_id` at version 1 (or under its own id at the next version), and loaded back."""
    from swflow.config.templates import get_template, load_template, template_file

    source = get_template(source_id)
    target_id = new_id or source.id
    if not re.fullmatch(r"[a-z][a-z0-9-]*", target_id):
        raise FormError(
            f"--id：{target_id} 不是有效的模板 id（小写字母开头，只含小写字母、数字和 -）", [("--id", "格式")]
        )
    if target_id != source.id and any(t.id == target_id for t in _all_templates()):
        raise RefusedError(f"--id：已有模板 {target_id}：请换一个 id")
    version = 1 if target_id != source.id else source.version + 1
    folder = agency_folder("templates")
    path = folder / f"{target_id}.yaml"
    if path.exists():
        raise RefusedError(f"{path} 已存在：不覆盖本机构的定义，请先改名或删除它")
    text = template_file(source.id).read_text(encoding="utf-8")
    text = re.sub(r"(?m)^id:.*$", f"id: {target_id}", text, count=1)
    text = re.sub(r"(?m)^version:.*$", f"version: {version}", text, count=1)
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path, load_template(path)


def _all_templates() -> tuple[Any, ...]:
    from swflow.config.templates import list_templates

    return list_templates()
