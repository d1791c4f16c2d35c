"""The quality part of the deadline sweep: supervision due, complaint acknowledgement and answer,
incident follow-up and closure, actions, certificate expiry, risk-rules review. Each kind is read
through its indexed column and becomes `DueRecord`s; archive/record_sweep.py escalates them (as it
does referral follow-ups)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.config.quality import quality_settings
from swflow.db.quality_tables import (
    CertificateWatch,
    Complaint,
    Incident,
    QualityAction,
    RiskReview,
    SupervisionAttendee,
    SupervisionDue,
    SupervisionSession,
)
from swflow.db.tables import Person, Project, ProjectMember
from swflow.domain.deadlines.records import DueRecord, Notice, due_rows, fire, send
from swflow.domain.deadlines.rules import Audience
from swflow.domain.quality.actions import ACTION_KINDS, SOURCE_TITLES
from swflow.domain.quality.common import QUALITY_STREAM, directors, record_stream, with_role
from swflow.domain.quality.supervision import needs_supervision

if TYPE_CHECKING:
    from swflow.domain.deadlines.schedule import SweepReport

__all__ = ["sweep_quality"]


def _team(session: Session, person_id: str, role: str) -> tuple[str, ...]:
    """Who holds `role` in the running projects where `person_id` works."""
    projects = select(ProjectMember.project_id).where(
        ProjectMember.person_id == person_id, ProjectMember.role == "worker"
    )
    column = Project.supervisor_id if role == "supervisor" else Project.manager_id
    found = session.execute(
        select(column).where(Project.id.in_(projects), Project.status == "running").order_by(column)
    ).scalars()
    return tuple(dict.fromkeys(found))


def _responsible_supervisors(session: Session, person_id: str) -> tuple[str, ...]:
    """The supervisors of the person's projects; else whoever supervised them last; else every supervisor."""
    if found := _team(session, person_id, "supervisor"):
        return found
    attended = select(SupervisionAttendee.session_id).where(SupervisionAttendee.person_id == person_id)
    last = session.execute(
        select(SupervisionSession.supervisor_id)
        .join(Person, Person.id == SupervisionSession.supervisor_id)
        .where(Person.active.is_(True), SupervisionSession.id.in_(attended))
        .order_by(SupervisionSession.held_on.desc())
        .limit(1)
    ).scalar_one_or_none()
    return (last,) if last else tuple(p.id for p in with_role(session, "supervisor"))


def _supervision(session: Session, now: datetime, heads: tuple[str, ...]) -> list[DueRecord]:
    policy, found = quality_settings().supervision.escalation_policy, []
    for row in due_rows(session, SupervisionDue, now):
        person = session.get_one(Person, row.person_id)
        if not needs_supervision(person):
            row.next_escalation_at = None
            continue
        supervisors = _responsible_supervisors(session, person.id)
        who = Audience(supervisors, _team(session, person.id, "manager") or heads, supervisors)
        task = f"{person.name}（{person.id}）应接受督导"
        found.append(
            DueRecord("supervision", row, row.cycle, row.due_at, policy, who, QUALITY_STREAM, None, "督导覆盖", task)
        )
    return found


def _complaints(session: Session, now: datetime, heads: tuple[str, ...]) -> list[DueRecord]:
    policy, found = quality_settings().complaints.escalation_policy, []
    for row in due_rows(session, Complaint, now, Complaint.status.in_(("open", "acknowledged"))):
        project = session.get(Project, row.project_id) if row.project_id else None
        who = Audience(
            (row.handler_id,),
            (project.manager_id,) if project else (row.handler_id,),
            (project.supervisor_id,) if project else heads,
        )
        due, task = (row.ack_due_at, "确认受理") if row.phase == 1 else (row.answer_due_at, "答复投诉人")
        stream = record_stream("complaint", row.id)
        found.append(DueRecord("complaint", row, row.phase, due, policy, who, stream, project, f"投诉 #{row.id}", task))
    return found


