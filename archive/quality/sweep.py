"""The quality part of the deadline sweep: supervision due, complaint acknowledgement and answer,
actions, certificate expiry, risk-rules review. Same policies, same `step_due`, same unique
`escalations` rows as work items and gates; each kind is read through its indexed column."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.escalation import EscalationStep, get_policy
from config.quality import quality_settings

from ..deadline_rules import next_fire, step_due
from ..journal import append_event
from ..models import Escalation, Person, Project, ProjectMember
from ..outbox import enqueue
from .actions import ACTION_KINDS, SOURCE_TITLES
from .common import QUALITY_STREAM, directors, local, quality_context, record_stream, with_role
from .models import (
    CertificateWatch,
    Complaint,
    QualityAction,
    RiskReview,
    SupervisionAttendee,
    SupervisionDue,
    SupervisionSession,
)
from .rules import Audience, audience
from .supervision import needs_supervision

if TYPE_CHECKING:
    from ..deadlines import SweepReport

__all__ = ["sweep_quality"]


@dataclass
class _Due:
    """One quality record whose next escalation time has come, with what its audiences mean."""

    subject: str
    row: Any  # a model with id, escalation_step and next_escalation_at
    round: int
    due: datetime
    policy: str
    who: Audience
    stream: str
    project: Project | None
    label: str
    task: str


@dataclass
class _Notice:
    to: str
    project: Project | None
    key: str
    item: dict[str, Any]
    urgent: bool


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


def _rows(session: Session, model: Any, now: datetime, *where: Any) -> list[Any]:
    query = select(model).where(*where, model.next_escalation_at <= now).order_by(model.next_escalation_at)
    return list(session.execute(query.with_for_update(skip_locked=True)).scalars())


def _supervision(session: Session, now: datetime, heads: tuple[str, ...]) -> list[_Due]:
    policy, found = quality_settings().supervision.escalation_policy, []
    for row in _rows(session, SupervisionDue, now):
        person = session.get_one(Person, row.person_id)
        if not needs_supervision(person):
            row.next_escalation_at = None
            continue
        supervisors = _responsible_supervisors(session, person.id)
        who = Audience(supervisors, _team(session, person.id, "manager") or heads, supervisors)
        task = f"{person.name}（{person.id}）应接受督导"
        found.append(
            _Due("supervision", row, row.cycle, row.due_at, policy, who, QUALITY_STREAM, None, "督导覆盖", task)
        )
    return found


def _complaints(session: Session, now: datetime, heads: tuple[str, ...]) -> list[_Due]:
    policy, found = quality_settings().complaints.escalation_policy, []
    for row in _rows(session, Complaint, now, Complaint.status.in_(("open", "acknowledged"))):
        project = session.get(Project, row.project_id) if row.project_id else None
        who = Audience(
            (row.handler_id,),
            (project.manager_id,) if project else (row.handler_id,),
            (project.supervisor_id,) if project else heads,
        )
        due, task = (row.ack_due_at, "确认受理") if row.phase == 1 else (row.answer_due_at, "答复投诉人")
        stream = record_stream("complaint", row.id)
        found.append(_Due("complaint", row, row.phase, due, policy, who, stream, project, f"投诉 #{row.id}", task))
    return found


def _actions(session: Session, now: datetime, heads: tuple[str, ...]) -> list[_Due]:
    policy, found = quality_settings().actions.escalation_policy, []
    for row in _rows(session, QualityAction, now, QualityAction.status == "open"):
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
        found.append(_Due("action", row, 0, row.due_at, policy, who, stream, project, label, task))
    return found


def _certificates(session: Session, now: datetime, heads: tuple[str, ...]) -> list[_Due]:
    policy, found = quality_settings().certificates.escalation_policy, []
    for row in _rows(session, CertificateWatch, now, CertificateWatch.status == "active"):
        person = session.get_one(Person, row.person_id)
        if not person.active:
            row.status, row.next_escalation_at = "replaced", None
            continue
        who = Audience((person.id,), _team(session, person.id, "manager") or heads, heads)
        task = f"{person.name}（{person.id}）的{row.level or '资格'}证书于 {row.valid_until} 到期，请办理续期或再登记"
        found.append(_Due("certificate", row, 0, row.due_at, policy, who, QUALITY_STREAM, None, "资格证书", task))
    return found


def _risk_reviews(session: Session, now: datetime, heads: tuple[str, ...]) -> list[_Due]:
    policy, found = quality_settings().risk_review.escalation_policy, []
    supervisors = tuple(p.id for p in with_role(session, "supervisor"))
    for row in _rows(session, RiskReview, now, RiskReview.status == "due"):
        who = Audience(heads, heads, supervisors)
        task = "检讨并修订风险管理制度（§7.4）"
        found.append(_Due("risk_review", row, 0, row.due_at, policy, who, QUALITY_STREAM, None, "风险管理", task))
    return found


_KINDS: tuple[Callable[[Session, datetime, tuple[str, ...]], list[_Due]], ...] = (
    _supervision,
    _complaints,
    _actions,
    _certificates,
    _risk_reviews,
)


def _fire(session: Session, due: _Due, now: datetime, heads: tuple[str, ...], report: SweepReport) -> list[_Notice]:
    steps: tuple[EscalationStep, ...] = get_policy(due.policy).steps
    row = due.row
    found = step_due(due.due, steps, row.escalation_step, now)
    if found is None:
        row.next_escalation_at = next_fire(due.due, steps, row.escalation_step)
        return []
    step = steps[found.index]
    recipients = audience(step.notify, due.who, heads)
    for index in (found.index, *found.skipped):
        session.add(
            Escalation(
                project_id=due.project.id if due.project else None,
                subject=due.subject,
                subject_id=row.id,
                round=due.round,
                gate_step=0,
                step=steps[index].key,
                fired_at=now,
                recipients=recipients if index == found.index else [],
                skipped=index != found.index,
            )
        )
    append_event(
        session,
        due.stream,
        "deadline.escalated",
        actor="deadline-watch",
        at=now,
        payload={
            "subject": due.subject,
            "id": row.id,
            "round": due.round,
            "step": step.key,
            "skipped": [steps[i].key for i in found.skipped],
            "recipients": recipients,
        },
    )
    row.escalation_step = found.index + 1
    row.next_escalation_at = next_fire(due.due, steps, row.escalation_step)
    report.escalated += 1
    report.skipped_steps += len(found.skipped)
    item = {
        "project_id": due.project.id if due.project else "",
        "project_name": due.project.name if due.project else "",
        "stage": due.label,
        "task": due.task,
        "due": local(due.due),
        "step": step.title,
    }
    key = f"esc:{due.subject}:{row.id}:r{due.round}:{step.key}"
    return [_Notice(person_id, due.project, f"{key}:to:{person_id}", item, step.urgent) for person_id in recipients]


def _send(session: Session, notices: list[_Notice], now: datetime, digest: bool) -> int:
    """One `quality_due` message per person per sweep (or per record without digests)."""
    by_person: dict[str, list[_Notice]] = defaultdict(list)
    for notice in notices:
        by_person[notice.to].append(notice)
    added = 0
    for person_id, mine in by_person.items():
        person = session.get_one(Person, person_id)
        for group in [mine] if digest else [[n] for n in mine]:
            keys = sorted(n.key for n in group)
            key = keys[0] if len(keys) == 1 else "qdigest:" + hashlib.sha256("|".join(keys).encode()).hexdigest()[:24]
            projects = {n.project.id if n.project else "" for n in group}
            project = group[0].project if len(projects) == 1 else None
            added += enqueue(
                session,
                key=key,
                recipient=person,
                template="quality_due",
                context=quality_context(project, items=[n.item for n in group]),
                now=now,
                project_id=project.id if project else None,
                urgent=any(n.urgent for n in group),
            )
    return added


def sweep_quality(session: Session, now: datetime, report: SweepReport, digest: bool) -> int:
    """Inside the sweep's transaction: escalate every quality record now due; returns messages queued."""
    heads = tuple(directors(session))
    notices: list[_Notice] = []
    for kind in _KINDS:
        for due in kind(session, now, heads):
            notices += _fire(session, due, now, heads, report)
    return _send(session, notices, now, digest)
