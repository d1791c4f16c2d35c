"""§7.5 complaints: intake through an open channel, acknowledgement and answer within working-day
limits (escalated when late), corrective and preventive actions, closure with the complainant's
feedback. Each complaint keeps its own hash-chained history (stream `complaint:<id>`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.config.calendar import due_at
from swflow.config.errors import FormError, NotFoundError, RefusedError
from swflow.config.escalation import get_policy
from swflow.config.quality import quality_settings
from swflow.config.settings import get_settings
from swflow.db.engine import read_session, unit_of_work
from swflow.db.journal import append_event, project_stream
from swflow.db.quality_tables import Complaint, QualityAction
from swflow.db.tables import Person, Project
from swflow.domain.deadlines.rules import next_fire
from swflow.domain.outbox.records import enqueue
from swflow.domain.quality.actions import ActionInput, action_row, add_action
from swflow.domain.quality.circles import complaint_circle
from swflow.domain.quality.common import (
    active_person,
    check_reader,
    directors,
    get_project,
    history,
    iso,
    record_context,
    record_stream,
    sha256_of,
    validated,
)
from swflow.domain.quality.rules import ComplaintStatus, why_not_move_complaint

__all__ = [
    "CHANNELS",
    "ComplaintIntake",
    "open_complaint",
    "acknowledge_complaint",
    "answer_complaint",
    "add_complaint_action",
    "close_complaint",
    "list_complaints",
    "show_complaint",
]

CHANNELS = {"phone": "电话", "visit": "来访", "online": "网络", "letter": "信件"}


class ComplaintIntake(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: Literal["phone", "visit", "online", "letter"]
    content: str = Field(min_length=1)
    contact: str = Field(default="", description="sensitive: the complainant's name and how to reach them")
    project: str | None = None
    service: str = Field(
        default="", max_length=200, validate_default=True, description="the service concerned when not a project"
    )
    handler: str | None = None

    @field_validator("service")
    @classmethod
    def _concerns_something(cls, service: str, info: ValidationInfo) -> str:
        if not info.data.get("project") and not service.strip():
            raise ValueError("投诉不涉及某个项目（project）时，须写明涉及的服务")
        return service


def _steps() -> Any:
    return get_policy(quality_settings().complaints.escalation_policy).steps


def open_complaint(data: Any, by: str, now: datetime) -> dict[str, Any]:
    """Intake: due dates for the acknowledgement and the answer, the handler told (without content)."""
    intake = validated(ComplaintIntake, data, "投诉登记")
    rule, end_hour = quality_settings().complaints, get_settings().workday_end_hour
    with unit_of_work() as session:
        active_person(session, by)
        project = get_project(session, intake.project)
        handler_id = intake.handler or (project.manager_id if project else next(iter(directors(session)), None))
        if handler_id is None:
            raise RefusedError("没有可处理投诉的机构负责人：请用 --handler 指定处理人")
        handler = active_person(session, handler_id)
        ack_due, answer_due = due_at(now, rule.ack_days, end_hour), due_at(now, rule.answer_days, end_hour)
        row = Complaint(
            channel=intake.channel,
            contact=intake.contact,
            project_id=project.id if project else None,
            service=intake.service,
            content=intake.content,
            received_by=by,
            received_at=now,
            handler_id=handler.id,
            status=ComplaintStatus.OPEN,
            ack_due_at=ack_due,
            answer_due_at=answer_due,
            phase=1,
            next_escalation_at=next_fire(ack_due, _steps(), 0),
            escalation_step=0,
        )
        session.add(row)
        session.flush()
        facts = {"complaint": row.id, "channel": row.channel, "handler": handler.id}
        append_event(
            session,
            record_stream("complaint", row.id),
            "complaint.opened",
            actor=by,
            at=now,
            payload={
                **facts,
                "project": row.project_id,
                "service": row.service,
                "ack_due_at": ack_due.isoformat(),
                "answer_due_at": answer_due.isoformat(),
                "content_sha256": sha256_of({"content": row.content, "contact": row.contact}),
            },
        )
        if project is not None:
            append_event(session, project_stream(project.id), "complaint.opened", actor=by, at=now, payload=facts)
        if handler.id != by:
            enqueue(
                session,
                key=f"complaint:{row.id}:opened",
                recipient=handler,
                template="complaint_received",
                context=record_context(
                    project, complaint_id=row.id, channel=CHANNELS[row.channel], ack_due=ack_due, answer_due=answer_due
                ),
                now=now,
                project_id=project.id if project else None,
            )
        return {
            "id": row.id,
            "handler": handler.id,
            "ack_due_at": ack_due.isoformat(),
            "answer_due_at": answer_due.isoformat(),
        }


def _handled(session: Session, complaint_id: int, by: str, act: str | None) -> tuple[Complaint, Project | None]:
    """The complaint, locked, if `by` may act on it now: its handler, its project's manager, a director."""
    row = session.get(Complaint, complaint_id, with_for_update=True)
    if row is None:
        raise NotFoundError(f"没有投诉 #{complaint_id}")
    person: Person = active_person(session, by)
    project = get_project(session, row.project_id)
    if by != row.handler_id and "director" not in person.roles and not (project and by == project.manager_id):
        raise RefusedError(f"{by} 不是投诉 #{complaint_id} 的处理人（{row.handler_id}）、项目主管或机构负责人")
    if act is not None and (problem := why_not_move_complaint(row.status, act, complaint_id)):
        raise RefusedError(problem)
    return row, project