def _incidents(session: Session, now: datetime, heads: tuple[str, ...]) -> list[DueRecord]:
    """An incident's follow-up recorded and the incident closed (§7.4) by those who may close it:
    a project's manager (its supervisor next), or for one outside a project the directors."""
    policy, found = quality_settings().incidents.escalation_policy, []
    supervisors = tuple(p.id for p in with_role(session, "supervisor"))
    for row in due_rows(session, Incident, now, Incident.status == "open"):
        project = session.get(Project, row.project_id) if row.project_id else None
        if project is not None:
            who = Audience((project.manager_id,), (project.manager_id,), (project.supervisor_id,))
        else:
            who = Audience(heads, heads, supervisors)
        task = "记录后续跟进并结束事件（swflow incident close）"
        stream = record_stream("incident", row.id)
        found.append(
            DueRecord("incident", row, 0, row.close_due_at, policy, who, stream, project, f"风险事件 #{row.id}", task)
        )
    return found


def _actions(session: Session, now: datetime, heads: tuple[str, ...]) -> list[DueRecord]:
    policy, found = quality_settings().actions.escalation_policy, []
    for row in due_rows(session, QualityAction, now, QualityAction.status == "open"):
        source: Any = session.get_one(SupervisionSession if row.source == "supervision" else Complaint, row.source_id)
        project = session.get(Project, source.project_id) if source.project_id else None
        if row.source == "supervision":
            overseers: tuple[str, ...] = (source.supervisor_id,)
        else:
            overseers = (project.supervisor_id,) if project else heads
        who = Audience((row.owner_id,), (row.created_by,), overseers)
        label = f"{ACTION_KINDS[row.kind]} #{row.id}"
        task = f"来源：{SOURCE_TITLES[row.source]} #{row.source_id}"
        stream = record_stream(row.source, row.source_id)
        found.append(DueRecord("action", row, 0, row.due_at, policy, who, stream, project, label, task))
    return found


def _certificates(session: Session, now: datetime, heads: tuple[str, ...]) -> list[DueRecord]:
    policy, found = quality_settings().certificates.escalation_policy, []
    for row in due_rows(session, CertificateWatch, now, CertificateWatch.status == "active"):
        person = session.get_one(Person, row.person_id)
        if not person.active:
            row.status, row.next_escalation_at = "replaced", None
            continue
        who = Audience((person.id,), _team(session, person.id, "manager") or heads, heads)
        task = f"{person.name}（{person.id}）的{row.level or '资格'}证书于 {row.valid_until} 到期，请办理续期或再登记"
        found.append(DueRecord("certificate", row, 0, row.due_at, policy, who, QUALITY_STREAM, None, "资格证书", task))
    return found


def _risk_reviews(session: Session, now: datetime, heads: tuple[str, ...]) -> list[DueRecord]:
    policy, found = quality_settings().risk_review.escalation_policy, []
    supervisors = tuple(p.id for p in with_role(session, "supervisor"))
    for row in due_rows(session, RiskReview, now, RiskReview.status == "due"):
        who = Audience(heads, heads, supervisors)
        task = "检讨并修订风险管理制度（§7.4）"
        found.append(DueRecord("risk_review", row, 0, row.due_at, policy, who, QUALITY_STREAM, None, "风险管理", task))
    return found


_KINDS: tuple[Callable[[Session, datetime, tuple[str, ...]], list[DueRecord]], ...] = (
    _supervision,
    _complaints,
    _incidents,
    _actions,
    _certificates,
    _risk_reviews,
)


def sweep_quality(session: Session, now: datetime, report: SweepReport, digest: bool) -> int:
    """Inside the sweep's transaction: escalate every quality record now due; returns messages queued."""
    heads = tuple(directors(session))
    notices: list[Notice] = []
    for kind in _KINDS:
        for due in kind(session, now, heads):
            notices += fire(session, due, now, heads, report)
    return send(session, notices, now, digest)
