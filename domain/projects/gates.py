"""Gate acts: decide (approve, return, reject), claim, delegate — checked, recorded, announced.

A decision that ends the round (the last approval, a return, a rejection) sets the stage to
`decided`; the flow applies it when resumed. An approval of an earlier step moves the gate on.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from swflow.config.errors import AlreadyDecidedError, FormError, RefusedError
from swflow.config.settings import get_settings
from swflow.db.chain import canonical_json
from swflow.db.engine import unit_of_work
from swflow.db.journal import append_event, project_stream
from swflow.db.snapshot import stage_spec
from swflow.db.tables import FormSubmission, GateDecision, Person, Project, Stage, WorkItem
from swflow.domain.deadlines.schedule import schedule_gate
from swflow.domain.outbox.context import message_context
from swflow.domain.outbox.records import enqueue
from swflow.domain.outbox.relevance import about_stage
from swflow.domain.people.links import issue_link, link_url
from swflow.domain.people.records import get_person
from swflow.domain.people.rules import qualification_problem
from swflow.domain.projects.rules import (
    ROLE_OF_STEP,
    GateContext,
    ProjectStatus,
    StageStatus,
    why_not_claim,
    why_not_decide,
    why_not_delegate,
)
from swflow.domain.projects.stages import find_stage, lock_project

__all__ = [
    "Decided",
    "Outcome",
    "check_comment",
    "decide_in",
    "record_decision",
    "claim_gate",
    "delegate_gate",
    "gate_context",
    "notify_approvers",
    "deciders",
]

Outcome = Literal["approve", "return", "reject"]


class Decided(BaseModel):
    decision_id: int
    stage: str
    round: int
    step: int
    outcome: str
    final: bool
    flow_run_id: str | None


def gate_context(session: Session, project: Project, stage: Stage) -> GateContext:
    open_forms = session.execute(
        select(WorkItem.form_id).where(
            WorkItem.stage_id == stage.id, WorkItem.round == stage.round, WorkItem.status == "open"
        )
    ).scalars()
    submitters = session.execute(
        select(FormSubmission.submitted_by)
        .join(WorkItem, WorkItem.id == FormSubmission.work_item_id)
        .where(WorkItem.stage_id == stage.id)
    ).scalars()
    earlier = session.execute(
        select(GateDecision.decided_by).where(
            GateDecision.stage_id == stage.id, GateDecision.round == stage.round, GateDecision.step < stage.gate_step
        )
    ).scalars()
    gate = stage_spec(project, stage.key)["gate"]
    return GateContext(
        stage_title=stage.title,
        stage_status=stage.status,
        steps=tuple(gate["steps"]),
        step=stage.gate_step,
        assignee=stage.gate_assignee,
        supervisor_id=project.supervisor_id,
        manager_id=project.manager_id,
        manager_may_decide=bool(gate["manager_may_decide"]),
        submitters=frozenset(submitters),
        earlier_deciders=frozenset(earlier),
        open_forms=tuple(open_forms),
    )


def deciders(session: Session, project: Project, gate: GateContext) -> list[Person]:
    """Who the current step waits on: the assignee, the project supervisor, or the role group."""
    if gate.assignee:
        return [session.get_one(Person, gate.assignee)]
    if gate.step_kind == "supervisor":
        return [session.get_one(Person, project.supervisor_id)]
    role = ROLE_OF_STEP[gate.step_kind]
    people = session.execute(select(Person).where(Person.active.is_(True)).order_by(Person.id)).scalars()
    manager = set() if gate.manager_may_decide else {project.manager_id}
    excluded = gate.submitters | gate.earlier_deciders | manager
    return [p for p in people if role in p.roles and p.id not in excluded]


def _decide_link(session: Session, project: Project, stage: Stage, person_id: str, now: datetime) -> str:
    """A one-tap link for one decider, bound to this gate's round and step (ids only). Without the
    agency's signing key (a home never served) there is no link: the message names the gate page."""
    if get_settings().web_secret is None:
        return ""
    subject = {"project": project.id, "stage": stage.key, "round": stage.round, "step": stage.gate_step}
    return link_url("decide", issue_link(session, person_id, "decide", subject, now))


