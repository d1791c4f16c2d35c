"""Read models: what `swflow status` and `swflow inbox` show. Stable keys: see docs/cli-json.md."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, literal, or_, select
from sqlalchemy.orm import Session

from swflow.config.clock import iso
from swflow.db.engine import read_session
from swflow.db.snapshot import deferred_snapshots, form_title, stage_spec
from swflow.db.tables import Event, GateDecision, OutboxMessage, Person, Project, ProjectMember, Stage, WorkItem
from swflow.domain.people.records import get_person
from swflow.domain.projects.gates import deciders, gate_context
from swflow.domain.projects.project_view import ROLE_ORDER, count_kinds, due_words, worklist_order
from swflow.domain.projects.rules import ROLE_OF_STEP, GateContext, StageStatus, why_not_decide
from swflow.forms_spec.spec import is_survey_form

__all__ = ["project_status", "list_projects", "inbox", "inbox_view", "undelivered_decisions", "project_events"]


def project_status(project_id: str) -> dict[str, Any]:
    with read_session() as session:
        project = session.get(Project, project_id)
        if project is None:
            from swflow.config.errors import NotFoundError

            raise NotFoundError(f"没有项目 {project_id}")
        members = sorted(
            session.execute(select(ProjectMember).where(ProjectMember.project_id == project_id)).scalars(),
            key=lambda m: (ROLE_ORDER.get(m.role, 9), m.position),
        )
        stages = (
            session.execute(select(Stage).where(Stage.project_id == project_id).order_by(Stage.seq)).scalars().all()
        )
        items = (
            session.execute(select(WorkItem).where(WorkItem.project_id == project_id).order_by(WorkItem.id))
            .scalars()
            .all()
        )
        decisions = (
            session.execute(select(GateDecision).where(GateDecision.project_id == project_id).order_by(GateDecision.id))
            .scalars()
            .all()
        )
        messages = dict(
            session.execute(
                select(OutboxMessage.status, func.count())
                .where(OutboxMessage.project_id == project_id)
                .group_by(OutboxMessage.status)
            )
            .tuples()
            .all()
        )
        event_count = session.execute(
            select(func.count()).select_from(Event).where(Event.stream == f"project:{project_id}")
        ).scalar_one()
        stage_rows = []
        for stage in stages:
            stage_items = [i for i in items if i.stage_id == stage.id]
            if stage.status == StageStatus.OPEN:
                waiting_on = sorted(
                    {i.assignee_id for i in stage_items if i.round == stage.round and i.status == "open"}
                )
            elif stage.status == StageStatus.AWAITING_DECISION:
                waiting_on = [p.id for p in deciders(session, project, gate_context(session, project, stage))]
            elif stage.status == StageStatus.DECIDED:
                waiting_on = ["swflow"]
            else:
                waiting_on = []
            stage_rows.append(
                {
                    "key": stage.key,
                    "title": stage.title,
                    "status": stage.status,
                    "round": stage.round,
                    "gate": {"step": stage.gate_step, "assignee": stage.gate_assignee},
                    "opened_at": iso(stage.opened_at),
                    "due_at": iso(stage.due_at),
                    "closed_at": iso(stage.closed_at),
                    "waiting_on": waiting_on,
                    "work_items": [
                        {
                            "id": i.id,
                            "form": i.form_id,
                            "activity": i.activity,
                            "title": i.title,
                            "required": i.required,
                            "round": i.round,
                            "assignee": i.assignee_id,
                            "status": i.status,
                            "due_at": iso(i.due_at),
                            "submitted_at": iso(i.submitted_at),
                        }
                        for i in stage_items
                        if not is_survey_form(i.form_id)  # a survey's responses: `swflow survey show`
                    ],
                    "decisions": [
                        {
                            "id": d.id,
                            "round": d.round,
                            "step": d.step,
                            "outcome": d.outcome,
                            "by": d.decided_by,
                            "comment": d.comment,
                            "decided_at": iso(d.decided_at),
                            "applied": d.applied_at is not None,
                        }
                        for d in decisions
                        if d.stage_id == stage.id
                    ],
                }
            )
        return {
            "id": project.id,
            "name": project.name,
            "community": project.community,
            "template": {"id": project.template_id, "version": project.template_version},
            "status": project.status,
            "flow_run_id": project.flow_run_id,
            "run_state": project.run_state,
            "created_at": iso(project.created_at),
            "closed_at": iso(project.closed_at),
            "team": [{"person": m.person_id, "role": m.role} for m in members],
            "stages": stage_rows,
            "messages": {
                "sent": messages.get("sent", 0),
                "pending": messages.get("pending", 0),
                "failed": messages.get("failed", 0),
            },
            "events": event_count,
        }


def list_projects() -> list[dict[str, Any]]:
    with read_session() as session:
        projects = session.execute(select(Project).order_by(Project.created_at)).scalars()
        result = []
        for p in projects:
            current = (
                session.execute(
                    select(Stage)
                    .where(
                        Stage.project_id == p.id,
                        Stage.status.not_in([StageStatus.APPROVED, StageStatus.PENDING]),
                    )
                    .order_by(Stage.seq)
                )
                .scalars()
                .first()
            )
            result.append(
                {
                    "id": p.id,
                    "name": p.name,
                    "template": p.template_id,
                    "status": p.status,
                    "current_stage": current.key if current else None,
                    "current_stage_title": str(stage_spec(p, current.key)["title"]) if current else None,
                    "stage_status": current.status if current else None,
                    "run_state": p.run_state,
                }
            )
        return result


def _open_tasks(session: Session, person_id: str) -> list[tuple[WorkItem, Stage, Project]]:
    """The person's open work items of the current round of running projects (snapshots not loaded)."""
    return list(
        session.execute(
            select(WorkItem, Stage, Project)
            .join(Stage, Stage.id == WorkItem.stage_id)
            .join(Project, Project.id == WorkItem.project_id)
            .where(
                WorkItem.assignee_id == person_id,
                WorkItem.status == "open",
                WorkItem.round == Stage.round,
                Project.status == "running",
            )
            .order_by(WorkItem.due_at, WorkItem.id)
            .options(*deferred_snapshots())
        ).tuples()
    )


