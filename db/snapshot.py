"""Reading a project's pinned template snapshot.

A project's `template_snapshot` and `forms_snapshot` are written once, at launch, and never change:
what the hot pages need of them (each stage's spec, each form's title) is kept per process, keyed by
the project and its launch, so a list over hundreds of projects never loads their ~70 KB of forms.
Query such lists with `deferred_snapshots()`; a miss loads the two columns of that one project.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import defer
from sqlalchemy.sql.base import ExecutableOption

from swflow.db.tables import Project

__all__ = ["stage_spec", "form_title", "deferred_snapshots"]

_BOUND = 20_000  # projects kept; past it the cache starts again (a few KB each)


@dataclass(frozen=True)
class _Pinned:
    stages: dict[str, dict[str, Any]]
    titles: dict[str, str]


_PINNED: dict[tuple[str, datetime | None, str, int], _Pinned] = {}


def _pinned(project: Project) -> _Pinned:
    key = (project.id, project.created_at, project.template_id, project.template_version)
    found = _PINNED.get(key)
    if found is None:
        found = _Pinned(
            stages={s["key"]: s for s in project.template_snapshot["stages"]},
            titles={form_id: str(spec["title"]) for form_id, spec in project.forms_snapshot.items()},
        )
        if len(_PINNED) >= _BOUND:
            _PINNED.clear()
        _PINNED[key] = found
    return found


def stage_spec(project: Project, stage_key: str) -> dict[str, Any]:
    """The stage's spec as the template pinned it at launch (shared: read it, never change it)."""
    return _pinned(project).stages[stage_key]


def form_title(project: Project, form_id: str) -> str:
    return _pinned(project).titles[form_id]


def deferred_snapshots() -> list[ExecutableOption]:
    """Load options for a query of many projects: the snapshots stay in the database."""
    return [defer(Project.template_snapshot), defer(Project.forms_snapshot)]
