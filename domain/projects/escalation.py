"""Escalating a project's late work and waiting gates: the project kind of the deadline sweep
(`swflow.domain.agency.sweep` runs every kind in one pass).

A sweep reads only rows whose next escalation time has come (an indexed column), so its cost
grows with what is due, not with everything open. Each (item or gate, step) is written once to
`escalations` (unique); the messages it causes go to the outbox in the same transaction.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.config.clock import local_text
from swflow.config.escalation import EscalationStep
from swflow.db.journal import append_event, lock_streams, project_stream
from swflow.db.snapshot import stage_spec
from swflow.db.tables import Escalation, Person, Project, ProjectMember, Stage, WorkItem
from swflow.domain.deadlines.rules import next_fire, step_due
from swflow.domain.deadlines.schedule import SweepReport, policy_for, schedule_gate, schedule_item  # noqa: F401
from swflow.domain.outbox.context import message_context
from swflow.domain.outbox.records import enqueue
from swflow.domain.outbox.relevance import about_any, about_items, about_stage
from swflow.domain.projects.evaluators import evaluator_forms
from swflow.domain.projects.rules import StageStatus

__all__ = ["sweep_projects"]


@dataclass
class _Notice:
    project: Project
    stage: Stage
    task: str
    due: datetime
    step: EscalationStep
    key: str
    about: dict[str, Any]  # the late item or gate: once done, the notice is superseded


def _people(session: Session, project: Project, audience: str, assignees: list[str]) -> list[str]:
    if audience == "assignee":
        return assignees
    if audience == "manager":
        return [project.manager_id]
    if audience == "supervisor":
        return [project.supervisor_id]
    people = session.execute(select(Person).where(Person.active.is_(True)).order_by(Person.id)).scalars()
    return [p.id for p in people if "director" in p.roles]


def _record(
    session: Session,
    project: Project,
    subject: str,
    subject_id: int,
    round_: int,
    gate_step: int,
    steps: tuple[EscalationStep, ...],
    due: Any,
    now: datetime,
    recipients: list[str],
) -> None:
    handled = [(due.index, recipients, False)] + [(index, [], True) for index in due.skipped]
    session.add_all(
        Escalation(
            project_id=project.id,
            subject=subject,
            subject_id=subject_id,
            round=round_,
            gate_step=gate_step,
            step=steps[index].key,
            fired_at=now,
            recipients=people,
            skipped=skipped,
        )
        for index, people, skipped in handled
    )
    append_event(
        session,
        project_stream(project.id),
        "deadline.escalated",
        actor="deadline-watch",
        at=now,
        flow_run_id=project.flow_run_id,
        payload={
            "subject": subject,
            "id": subject_id,
            "round": round_,
            "gate_step": gate_step,
            "step": steps[due.index].key,
            "skipped": [steps[i].key for i in due.skipped],
            "recipients": recipients,
        },
    )


def _act(
    session: Session,
    project: Project,
    stage: Stage,
    item: WorkItem | None,
    step: EscalationStep,
    now: datetime,
    report: SweepReport,
) -> None:
    if step.action == "mark_at_risk" and not stage.at_risk:
        stage.at_risk = True
        report.at_risk.append(f"{project.id}/{stage.key}")
        append_event(
            session,
            project_stream(project.id),
            "stage.at_risk",
            actor="deadline-watch",
            at=now,
            payload={"stage": stage.key, "round": stage.round, "step": step.key},
            flow_run_id=project.flow_run_id,
        )
    # the evaluator's form (评估方) is never handed to a worker: they would grade their own project
    evaluators = item is not None and item.form_id in evaluator_forms(stage_spec(project, stage.key))
    if step.action == "reassign" and item is not None and not evaluators:
        team = list(
            session.execute(
                select(ProjectMember.person_id)
                .where(ProjectMember.project_id == project.id, ProjectMember.role == "worker")
                .order_by(ProjectMember.position)
            ).scalars()
        )
        backups = [p for p in team if p != item.assignee_id]
        if backups:
            previous, item.assignee_id = item.assignee_id, backups[0]
            report.reassigned.append(item.id)
            append_event(
                session,
                project_stream(project.id),
                "work_item.reassigned",
                actor="deadline-watch",
                at=now,
                payload={"item": item.id, "from": previous, "to": item.assignee_id},
                flow_run_id=project.flow_run_id,
            )


def _due_items(session: Session, now: datetime) -> list[tuple[WorkItem, Stage, Project]]:
    """The open work items with a step due, locked (another sweep's are skipped, not waited for)."""
    return list(
        session.execute(
            select(WorkItem, Stage, Project)
            .join(Stage, Stage.id == WorkItem.stage_id)
            .join(Project, Project.id == WorkItem.project_id)
            .where(WorkItem.status == "open", WorkItem.next_escalation_at <= now)
            .order_by(WorkItem.next_escalation_at)
            .with_for_update(skip_locked=True, of=WorkItem)
        )
        .tuples()
        .all()
    )


def _sweep_items(
    session: Session, rows: list[tuple[WorkItem, Stage, Project]], now: datetime, report: SweepReport
) -> list[tuple[str, _Notice]]:
    notices: list[tuple[str, _Notice]] = []
    for item, stage, project in rows:
        steps = policy_for(project, stage.key).steps
        if project.status != "running" or item.round != stage.round:
            item.next_escalation_at = None
            continue
        due = step_due(item.due_at, steps, item.escalation_step, now)
        if due is None:
            item.next_escalation_at = next_fire(item.due_at, steps, item.escalation_step)
            continue
        step = steps[due.index]
        recipients = sorted({p for a in step.notify for p in _people(session, project, a, [item.assignee_id])})
        _record(session, project, "item", item.id, item.round, 0, steps, due, now, recipients)
        task = item.title or project.forms_snapshot[item.form_id]["title"]
        key = f"esc:item:{item.id}:r{item.round}:{step.key}"
        about = about_items([item.id])
        notices += [(p, _Notice(project, stage, task, item.due_at, step, key, about)) for p in recipients]
        _act(session, project, stage, item, step, now, report)
        item.escalation_step = due.index + 1
        item.next_escalation_at = next_fire(item.due_at, steps, item.escalation_step)
        report.escalated += 1
        report.skipped_steps += len(due.skipped)
    return notices


def _due_gates(session: Session, now: datetime) -> list[tuple[Stage, Project]]:
    """The waiting gates with a step due, locked as the items are."""
    return list(
        session.execute(
            select(Stage, Project)
            .join(Project, Project.id == Stage.project_id)
            .where(Stage.status == "awaiting_decision", Stage.gate_next_escalation_at <= now)
            .order_by(Stage.gate_next_escalation_at)
            .with_for_update(skip_locked=True, of=Stage)
        )
        .tuples()
        .all()
    )


def _sweep_gates(
    session: Session, rows: list[tuple[Stage, Project]], now: datetime, report: SweepReport
) -> list[tuple[str, _Notice]]:
    from swflow.domain.projects.gates import deciders, gate_context

    notices: list[tuple[str, _Notice]] = []
    for stage, project in rows:
        steps = policy_for(project, stage.key).steps
        assert stage.gate_due_at is not None
        due = step_due(stage.gate_due_at, steps, stage.gate_escalation_step, now)
        if project.status != "running" or due is None:
            stage.gate_next_escalation_at = (
                None if project.status != "running" else next_fire(stage.gate_due_at, steps, stage.gate_escalation_step)
            )
            continue
        step = steps[due.index]
        waiting = [p.id for p in deciders(session, project, gate_context(session, project, stage))]
        recipients = sorted({p for a in step.notify for p in _people(session, project, a, waiting)})
        _record(session, project, "gate", stage.id, stage.round, stage.gate_step, steps, due, now, recipients)
        key = f"esc:gate:{stage.id}:r{stage.round}:s{stage.gate_step}:{step.key}"
        about = about_stage(stage, [StageStatus.AWAITING_DECISION], gate_step=stage.gate_step)
        notices += [
            (p, _Notice(project, stage, f"审核：{stage.title}", stage.gate_due_at, step, key, about))
            for p in recipients
        ]
        _act(session, project, stage, None, step, now, report)
        stage.gate_escalation_step = due.index + 1
        stage.gate_next_escalation_at = next_fire(stage.gate_due_at, steps, stage.gate_escalation_step)
        report.escalated += 1
        report.skipped_steps += len(due.skipped)
    return notices


def _send(session: Session, notices: list[tuple[str, _Notice]], now: datetime, digest: bool) -> int:
    by_person: dict[str, list[_Notice]] = defaultdict(list)
    for person_id, notice in notices:
        by_person[person_id].append(notice)
    added = 0
    for person_id, items in by_person.items():
        person = session.get_one(Person, person_id)
        groups = [items] if digest else [[n] for n in items]
        for group in groups:
            keys = sorted(n.key for n in group)
            key = (
                keys[0] if len(keys) == 1 else "esc-digest:" + hashlib.sha256("|".join(keys).encode()).hexdigest()[:24]
            )
            first = group[0]
            added += enqueue(
                session,
                key=f"{key}:to:{person_id}",
                recipient=person,
                template="deadline_digest",
                about=about_any([n.about for n in group]),
                context=message_context(
                    first.project,
                    items=[
                        {
                            "project_id": n.project.id,
                            "project_name": n.project.name,
                            "stage": n.stage.title,
                            "task": n.task,
                            "due": local_text(n.due),
                            "step": n.step.title,
                        }
                        for n in group
                    ],
                ),
                now=now,
                project_id=first.project.id if len({n.project.id for n in group}) == 1 else None,
                urgent=any(n.step.urgent for n in group),
            )
    return added


def sweep_projects(session: Session, now: datetime, report: SweepReport, digest: bool) -> int:
    """Escalate every work item and waiting gate whose next step is due; returns messages queued."""
    items, gates = _due_items(session, now), _due_gates(session, now)
    # every project stream this sweep will append to, taken at once in one order: two sweeps that
    # split the due rows between them (one the items, one the gates) cannot deadlock on the heads
    lock_streams(session, [project_stream(p.id) for *_, p in items] + [project_stream(p.id) for _, p in gates])
    notices = _sweep_items(session, items, now, report) + _sweep_gates(session, gates, now, report)
    return _send(session, notices, now, digest)