def _event(session: Session, row: Complaint, kind: str, by: str, now: datetime, **payload: Any) -> None:
    append_event(
        session, record_stream("complaint", row.id), kind, actor=by, at=now, payload={"complaint": row.id, **payload}
    )


def acknowledge_complaint(complaint_id: int, by: str, note: str, now: datetime) -> None:
    """Acknowledged: the acknowledgement deadline stops escalating, the answer's starts."""
    with unit_of_work() as session:
        row, _ = _handled(session, complaint_id, by, "ack")
        row.status, row.acknowledged_at, row.acknowledged_by, row.ack_note = ComplaintStatus.ACKNOWLEDGED, now, by, note
        row.phase, row.escalation_step = 2, 0
        row.next_escalation_at = next_fire(row.answer_due_at, _steps(), 0)
        _event(session, row, "complaint.acknowledged", by, now, late=now > row.ack_due_at)


def answer_complaint(complaint_id: int, by: str, answer: str, now: datetime) -> None:
    """Answered (an answer also acknowledges): no deadline is left to escalate."""
    if not answer.strip():
        raise FormError("--reply：答复内容不能为空", [("answer", "必填")])
    with unit_of_work() as session:
        row, _ = _handled(session, complaint_id, by, "answer")
        if row.acknowledged_at is None:
            row.acknowledged_at, row.acknowledged_by = now, by
        row.status, row.answered_at, row.answered_by, row.answer = ComplaintStatus.ANSWERED, now, by, answer
        row.phase, row.next_escalation_at = 2, None
        _event(
            session, row, "complaint.answered", by, now, late=now > row.answer_due_at, answer_sha256=sha256_of(answer)
        )


def add_complaint_action(
    complaint_id: int, by: str, kind: Literal["corrective", "preventive"], action: Any, now: datetime
) -> int:
    """§7.5.3 a corrective or preventive action, with an owner and a due date."""
    checked = validated(ActionInput, action, "行动")
    with unit_of_work() as session:
        row, project = _handled(session, complaint_id, by, None)
        if row.status == ComplaintStatus.CLOSED:
            raise RefusedError(f"投诉 #{complaint_id} 已结案，不能再添加行动")
        added = add_action(
            session, source="complaint", source_id=row.id, kind=kind, action=checked, by=by, now=now, project=project
        )
        return added.id


def close_complaint(complaint_id: int, by: str, feedback: str, satisfied: bool | None, now: datetime) -> None:
    """Closed with the complainant's feedback on the answer."""
    if not feedback.strip():
        raise FormError("--feedback：结案须记录投诉人的反馈", [("feedback", "必填")])
    with unit_of_work() as session:
        row, _ = _handled(session, complaint_id, by, "close")
        row.status, row.closed_at, row.closed_by = ComplaintStatus.CLOSED, now, by
        row.feedback, row.satisfied = feedback, satisfied
        open_actions = session.execute(
            select(QualityAction.id).where(
                QualityAction.source == "complaint", QualityAction.source_id == row.id, QualityAction.status == "open"
            )
        ).all()
        _event(
            session,
            row,
            "complaint.closed",
            by,
            now,
            satisfied=satisfied,
            open_actions=len(open_actions),
            feedback_sha256=sha256_of(feedback),
        )


def _summary(row: Complaint, now: datetime) -> dict[str, Any]:
    acked, answered = row.acknowledged_at, row.answered_at
    return {
        "id": row.id,
        "channel": row.channel,
        "project": row.project_id,
        "service": row.service,
        "handler": row.handler_id,
        "status": row.status,
        "received_at": iso(row.received_at),
        "ack_due_at": iso(row.ack_due_at),
        "acknowledged_at": iso(acked),
        "ack_late": (acked or now) > row.ack_due_at,
        "answer_due_at": iso(row.answer_due_at),
        "answered_at": iso(answered),
        "answer_late": (answered or now) > row.answer_due_at,
        "closed_at": iso(row.closed_at),
        "satisfied": row.satisfied,
    }


def list_complaints(now: datetime, start: datetime | None = None, end: datetime | None = None) -> list[dict[str, Any]]:
    """Deadlines and states for anyone; contact, content, answer and feedback only in `show`."""
    with read_session() as session:
        query = select(Complaint).order_by(Complaint.received_at, Complaint.id)
        if start is not None:
            query = query.where(Complaint.received_at >= start)
        if end is not None:
            query = query.where(Complaint.received_at < end)
        return [_summary(row, now) for row in session.execute(query).scalars()]


def show_complaint(complaint_id: int, viewer: str, now: datetime) -> dict[str, Any]:
    with read_session() as session:
        row = session.get(Complaint, complaint_id)
        if row is None:
            raise NotFoundError(f"没有投诉 #{complaint_id}")
        check_reader(session, complaint_circle(session, row), viewer)
        actions = session.execute(
            select(QualityAction)
            .where(QualityAction.source == "complaint", QualityAction.source_id == row.id)
            .order_by(QualityAction.id)
        ).scalars()
        return _summary(row, now) | {
            "contact": row.contact,
            "content": row.content,
            "received_by": row.received_by,
            "ack_note": row.ack_note,
            "answer": row.answer,
            "feedback": row.feedback,
            "actions": [action_row(a, True) for a in actions],
            **history(session, record_stream("complaint", row.id)),
        }
