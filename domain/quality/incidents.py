"""§7.4 risk: every incident and how it was handled, on record; a severe one reaches the supervisor
and the director at once; the risk rules themselves are reviewed on a schedule."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.config.calendar import due_at
from swflow.config.clock import SHANGHAI
from swflow.config.errors import FormError, NotFoundError, RefusedError
from swflow.config.escalation import get_policy
from swflow.config.quality import quality_settings
from swflow.config.settings import get_settings
from swflow.db.engine import read_session, unit_of_work
from swflow.db.journal import append_event, project_stream
from swflow.db.quality_tables import Incident, RiskReview
from swflow.db.tables import Person, Project
from swflow.domain.deadlines.rules import next_fire
from swflow.domain.outbox.records import enqueue
from swflow.domain.quality.circles import incident_circle
from swflow.domain.quality.common import (
    QUALITY_STREAM,
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
    with_role,
)
from swflow.domain.quality.staffing import schedule_risk_review
from swflow.forms_spec import get_form

__all__ = [
    "IncidentReport",
    "incident_choices",
    "report_incident",
    "close_incident",
    "list_incidents",
    "show_incident",
    "review_risk_rules",
]


class IncidentReport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str
    severity: str
    occurred_at: datetime
    place: str = Field(min_length=1, max_length=500)
    people_involved: str = Field(min_length=1, description="sensitive: names, contacts, health")
    description: str = Field(min_length=1)
    handling: str = Field(min_length=1, description="what was done at once")
    project: str | None = None


def incident_choices() -> tuple[dict[str, str], dict[str, str]]:
    """Kinds and severities: the choices of the incident-report form, so a project's incident form
    and the agency's register speak the same words."""
    fields = {f.name: f for f in get_form(quality_settings().incidents.form).fields}
    return dict(fields["kind"].choices or {}), dict(fields["severity"].choices or {})


def _check_choices(report: IncidentReport, now: datetime) -> None:
    kinds, severities = incident_choices()
    problems = [
        (name, f"必须是以下之一：{', '.join(choices)}")
        for name, value, choices in (("kind", report.kind, kinds), ("severity", report.severity, severities))
        if value not in choices
    ]
    if report.occurred_at > now:
        problems.append(("occurred_at", "不能晚于现在"))
    if problems:
        raise FormError("事件记录有错误：\n" + "\n".join(f"  - {f}：{r}" for f, r in problems), problems)


def _urgent_recipients(session: Session, project: Project | None, by: str) -> list[Person]:
    """The project's supervisor (every supervisor when no project is concerned) and the directors."""
    ids = [project.supervisor_id] if project else [p.id for p in with_role(session, "supervisor")]
    ids += directors(session)
    return [session.get_one(Person, pid) for pid in dict.fromkeys(ids) if pid != by]


def report_incident(data: Any, by: str, now: datetime) -> dict[str, Any]:
    """Record an incident; when its severity is one to tell at once, message the supervisor and the
    director urgently (not held for working hours). The message names kind and severity only."""
    report = validated(IncidentReport, data, "事件记录")
    if report.occurred_at.tzinfo is None:
        report.occurred_at = report.occurred_at.replace(tzinfo=SHANGHAI)
    _check_choices(report, now)
    with unit_of_work() as session:
        active_person(session, by)
        return _record(session, report, by, now)


def register_project_incident(
    session: Session, project_id: str, work_item_id: int, data: dict[str, Any], by: str, now: datetime
) -> int:
    """A project's incident-report form is also an entry of the agency's register (§7.4), with its
    deadline and, when severe, the urgent messages: inside the submission's transaction. The same
    incident (kind and day) submitted again, corrected or after a return, amends its open entry;
    another incident is another entry. Returns the entry's id."""
    fields = {
        "kind": data["kind"],
        "severity": data["severity"],
        "occurred_at": datetime.combine(date.fromisoformat(str(data["occurred_at"])), time(0), SHANGHAI),
        "place": data["place"],
        "people_involved": data["people_involved"],
        "description": data["description"],
        "handling": data["immediate_handling"],
        "project": project_id,
    }
    report = validated(IncidentReport, fields, "事件报告表（登记到机构事件台账）")
    same = select(Incident).where(  # the same incident, corrected or submitted again after a return
        Incident.project_id == project_id,
        Incident.work_item_id.is_not(None),
        Incident.status == "open",
        Incident.kind == report.kind,
        Incident.occurred_at == report.occurred_at,
    )
    row = session.execute(same.order_by(Incident.id).limit(1).with_for_update()).scalar_one_or_none()
    if row is None:
        return int(_record(session, report, by, now, work_item_id)["id"])
    for key, value in report.model_dump(exclude={"project"}).items():
        setattr(row, key, value)
    payload = {
        "incident": row.id,
        "severity": row.severity,
        "content_sha256": _content_digest(report),
        "work_item": work_item_id,
    }
    append_event(session, record_stream("incident", row.id), "incident.amended", actor=by, at=now, payload=payload)
    return row.id


def _content_digest(report: IncidentReport) -> str:
    """Events carry a digest of the place, people, description and handling, never the text."""
    return sha256_of(report.model_dump(mode="json", exclude={"kind", "severity", "occurred_at", "project"}))


