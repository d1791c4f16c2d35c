"""Follow-up, corrective and preventive actions: an owner, a due date, escalation when late."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.config.clock import SHANGHAI
from swflow.config.errors import NotFoundError, RefusedError
from swflow.config.escalation import get_policy
from swflow.config.quality import quality_settings
from swflow.config.settings import get_settings
from swflow.db.engine import read_session, unit_of_work
from swflow.db.journal import append_event
from swflow.db.quality_tables import QualityAction
from swflow.db.tables import Project
from swflow.domain.deadlines.rules import next_fire
from swflow.domain.outbox.records import enqueue
from swflow.domain.people.records import get_person
from swflow.domain.quality.circles import action_circle
from swflow.domain.quality.common import active_person, iso, record_context, record_stream
from swflow.domain.quality.rules import end_of_day, why_not_read

__all__ = [
    "ActionInput",
    "ACTION_KINDS",
    "SOURCE_TITLES",
    "add_action",
    "complete_action",
    "action_row",
    "list_actions",
]

ActionKind = Literal["follow_up", "corrective", "preventive"]
ACTION_KINDS = {"follow_up": "督导跟进事项", "corrective": "纠正行动", "preventive": "预防行动"}
SOURCE_TITLES = {"supervision": "督导记录", "complaint": "投诉"}


class ActionInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    owner: str = Field(min_length=1)
    due: date
    text: str = Field(min_length=1, max_length=2000)


def add_action(
    session: Session,
    *,
    source: Literal["supervision", "complaint"],
    source_id: int,
    kind: ActionKind,
    action: ActionInput,
    by: str,
    now: datetime,
    project: Project | None,
) -> QualityAction:
    """Inside the caller's act: the action, its escalation schedule, its event and the owner's message."""
    owner = active_person(session, action.owner)
    if action.due < now.astimezone(SHANGHAI).date():
        raise RefusedError(f"行动期限 {action.due} 已过：期限不能早于今天")
    due = end_of_day(action.due, get_settings().workday_end_hour)
    steps = get_policy(quality_settings().actions.escalation_policy).steps
    row = QualityAction(
        source=source,
        source_id=source_id,
        kind=kind,
        description=action.text,
        owner_id=owner.id,
        due_at=due,
        status="open",
        created_by=by,
        created_at=now,
        note="",
        next_escalation_at=next_fire(due, steps, 0),
        escalation_step=0,
    )
    session.add(row)
    session.flush()
    append_event(
        session,
        record_stream(source, source_id),
        "action.added",
        actor=by,
        at=now,
        payload={"action": row.id, "kind": kind, "owner": owner.id, "due_at": iso(due)},
    )
    if owner.id != by:
        enqueue(
            session,
            key=f"quality-action:{row.id}:assigned",
            recipient=owner,
            template="quality_action_assigned",
            context=record_context(
                project,
                action_id=row.id,
                action_kind=ACTION_KINDS[kind],
                source_title=f"{SOURCE_TITLES[source]} #{source_id}",
                due=due,
            ),
            now=now,
            project_id=project.id if project else None,
        )
    return row


def complete_action(action_id: int, by: str, note: str, now: datetime) -> QualityAction:
    """The owner, whoever set it, or a director marks an action done; its escalation stops."""
    with unit_of_work() as session:
        row = session.get(QualityAction, action_id, with_for_update=True)
        if row is None:
            raise NotFoundError(f"没有行动 #{action_id}")
        person = active_person(session, by)
        if by not in (row.owner_id, row.created_by) and "director" not in person.roles:
            raise RefusedError(f"{by} 不是行动 #{action_id} 的负责人、布置人或机构负责人，不能标记完成")
        if row.status != "open":
            raise RefusedError(f"行动 #{action_id} 已完成（{iso(row.done_at)}）")
        row.status, row.done_at, row.done_by, row.note = "done", now, by, note
        row.next_escalation_at = None
        append_event(
            session,
            record_stream(row.source, row.source_id),
            "action.done",
            actor=by,
            at=now,
            payload={"action": row.id, "late": now > row.due_at},
        )
        return row


def action_row(action: QualityAction, readable: bool) -> dict[str, Any]:
    return {
        "id": action.id,
        "source": action.source,
        "source_id": action.source_id,
        "kind": action.kind,
        "owner": action.owner_id,
        "due_at": iso(action.due_at),
        "status": action.status,
        "done_at": iso(action.done_at),
        "text": action.description if readable else None,
    }


def list_actions(viewer: str, owner: str | None = None, open_only: bool = False) -> list[dict[str, Any]]:
    """Every action with its owner and due date; the text only for people in its circle."""
    with read_session() as session:
        person = get_person(session, viewer)
        query = select(QualityAction).order_by(QualityAction.due_at, QualityAction.id)
        if owner:
            query = query.where(QualityAction.owner_id == owner)
        if open_only:
            query = query.where(QualityAction.status == "open")
        return [
            action_row(a, why_not_read(action_circle(session, a), viewer, person.roles, person.active) is None)
            for a in session.execute(query).scalars()
        ]