def notify_approvers(session: Session, project: Project, stage: Stage, now: datetime) -> None:
    """Ask the current step's decider(s) for a decision; the message carries no sensitive field."""
    gate = gate_context(session, project, stage)
    submitted = session.execute(
        select(WorkItem.form_id).where(WorkItem.stage_id == stage.id, WorkItem.round == stage.round)
    ).scalars()
    previous = session.execute(
        select(GateDecision.comment).where(
            GateDecision.stage_id == stage.id, GateDecision.round == stage.round - 1, GateDecision.outcome == "return"
        )
    ).scalar_one_or_none()
    for person in deciders(session, project, gate):
        enqueue(
            session,
            key=f"{project.id}:{stage.key}:r{stage.round}:s{stage.gate_step}:approval:{person.id}",
            recipient=person,
            template="approval_requested",
            about=about_stage(stage, [StageStatus.AWAITING_DECISION], gate_step=stage.gate_step),
            context=message_context(
                project,
                page=f"/gates/{project.id}/{stage.key}",
                decide_link=_decide_link(session, project, stage, person.id, now),
                link_hours=get_settings().link_hours,
                stage=stage.title,
                stage_key=stage.key,
                round=stage.round,
                step=gate.step_label(),
                group=gate.is_group_step and not gate.assignee,
                forms=[project.forms_snapshot[f]["title"] for f in submitted],
                open_issue=previous or "",
            ),
            now=now,
            project_id=project.id,
        )


def _load(session: Session, project_id: str, stage_key: str) -> tuple[Project, Stage]:
    project = lock_project(session, project_id)
    stage = find_stage(session, project_id, stage_key)
    if project.status != ProjectStatus.RUNNING:
        raise RefusedError(f"项目 {project_id} 已结束（{project.status}）")
    return project, stage


def _check_redo(project: Project, stage: Stage, redo: list[str]) -> list[str] | None:
    if not redo:
        return None
    forms = list(stage_spec(project, stage.key)["forms"])
    unknown = [f for f in redo if f not in forms]
    if unknown:
        raise FormError(
            f"--redo：{'、'.join(unknown)} 不是阶段「{stage.title}」的表单（可选：{'、'.join(forms)}）",
            [("--redo", "必须是本阶段的表单")],
        )
    return redo


def check_comment(outcome: str, comment: str) -> None:
    if outcome in ("return", "reject") and not comment.strip():
        raise FormError("--comment：退回或否决时必须填写意见", [("--comment", "必填")])


def _pinned(session: Session, stage: Stage) -> list[list[Any]]:
    """What this decision approves or returns: the round's latest submissions, (id, data sha256)."""
    rows = session.execute(
        select(FormSubmission.id, FormSubmission.data)
        .join(WorkItem, WorkItem.submission_id == FormSubmission.id)
        .where(WorkItem.stage_id == stage.id, WorkItem.round == stage.round)
        .order_by(FormSubmission.id)
    ).tuples()
    return [[sid, hashlib.sha256(canonical_json(data).encode()).hexdigest()] for sid, data in rows]


