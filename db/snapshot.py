"""Reading a project's pinned template snapshot."""

from __future__ import annotations

from typing import Any

from swflow.db.tables import Project

__all__ = ["stage_spec"]


def stage_spec(project: Project, stage_key: str) -> dict[str, Any]:
    spec: dict[str, Any] = next(s for s in project.template_snapshot["stages"] if s["key"] == stage_key)
    return spec