def _gates_for(session: Session, person: Person) -> list[tuple[Stage, Project, GateContext]]:
    """Gates waiting for the person now. The database narrows them to those the person could be the
    decider of (assignee, project supervisor, or a holder of a step's role); the rules decide."""
    group_role = bool({"supervisor", "director"} & set(person.roles))
    could = or_(
        Stage.gate_assignee == person.id,
        and_(Stage.gate_assignee.is_(None), or_(Project.supervisor_id == person.id, literal(group_role))),
    )
    candidates = session.execute(
        select(Stage, Project)
        .join(Project, Project.id == Stage.project_id)
        .where(Stage.status == StageStatus.AWAITING_DECISION, Project.status == "running", could)
        .order_by(Stage.id)
        .options(*deferred_snapshots())
    ).tuples()
    found = []
    for stage, project in candidates:
        steps = stage_spec(project, stage.key)["gate"]["steps"]
        kind = steps[min(stage.gate_step, len(steps)) - 1]
        if stage.gate_assignee is None:  # cheap checks first: the step's decider by kind
            if kind == "supervisor" and project.supervisor_id != person.id:
                continue
            if kind != "supervisor" and ROLE_OF_STEP[kind] not in person.roles:
                continue
        gate = gate_context(session, project, stage)
        if why_not_decide(gate, person.id, person.roles) is None:
            found.append((stage, project, gate))
    return found


def inbox(person_id: str) -> dict[str, Any]:
    """Open work items assigned to the person, and gates they may decide now."""
    with read_session() as session:
        person = get_person(session, person_id)
        open_tasks = _open_tasks(session, person_id)
        returns = _returns(session, [w for w, _, _ in open_tasks])
        tasks = [
            {
                "item_id": w.id,
                "project": p.id,
                "project_name": p.name,
                "stage": s.key,
                "stage_title": s.title,
                "round": w.round,
                "form": w.form_id,
                "form_title": form_title(p, w.form_id),
                "activity": w.activity,
                "title": w.title or form_title(p, w.form_id),
                "due_at": iso(w.due_at),
                "returned": _returned(returns.get((w.stage_id, w.round))),
            }
            for w, s, p in open_tasks
        ]
        decisions = [
            {"project": p.id, "project_name": p.name, "stage": s.key, "stage_title": s.title, "round": s.round}
            for s, p, _ in _gates_for(session, person)
        ]
        return {"person": person_id, "name": person.name, "tasks": tasks, "decisions": decisions}


