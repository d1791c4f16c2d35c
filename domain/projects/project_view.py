"""The project page's read model (team, stages planned and actual, the gate and who it waits on,
decisions with their comments, messages sent) and the pure helpers the web pages share: a deadline
in working days ("还剩 2 个工作日", "今天截止", "已逾期 3 个工作日"), the order of a worklist and its
counts. Times are kept in UTC ISO (as `status --json`); pages show them in Beijing time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from swflow.config.calendar import BusinessCalendar, default_calendar
from swflow.config.clock import SHANGHAI, iso
from swflow.config.errors import NotFoundError, RefusedError
from swflow.db.engine import read_session
from swflow.db.snapshot import stage_spec
from swflow.db.tables import GateDecision, OutboxMessage, Person, Project, ProjectMember, Stage, WorkItem
from swflow.domain.people.visibility import may_see_sensitive
from swflow.domain.projects.gates import deciders, gate_context
from swflow.domain.projects.rules import StageStatus
from swflow.domain.projects.survey_values import survey_counts
from swflow.domain.projects.visibility import why_not_see_project

__all__ = [
    "DueWords",
    "working_days_after",
    "due_words",
    "worklist_order",
    "count_kinds",
    "why_not_see",
    "project_view",
]

ROLE_ORDER = {"manager": 0, "supervisor": 1, "worker": 2, "evaluator": 3}  # how a project's members are listed


@dataclass(frozen=True)
class DueWords:
    """A deadline as a person reads it. `state`: overdue, today, soon (≤ 2 working days), later, none."""

    state: str
    text: str
    days: int  # working days left (soon, later) or late (overdue); 0 otherwise

    @property
    def overdue(self) -> bool:
        return self.state == "overdue"

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "text": self.text, "days": self.days, "overdue": self.overdue}


def working_days_after(start: date, end: date, calendar: BusinessCalendar | None = None) -> int:
    """How many working days d there are with start < d <= end (0 when end is not after start)."""
    return (calendar or default_calendar()).working_days_between(start, end)


def due_words(due: datetime | None, now: datetime, calendar: BusinessCalendar | None = None) -> DueWords:
    """Word a deadline at `now` in working days of the business calendar (Asia/Shanghai)."""
    if due is None:
        return DueWords("none", "无期限", 0)
    local_due, today = due.astimezone(SHANGHAI), now.astimezone(SHANGHAI).date()
    if now > due:
        late = working_days_after(local_due.date(), today, calendar)
        if late == 0:
            return DueWords("overdue", f"已逾期（今天 {local_due:%H:%M} 截止）", 0)
        return DueWords("overdue", f"已逾期 {late} 个工作日", late)
    if local_due.date() == today:
        return DueWords("today", f"今天截止（{local_due:%H:%M}）", 0)
    left = working_days_after(today, local_due.date(), calendar)
    if left == 0:  # due on a coming day off: no working day before it
        return DueWords("soon", f"{local_due.month}月{local_due.day}日 截止（此前没有工作日）", 0)
    return DueWords("soon" if left <= 2 else "later", f"还剩 {left} 个工作日", left)


def worklist_order(row: Mapping[str, Any]) -> tuple[int, str, str, int, str]:
    """Overdue first, then by due time (none last), then project, work before decisions, title."""
    overdue = bool(row["due"]["overdue"])
    return (0 if overdue else 1, row.get("due_at") or "9999", row["project"], row["kind"] != "work", row["title"])


def count_kinds(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many rows of each kind, and how many are overdue."""
    counts = {"work": 0, "decision": 0, "overdue": 0}
    for row in rows:
        counts[row["kind"]] += 1
        counts["overdue"] += bool(row["due"]["overdue"])
    return counts


def _project(session: Session, project_id: str) -> Project:
    project = session.get(Project, project_id, options=[defer(Project.forms_snapshot)])  # ~70 KB, not shown
    if project is None:
        raise NotFoundError(f"没有项目 {project_id}")
    return project


def _stage_deciders(session: Session, project: Project, stages: Iterable[Stage]) -> dict[str, list[str]]:
    """Who each stage waits on now: the open items' assignees, or the gate's decider(s)."""
    waiting: dict[str, list[str]] = {}
    for stage in stages:
        if stage.status == StageStatus.AWAITING_DECISION:
            waiting[stage.key] = [p.id for p in deciders(session, project, gate_context(session, project, stage))]
        elif stage.status == StageStatus.OPEN:
            waiting[stage.key] = sorted(
                set(
                    session.execute(
                        select(WorkItem.assignee_id).where(
                            WorkItem.stage_id == stage.id, WorkItem.round == stage.round, WorkItem.status == "open"
                        )
                    ).scalars()
                )
            )
    return waiting


def _refusal(session: Session, project: Project, viewer_id: str, stages: list[Stage]) -> str | None:
    viewer = session.get(Person, viewer_id)
    if viewer is None:
        raise NotFoundError(f"没有人员 {viewer_id}")
    team = set(session.execute(select(ProjectMember.person_id).where(ProjectMember.project_id == project.id)).scalars())
    decided = set(
        session.execute(select(GateDecision.decided_by).where(GateDecision.project_id == project.id)).scalars()
    )
    gated = [s for s in stages if s.status == StageStatus.AWAITING_DECISION]
    waited = {p for ids in _stage_deciders(session, project, gated).values() for p in ids}
    return why_not_see_project(project.id, viewer_id, viewer.roles, viewer.active, team, decided | waited)