def decide_in(
    session: Session,
    project_id: str,
    stage_key: str,
    person_id: str,
    outcome: Outcome,
    comment: str,
    now: datetime,
    redo: list[str] | None = None,
) -> Decided:
    """Inside the caller's transaction: check who decides and record it (a door's act around it)."""
    check_comment(outcome, comment)
    project, stage = _load(session, project_id, stage_key)
    person = get_person(session, person_id)
    if stage.status == StageStatus.DECIDED:
        raise AlreadyDecidedError(f"阶段「{stage.title}」第 {stage.round} 轮已有决定（already decided）")
    gate = gate_context(session, project, stage)
    if reason := why_not_decide(gate, person_id, person.roles):
        raise RefusedError(reason)
    redo_forms = _check_redo(project, stage, redo or []) if outcome == "return" else None
    final = outcome != "approve" or stage.gate_step >= len(gate.steps)
    decision = GateDecision(
        project_id=project.id,
        stage_id=stage.id,
        round=stage.round,
        step=stage.gate_step,
        outcome=outcome,
        decided_by=person_id,
        comment=comment,
        decided_at=now,
        redo_forms=redo_forms,
        applied_at=None if final else now,
    )
    session.add(decision)
    session.flush()
    append_event(
        session,
        project_stream(project.id),
        "gate.decided" if final else "gate.step_approved",
        actor=person_id,
        at=now,
        flow_run_id=project.flow_run_id,
        payload={
            "stage": stage.key,
            "round": stage.round,
            "step": stage.gate_step,
            "outcome": outcome,
            "comment": comment,
            "decision_id": decision.id,
            "redo": redo_forms,
            "on_behalf_of": project.supervisor_id if gate.assignee and gate.step_kind == "supervisor" else None,
            "submissions": _pinned(session, stage),
        },
    )
    if final:
        stage.status, stage.gate_next_escalation_at = StageStatus.DECIDED, None
    else:
        stage.gate_step, stage.gate_assignee = stage.gate_step + 1, None
        schedule_gate(project, stage, now)
        notify_approvers(session, project, stage, now)
    return Decided(
        decision_id=decision.id,
        stage=stage.key,
        round=decision.round,
        step=decision.step,
        outcome=outcome,
        final=final,
        flow_run_id=project.flow_run_id,
    )


def record_decision(
    project_id: str,
    stage_key: str,
    person_id: str,
    outcome: Outcome,
    comment: str,
    now: datetime,
    redo: list[str] | None = None,
) -> Decided:
    """Check who decides and record it; the flow applies a final decision when resumed."""
    check_comment(outcome, comment)
    try:
        with unit_of_work() as session:
            return decide_in(session, project_id, stage_key, person_id, outcome, comment, now, redo)
    except IntegrityError as exc:  # a concurrent decision won the unique (stage, round, step)
        raise AlreadyDecidedError(f"阶段 {stage_key} 本轮已有决定（already decided）") from exc


def claim_gate(project_id: str, stage_key: str, person_id: str, now: datetime) -> int:
    """A member of a role group takes the current step; returns the step claimed."""
    with unit_of_work() as session:
        project, stage = _load(session, project_id, stage_key)
        person = get_person(session, person_id)
        if reason := why_not_claim(gate_context(session, project, stage), person_id, person.roles):
            raise RefusedError(reason)
        stage.gate_assignee = person_id
        append_event(
            session,
            project_stream(project.id),
            "gate.claimed",
            actor=person_id,
            at=now,
            payload={"stage": stage.key, "round": stage.round, "step": stage.gate_step},
            flow_run_id=project.flow_run_id,
        )
        return stage.gate_step


def delegate_gate(project_id: str, stage_key: str, by: str, to: str, now: datetime) -> int:
    """The current decider hands the step to another qualified person of the same role."""
    with unit_of_work() as session:
        project, stage = _load(session, project_id, stage_key)
        giver, taker = get_person(session, by), get_person(session, to)
        gate = gate_context(session, project, stage)
        qualification = qualification_problem(to, taker.qualifications, now.date())
        if not taker.active:
            qualification = f"受托人 {to} 已停用"
        if reason := why_not_delegate(gate, by, giver.roles, to, taker.roles, qualification):
            raise RefusedError(reason)
        stage.gate_assignee = to
        append_event(
            session,
            project_stream(project.id),
            "gate.delegated",
            actor=by,
            at=now,
            payload={"stage": stage.key, "round": stage.round, "step": stage.gate_step, "from": by, "to": to},
            flow_run_id=project.flow_run_id,
        )
        if stage.status == StageStatus.AWAITING_DECISION:
            notify_approvers(session, project, stage, now)
        return stage.gate_step
