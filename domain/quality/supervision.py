"""§7.3 supervision: sessions recorded by their supervisor and confidential to their circle; each
supervisee's next session has a due date that escalates when missed; coverage says who is overdue."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from swflow.config.clock import SHANGHAI
from swflow.config.errors import NotFoundError, RefusedError
from swflow.config.escalation import get_policy
from swflow.config.quality import quality_settings
from swflow.config.settings import get_settings
from swflow.db.engine import read_session, unit_of_work
from swflow.db.journal import append_event, project_stream
from swflow.db.quality_tables import QualityAction, SupervisionAttendee, SupervisionDue, SupervisionSession
from swflow.db.tables import Person, Project, ProjectMember
from swflow.domain.deadlines.rules import next_fire
from swflow.domain.people.records import get_person
from swflow.domain.quality.actions import ActionInput, action_row, add_action
from swflow.domain.quality.circles import session_circle, supervisees
from swflow.domain.quality.common import (
    check_reader,
    get_project,
    history,
    iso,
    record_stream,
    sha256_of,
    validated,
)
from swflow.domain.quality.rules import coverage_state, session_problems, supervision_due_at, why_not_read

__all__ = [
    "SessionRecord",
    "record_session",
    "refresh_due",
    "needs_supervision",
    "list_sessions",
    "show_session",
    "coverage",
]


class SessionRecord(BaseModel):
    """One session as the supervisor records it (`swflow supervision record --data FILE`)."""

    model_config = ConfigDict(extra="forbid")
    supervisees: list[str] = Field(min_length=1)
    held_on: date
    mode: Literal["individual", "group"]
    topics: list[str] = Field(min_length=1)
    decisions: str = ""
    actions: list[ActionInput] = []
    project: str | None = None


def needs_supervision(person: Person) -> bool:
    return person.active and bool(set(quality_settings().supervision.roles).intersection(person.roles))


def _templates_served(session: Session, person_ids: list[str] | None = None) -> dict[str, set[str]]:
    """Person → templates of the running projects they work on (a template can ask for more supervision)."""
    query = (
        select(ProjectMember.person_id, Project.template_id)
        .join(Project, Project.id == ProjectMember.project_id)
        .where(ProjectMember.role == "worker", Project.status == "running")
    )
    if person_ids is not None:
        query = query.where(ProjectMember.person_id.in_(person_ids))
    served: dict[str, set[str]] = defaultdict(set)
    for person_id, template_id in session.execute(query).tuples():
        served[person_id].add(template_id)
    return served


def refresh_due(session: Session, person: Person, now: datetime, held_on: date | None = None) -> None:
    """Recompute when `person` next needs supervision; a moved due date starts a new cycle of steps."""
    row = session.execute(
        select(SupervisionDue).where(SupervisionDue.person_id == person.id).with_for_update()
    ).scalar_one_or_none()
    if not needs_supervision(person):
        if row is not None:
            row.next_escalation_at = None
        return
    rule = quality_settings().supervision
    every = rule.every_days_for(_templates_served(session, [person.id])[person.id])
    if row is None:
        row = SupervisionDue(person_id=person.id, started_on=now.astimezone(SHANGHAI).date(), cycle=0)
        session.add(row)
    if held_on is not None and (row.last_held_on is None or held_on > row.last_held_on):
        row.last_held_on = held_on
    due = supervision_due_at(row.last_held_on or row.started_on, every, get_settings().workday_end_hour)
    steps = get_policy(rule.escalation_policy).steps
    if row.due_at is None or row.due_at != due:
        row.due_at, row.cycle, row.escalation_step = due, row.cycle + 1, 0
        row.next_escalation_at = next_fire(due, steps, 0)
    elif row.next_escalation_at is None and row.escalation_step < len(steps):
        row.next_escalation_at = next_fire(due, steps, row.escalation_step)  # active again: resume the steps


def record_session(data: Any, by: str, now: datetime) -> int:
    """The supervisor records a session held; the follow-ups get owners and due dates."""
    record = validated(SessionRecord, data, "督导记录")
    with unit_of_work() as session:
        supervisor = get_person(session, by)
        people = {pid: get_person(session, pid) for pid in dict.fromkeys(record.supervisees)}
        problems = session_problems(
            by,
            supervisor.roles if supervisor.active else (),
            {pid: p.active for pid, p in people.items()},
            record.mode,
            record.held_on,
            now.astimezone(SHANGHAI).date(),
        )
        if problems:
            raise RefusedError("不能记录督导：\n" + "\n".join(f"  - {p}" for p in problems))
        project = get_project(session, record.project)
        row = SupervisionSession(
            supervisor_id=by,
            held_on=record.held_on,
            mode=record.mode,
            topics=record.topics,
            decisions=record.decisions,
            project_id=project.id if project else None,
            recorded_by=by,
            recorded_at=now,
        )
        session.add(row)
        session.flush()
        session.add_all(SupervisionAttendee(session_id=row.id, person_id=pid) for pid in people)
        content = record.model_dump(mode="json", include={"topics", "decisions", "actions"})
        facts = {"session": row.id, "supervisor": by, "supervisees": list(people), "held_on": str(record.held_on)}
        append_event(
            session,
            record_stream("supervision", row.id),
            "supervision.recorded",
            actor=by,
            at=now,
            payload={**facts, "mode": record.mode, "project": row.project_id, "content_sha256": sha256_of(content)},
        )
        if project is not None:
            append_event(session, project_stream(project.id), "supervision.recorded", actor=by, at=now, payload=facts)
        for action in record.actions:
            add_action(
                session,
                source="supervision",
                source_id=row.id,
                kind="follow_up",
                action=action,
                by=by,
                now=now,
                project=project,
            )
        for person in people.values():
            refresh_due(session, person, now, held_on=record.held_on)
        return row.id


def _session_view(session: Session, row: SupervisionSession, readable: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": row.id,
        "supervisor": row.supervisor_id,
        "supervisees": supervisees(session, row.id),
        "held_on": str(row.held_on),
        "mode": row.mode,
        "project": row.project_id,
        "recorded_at": iso(row.recorded_at),
        "confidential": not readable,
    }
    if readable:
        actions = session.execute(
            select(QualityAction)
            .where(QualityAction.source == "supervision", QualityAction.source_id == row.id)
            .order_by(QualityAction.id)
        ).scalars()
        view |= {
            "topics": row.topics,
            "decisions": row.decisions,
            "actions": [action_row(a, True) for a in actions],
        }
    return view


OVERSEEING_ROLES = frozenset({"manager", "supervisor", "director"})  # who keeps supervision coverage (§7.3)


def list_sessions(viewer: str, person: str | None = None) -> list[dict[str, Any]]:
    """The sessions the viewer may know of: their circle's in full (topics, decisions, follow-ups); the
    others' who and when (masked) only to those who oversee supervision coverage (项目主管、督导、机构负责人),
    so a worker does not learn when a colleague was supervised."""
    with read_session() as session:
        reader = get_person(session, viewer)
        oversees = reader.active and bool(OVERSEEING_ROLES & set(reader.roles))
        query = select(SupervisionSession).order_by(SupervisionSession.held_on, SupervisionSession.id)
        if person:
            query = query.join(SupervisionAttendee, SupervisionAttendee.session_id == SupervisionSession.id).where(
                SupervisionAttendee.person_id == person
            )
        listed = []
        for row in session.execute(query).scalars():
            readable = why_not_read(session_circle(session, row), viewer, reader.roles, reader.active) is None
            if readable or oversees:
                listed.append(_session_view(session, row, readable))
        return listed


def show_session(session_id: int, viewer: str) -> dict[str, Any]:
    """The whole record, for its supervisor, its supervisees and the director only (exit 3 otherwise)."""
    with read_session() as session:
        row = session.get(SupervisionSession, session_id)
        if row is None:
            raise NotFoundError(f"没有督导记录 #{session_id}")
        check_reader(session, session_circle(session, row), viewer)
        return _session_view(session, row, True) | history(session, record_stream("supervision", row.id))


def coverage(at: datetime) -> list[dict[str, Any]]:
    """Every person who needs supervision at `at`: last session, next due, ok / due_soon / overdue."""
    rule = quality_settings().supervision
    end_hour = get_settings().workday_end_hour
    day = at.astimezone(SHANGHAI).date()
    with read_session() as session:
        people = [p for p in session.execute(select(Person).order_by(Person.id)).scalars() if needs_supervision(p)]
        last = dict(
            session.execute(
                select(SupervisionAttendee.person_id, func.max(SupervisionSession.held_on))
                .join(SupervisionSession, SupervisionSession.id == SupervisionAttendee.session_id)
                .where(SupervisionSession.held_on <= day)
                .group_by(SupervisionAttendee.person_id)
            )
            .tuples()
            .all()
        )
        started = dict(session.execute(select(SupervisionDue.person_id, SupervisionDue.started_on)).tuples().all())
        served = _templates_served(session)
    rows = []
    for person in people:
        every = rule.every_days_for(served[person.id])
        since = last.get(person.id) or started.get(person.id) or person.updated_at.astimezone(SHANGHAI).date()
        due = supervision_due_at(since, every, end_hour)
        rows.append(
            {
                "person": person.id,
                "name": person.name,
                "community": person.community,
                "every_days": every,
                "last_held_on": str(last[person.id]) if person.id in last else None,
                "due_at": due.isoformat(),
                "state": coverage_state(due, at),
                "days_overdue": max(0, (day - due.astimezone(SHANGHAI).date()).days),
            }
        )
    return rows