def _record(
    session: Session, report: IncidentReport, by: str, now: datetime, work_item_id: int | None = None
) -> dict[str, Any]:
    kinds, severities = incident_choices()
    project = get_project(session, report.project)
    row = Incident(
        **report.model_dump(exclude={"project"}),
        follow_up="",
        project_id=project.id if project else None,
        reported_by=by,
        reported_at=now,
        status="open",
        work_item_id=work_item_id,
    )
    rule = quality_settings().incidents
    row.close_due_at = due_at(now, rule.close_days_for(row.severity), get_settings().workday_end_hour)
    row.next_escalation_at = next_fire(row.close_due_at, get_policy(rule.escalation_policy).steps, 0)
    session.add(row)
    session.flush()
    facts = {"incident": row.id, "kind": row.kind, "severity": row.severity, "occurred_at": iso(row.occurred_at)}
    append_event(
        session,
        record_stream("incident", row.id),
        "incident.reported",
        actor=by,
        at=now,
        payload={
            **facts,
            "project": row.project_id,
            "content_sha256": _content_digest(report),
            "work_item": work_item_id,
        },
    )
    if project is not None:
        append_event(session, project_stream(project.id), "incident.reported", actor=by, at=now, payload=facts)
    notified: list[str] = []
    if row.severity in rule.notify_at_once:
        for person in _urgent_recipients(session, project, by):
            enqueue(
                session,
                key=f"incident:{row.id}:reported",
                recipient=person,
                template="incident_reported",
                context=record_context(
                    project,
                    incident_id=row.id,
                    kind=kinds.get(row.kind, row.kind),
                    severity=severities.get(row.severity, row.severity),
                    occurred=row.occurred_at,
                ),
                now=now,
                project_id=project.id if project else None,
                urgent=True,
            )
            notified.append(person.id)
    return {"id": row.id, "notified": notified, "close_due_at": iso(row.close_due_at)}


def close_incident(incident_id: int, by: str, follow_up: str, now: datetime) -> None:
    """The follow-up is recorded and the incident closed, by the director or, for a project's
    incident, its manager or supervisor (any supervisor for one outside a project)."""
    if not follow_up.strip():
        raise FormError("--follow-up：必须写明后续跟进", [("follow_up", "必填")])
    with unit_of_work() as session:
        row = session.get(Incident, incident_id, with_for_update=True)
        if row is None:
            raise NotFoundError(f"没有事件记录 #{incident_id}")
        person = active_person(session, by)
        project = get_project(session, row.project_id)
        allowed = "director" in person.roles or (
            by in (project.manager_id, project.supervisor_id) if project else "supervisor" in person.roles
        )
        if not allowed:
            raise RefusedError(f"{by} 不能结束事件记录 #{incident_id}（须为机构负责人，或项目主管/督导）")
        if row.status != "open":
            raise RefusedError(f"事件记录 #{incident_id} 已结束")
        row.follow_up, row.status, row.closed_by, row.closed_at = follow_up, "closed", by, now
        row.next_escalation_at = None
        append_event(
            session,
            record_stream("incident", row.id),
            "incident.closed",
            actor=by,
            at=now,
            payload={"incident": row.id, "follow_up_sha256": sha256_of(follow_up)},
        )


def _summary(row: Incident, kinds: dict[str, str], severities: dict[str, str]) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "kind_title": kinds.get(row.kind, row.kind),
        "severity": row.severity,
        "severity_title": severities.get(row.severity, row.severity),
        "occurred_at": iso(row.occurred_at),
        "project": row.project_id,
        "reported_by": row.reported_by,
        "status": row.status,
        "close_due_at": iso(row.close_due_at),
        "closed_at": iso(row.closed_at),
    }


def list_incidents(start: datetime | None = None, end: datetime | None = None) -> list[dict[str, Any]]:
    """The register, without place, people or text: those are for the incident's circle."""
    kinds, severities = incident_choices()
    with read_session() as session:
        query = select(Incident).order_by(Incident.occurred_at, Incident.id)
        if start is not None:
            query = query.where(Incident.occurred_at >= start)
        if end is not None:
            query = query.where(Incident.occurred_at < end)
        return [_summary(row, kinds, severities) for row in session.execute(query).scalars()]


def show_incident(incident_id: int, viewer: str) -> dict[str, Any]:
    kinds, severities = incident_choices()
    with read_session() as session:
        row = session.get(Incident, incident_id)
        if row is None:
            raise NotFoundError(f"没有事件记录 #{incident_id}")
        check_reader(session, incident_circle(session, row), viewer)
        return _summary(row, kinds, severities) | {
            "place": row.place,
            "people_involved": row.people_involved,
            "description": row.description,
            "handling": row.handling,
            "follow_up": row.follow_up,
            "reported_at": iso(row.reported_at),
            "closed_by": row.closed_by,
            **history(session, record_stream("incident", row.id)),
        }


def review_risk_rules(by: str, note: str, now: datetime) -> str:
    """The director records that the risk rules were reviewed; the next review is scheduled."""
    with unit_of_work() as session:
        person = active_person(session, by)
        if "director" not in person.roles:
            raise RefusedError(f"{by} 不是机构负责人：风险管理制度的检讨由机构负责人记录")
        due = session.execute(select(RiskReview).where(RiskReview.status == "due").with_for_update()).scalars().all()
        for review in due:
            review.status, review.reviewed_at, review.reviewed_by, review.note = "done", now, by, note
            review.next_escalation_at = None
        append_event(
            session,
            QUALITY_STREAM,
            "risk_review.done",
            actor=by,
            at=now,
            payload={"reviews": [r.id for r in due], "late": any(now > r.due_at for r in due)},
        )
        following = schedule_risk_review(session, now.astimezone(SHANGHAI).date(), now, actor=by)
        return following.due_at.isoformat()