def _stages(session: Session, project_id: str) -> list[Stage]:
    return list(session.execute(select(Stage).where(Stage.project_id == project_id).order_by(Stage.seq)).scalars())


def why_not_see(project_id: str, viewer_id: str) -> str | None:
    """Why the person may not open the project's page or dossier, or None."""
    with read_session() as session:
        project = _project(session, project_id)
        return _refusal(session, project, viewer_id, _stages(session, project_id))


def project_view(project_id: str, viewer_id: str, now: datetime) -> dict[str, Any]:
    """Everything the project page shows, for a viewer who may see the project (else RefusedError)."""
    with read_session() as session:
        project = _project(session, project_id)
        stages = _stages(session, project_id)
        if (refused := _refusal(session, project, viewer_id, stages)) is not None:
            raise RefusedError(refused)
        members = list(session.execute(select(ProjectMember).where(ProjectMember.project_id == project_id)).scalars())
        members.sort(key=lambda m: (ROLE_ORDER.get(m.role, 9), m.position))
        decisions = list(
            session.execute(
                select(GateDecision).where(GateDecision.project_id == project_id).order_by(GateDecision.id)
            ).scalars()
        )
        messages = list(
            session.execute(
                select(OutboxMessage)
                .where(OutboxMessage.project_id == project_id)
                .order_by(OutboxMessage.id)
                .options(defer(OutboxMessage.context))
            ).scalars()
        )
        waiting = _stage_deciders(session, project, stages)
        ids = {m.person_id for m in members} | {d.decided_by for d in decisions} | {m.recipient_id for m in messages}
        ids |= {p for people in waiting.values() for p in people} | {s.gate_assignee for s in stages if s.gate_assignee}
        names = dict(session.execute(select(Person.id, Person.name).where(Person.id.in_(ids))).tuples().all())
        titles = {s.id: s.title for s in stages}
        clear = may_see_sensitive(session, project, viewer_id)  # comments may name a service recipient
        current = next((s for s in stages if s.status in (StageStatus.OPEN, StageStatus.AWAITING_DECISION)), None)
        return {
            "id": project.id,
            "name": project.name,
            "community": project.community,
            "template": {"id": project.template_id, "version": project.template_version},
            "template_title": project.template_snapshot.get("title", project.template_id),
            "status": project.status,
            "created_at": iso(project.created_at),
            "closed_at": iso(project.closed_at),
            "sensitive_visible": clear,
            "names": names,
            "team": [{"person": m.person_id, "name": names.get(m.person_id), "role": m.role} for m in members],
            "stages": [_stage_row(project, s, waiting, now) for s in stages],
            "surveys": survey_counts(session, project),
            "current": None if current is None else _current(session, project, current, waiting, now),
            "decisions": [
                {
                    "stage": titles.get(d.stage_id, ""),
                    "round": d.round,
                    "step": d.step,
                    "outcome": d.outcome,
                    "by": d.decided_by,
                    "comment": d.comment if clear else None,
                    "decided_at": iso(d.decided_at),
                }
                for d in decisions
            ],
            "messages": [
                {
                    "template": m.template,
                    "recipient": m.recipient_id,
                    "status": m.status,
                    "urgent": m.urgent,
                    "attempts": m.attempts,
                    "created_at": iso(m.created_at),
                    "sent_at": iso(m.sent_at),
                }
                for m in messages
            ],
        }


def _stage_row(project: Project, stage: Stage, waiting: Mapping[str, list[str]], now: datetime) -> dict[str, Any]:
    live = stage.status in (StageStatus.OPEN, StageStatus.AWAITING_DECISION)
    late = None if stage.closed_at is None or stage.due_at is None else stage.closed_at > stage.due_at
    return {
        "key": stage.key,
        "title": stage.title,
        "status": stage.status,
        "round": stage.round,
        "planned_days": stage_spec(project, stage.key).get("duration_days"),
        "opened_at": iso(stage.opened_at),
        "due_at": iso(stage.due_at),
        "closed_at": iso(stage.closed_at),
        "closed_late": late,
        "due": due_words(stage.due_at, now).as_dict() if live else None,
        "waiting_on": list(waiting.get(stage.key, [])),
    }


def _current(
    session: Session, project: Project, stage: Stage, waiting: Mapping[str, list[str]], now: datetime
) -> dict[str, Any]:
    """The stage in hand: forms being filled, or the gate and its step."""
    row: dict[str, Any] = {"key": stage.key, "title": stage.title, "status": stage.status, "round": stage.round}
    row["waiting_on"] = list(waiting.get(stage.key, []))
    if stage.status == StageStatus.AWAITING_DECISION:
        gate = gate_context(session, project, stage)
        row |= {
            "step": gate.step_label(),
            "assignee": gate.assignee,
            "group": gate.is_group_step and gate.assignee is None,
            "due_at": iso(stage.gate_due_at),
            "due": due_words(stage.gate_due_at, now).as_dict(),
        }
    else:
        row |= {"step": None, "assignee": None, "group": False, "due_at": iso(stage.due_at)}
        row["due"] = due_words(stage.due_at, now).as_dict()
    return row
