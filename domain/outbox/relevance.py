"""A message about something that has meanwhile moved on is not sent. A message held overnight (or
retried) may reach its hour after the approval it asks for was given, the form it reminds of was
submitted, the stage it announces was decided: the dispatcher asks `still_current` first, and a
message that is not is recorded as superseded (`message.superseded`), never delivered.

What a message is about travels in its context under `ABOUT` (templates never read it):
- `about_stage(stage, statuses, gate_step)`: this round of this stage, in one of these statuses (and,
  for an approval request, at this step of its gate);
- `about_items(ids)`: work items, current while any of them is open;
- `about_any(...)`: a digest, current while any of its parts is."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.db.tables import Project, Stage, WorkItem

__all__ = ["ABOUT", "about_any", "about_items", "about_stage", "still_current"]

ABOUT = "_about"


def about_stage(stage: Stage, statuses: list[str], gate_step: int | None = None) -> dict[str, Any]:
    return {"stage": stage.id, "round": stage.round, "statuses": statuses, "gate_step": gate_step}


def about_items(ids: list[int]) -> dict[str, Any]:
    return {"work_items": sorted(ids)}


def about_any(parts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"any": parts}


def still_current(session: Session, about: Any) -> bool:
    """Whether what the message is about is still as it was when the message was queued. A message
    that says nothing of its subject (agency-wide, older rows) is always current."""
    if not isinstance(about, dict):
        return True
    if "any" in about:
        return any(still_current(session, part) for part in about["any"])
    if "work_items" in about:
        ids = [i for i in about["work_items"] if isinstance(i, int)]
        found = session.execute(select(WorkItem.status).where(WorkItem.id.in_(ids))).scalars()
        return any(status == "open" for status in found)
    if "stage" in about:
        stage = session.get(Stage, about["stage"])
        if stage is None:
            return False
        project = session.get(Project, stage.project_id)
        if project is None or project.status != "running":
            return False
        step = about.get("gate_step")
        return (
            stage.round == about.get("round")
            and stage.status in about.get("statuses", [])
            and (step is None or stage.gate_step == step)
        )
    return True