def _returned(decision: GateDecision | None) -> dict[str, Any] | None:
    """The return that opened a revision round: who, what they asked, when."""
    if decision is None:
        return None
    return {"by": decision.decided_by, "comment": decision.comment, "at": iso(decision.decided_at)}


def _returns(session: Session, items: list[WorkItem]) -> dict[tuple[int, int], GateDecision]:
    """The return that opened each revision round among `items`, by (stage id, round), in one query."""
    wanted = {(i.stage_id, i.round - 1) for i in items if i.round > 1}
    if not wanted:
        return {}
    rows = session.execute(
        select(GateDecision)
        .where(GateDecision.stage_id.in_({stage for stage, _ in wanted}), GateDecision.outcome == "return")
        .order_by(GateDecision.id)
    ).scalars()
    return {(d.stage_id, d.round + 1): d for d in rows if (d.stage_id, d.round) in wanted}  # the last one wins


def inbox_view(person_id: str, now: datetime, project: str | None = None, stage: str | None = None) -> dict[str, Any]:
    """我的待办 as the web page shows it: work items and decisions in one list, overdue first then by
    due time, each deadline worded in working days at `now`; a revision round carries the return
    comment; `project` and `stage` narrow the list (the choices and `total` stay those of the whole)."""
    rows: list[dict[str, Any]] = []
    with read_session() as session:
        person = get_person(session, person_id)
        tasks = _open_tasks(session, person_id)
        returns = _returns(session, [w for w, _, _ in tasks])
        for item, s, p in tasks:
            returned = returns.get((item.stage_id, item.round))
            title = form_title(p, item.form_id)
            rows.append(
                {
                    "item_id": item.id,
                    "project": p.id,
                    "project_name": p.name,
                    "stage": s.key,
                    "stage_title": s.title,
                    "round": item.round,
                    "form": item.form_id,
                    "form_title": title,
                    "due_at": iso(item.due_at),
                    "kind": "work",
                    "activity": item.activity,
                    "title": item.title or title,
                    "returned": _returned(returned),
                    "due": due_words(item.due_at, now).as_dict(),
                }
            )
        for s, p, gate in _gates_for(session, person):
            rows.append(
                {
                    "project": p.id,
                    "project_name": p.name,
                    "stage": s.key,
                    "stage_title": s.title,
                    "round": s.round,
                    "kind": "decision",
                    "title": f"审核：{s.title} 第 {s.round} 轮",
                    "step": gate.step_label(),
                    "claimable": gate.is_group_step and gate.assignee is None,
                    "assignee": gate.assignee,
                    "due_at": iso(s.gate_due_at),
                    "due": due_words(s.gate_due_at, now).as_dict(),
                }
            )
    rows.sort(key=worklist_order)
    shown = [r for r in rows if project in (None, r["project"]) and stage in (None, r["stage"])]
    return {
        "person": person_id,
        "name": person.name,
        "rows": shown,
        "counts": count_kinds(shown),
        "total": len(rows),
        "projects": {r["project"]: r["project_name"] for r in rows},
        "stages": {r["stage"]: r["stage_title"] for r in rows},
        "filter": {"project": project, "stage": stage},
    }


def undelivered_decisions() -> list[tuple[str, str, int]]:
    """(flow_run_id, stage key, decision id) of decisions the flow has not applied yet."""
    with read_session() as session:
        rows = (
            session.execute(
                select(Project.flow_run_id, Stage.key, GateDecision.id)
                .join(Stage, Stage.id == GateDecision.stage_id)
                .join(Project, Project.id == GateDecision.project_id)
                .where(GateDecision.applied_at.is_(None), Project.flow_run_id.is_not(None))
            )
            .tuples()
            .all()
        )
        return [(str(run), key, did) for run, key, did in rows]


def project_events(project_id: str) -> list[dict[str, Any]]:
    with read_session() as session:
        rows = session.execute(
            select(Event).where(Event.stream == f"project:{project_id}").order_by(Event.seq)
        ).scalars()
        return [
            {
                "seq": e.seq,
                "kind": e.kind,
                "actor": e.actor,
                "at": e.at,
                "flow_run_id": e.flow_run_id,
                "run_state": e.run_state,
                "payload": e.payload,
                "hash": e.hash,
            }
            for e in rows
        ]


def pinned_forms(project_id: str) -> dict[str, Any]:
    """The form specs the project was launched with (its snapshot), by form id."""
    with read_session() as session:
        return dict(session.get_one(Project, project_id).forms_snapshot)
