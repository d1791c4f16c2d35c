"""The acts people perform: submit a form, decide a gate."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config.errors import AlreadyDecidedError, FormError, NotFoundError, RefusedError
from forms_spec import FormSpec, validate_submission

from .chain import canonical_json
from .db import unit_of_work
from .journal import append_event, project_stream
from .messages import message_context
from .models import FormSubmission, GateDecision, Person, Project, Stage, WorkItem
from .outbox import enqueue
from .people import get_person
from .rules import GateContext, ProjectStatus, StageStatus, why_not_decide, why_not_submit
from .stages import find_stage, lock_project, stage_spec

__all__ = ["Submitted", "Decided", "submit_form", "record_decision"]


class Submitted(BaseModel):
    submission_id: int
    stage: str
    round: int
    stage_complete: bool


class Decided(BaseModel):
    decision_id: int
    stage: str
    round: int
    outcome: str
    flow_run_id: str | None


def _stage_of_form(session: Session, project: Project, form_id: str) -> Stage:
    for spec in project.template_snapshot["stages"]:
        if form_id in spec["forms"]:
            return find_stage(session, project.id, spec["key"])
    raise NotFoundError(f"项目 {project.id} 的模板里没有表单 {form_id}")


def submit_form(project_id: str, form_id: str, person_id: str, data: Any, now: datetime) -> Submitted:
    """Validate against the pinned form version and record; the last form in asks for a decision."""
    with unit_of_work() as session:
        project = lock_project(session, project_id)
        get_person(session, person_id)
        if project.status != ProjectStatus.RUNNING:
            raise RefusedError(f"项目 {project_id} 已结束（{project.status}），不能再提交")
        stage = _stage_of_form(session, project, form_id)
        item = session.execute(
            select(WorkItem).where(
                WorkItem.stage_id == stage.id,
                WorkItem.form_id == form_id,
                WorkItem.round == stage.round,
            )
        ).scalar_one_or_none()
        reason = why_not_submit(
            stage.status, stage.title, item is not None and item.assignee_id == person_id, person_id
        )
        if reason or item is None:
            raise RefusedError(reason or f"阶段「{stage.title}」尚未开放")
        form = FormSpec.model_validate(project.forms_snapshot[form_id])
        clean = validate_submission(form, data)
        submission = FormSubmission(
            work_item_id=item.id,
            project_id=project.id,
            form_id=form_id,
            form_version=form.version,
            round=stage.round,
            data=clean,
            submitted_by=person_id,
            submitted_at=now,
        )
        session.add(submission)
        session.flush()
        resubmitted = item.status == "submitted"
        item.status, item.submitted_at, item.submission_id = "submitted", now, submission.id
        append_event(
            session,
            project_stream(project.id),
            "form.resubmitted" if resubmitted else "form.submitted",
            actor=person_id,
            at=now,
            payload={
                "stage": stage.key,
                "round": stage.round,
                "form": form_id,
                "form_version": form.version,
                "submission_id": submission.id,
                "data_sha256": hashlib.sha256(canonical_json(clean).encode()).hexdigest(),
            },
            flow_run_id=project.flow_run_id,
        )
        session.flush()
        open_left = session.execute(
            select(WorkItem.id).where(
                WorkItem.stage_id == stage.id,
                WorkItem.round == stage.round,
                WorkItem.status == "open",
            )
        ).first()
        if open_left is None and stage.status == StageStatus.OPEN:
            stage.status = StageStatus.AWAITING_DECISION
            _ask_for_decision(session, project, stage, now)
        return Submitted(
            submission_id=submission.id,
            stage=stage.key,
            round=stage.round,
            stage_complete=open_left is None,
        )


def _ask_for_decision(session: Session, project: Project, stage: Stage, now: datetime) -> None:
    append_event(
        session,
        project_stream(project.id),
        "gate.awaiting",
        actor="swflow",
        at=now,
        payload={"stage": stage.key, "round": stage.round},
        flow_run_id=project.flow_run_id,
    )
    enqueue(
        session,
        key=f"{project.id}:{stage.key}:r{stage.round}:approval",
        recipient=session.get_one(Person, project.supervisor_id),
        template="approval_requested",
        context=message_context(project, stage=stage.title, stage_key=stage.key, round=stage.round),
        now=now,
        project_id=project.id,
    )


def _gate_context(session: Session, project: Project, stage: Stage) -> GateContext:
    items = (
        session.execute(select(WorkItem).where(WorkItem.stage_id == stage.id, WorkItem.round == stage.round))
        .scalars()
        .all()
    )
    submitters = session.execute(
        select(FormSubmission.submitted_by)
        .join(WorkItem, WorkItem.id == FormSubmission.work_item_id)
        .where(WorkItem.stage_id == stage.id)
    ).scalars()
    spec = stage_spec(project, stage.key)
    return GateContext(
        stage_title=stage.title,
        stage_status=stage.status,
        approvers=tuple(spec["gate"]["approvers"]),  # type: ignore[index]
        supervisor_id=project.supervisor_id,
        manager_id=project.manager_id,
        submitters=frozenset(submitters),
        open_forms=tuple(i.form_id for i in items if i.status == "open"),
    )


def record_decision(
    project_id: str,
    stage_key: str,
    person_id: str,
    outcome: Literal["approve", "return", "reject"],
    comment: str,
    now: datetime,
) -> Decided:
    """Check who decides and record it; the flow applies it when resumed (DESIGN.md §3)."""
    if outcome in ("return", "reject") and not comment.strip():
        field = "--comment"
        raise FormError(f"{field}：退回或否决时必须填写意见", [(field, "必填")])
    try:
        with unit_of_work() as session:
            project = lock_project(session, project_id)
            person = get_person(session, person_id)
            stage = find_stage(session, project_id, stage_key)
            if stage.status == StageStatus.DECIDED:
                raise AlreadyDecidedError(f"阶段「{stage.title}」第 {stage.round} 轮已有决定（already decided）")
            if project.status != ProjectStatus.RUNNING:
                raise RefusedError(f"项目 {project_id} 已结束（{project.status}）")
            reason = why_not_decide(_gate_context(session, project, stage), person_id, person.roles)
            if reason:
                raise RefusedError(reason)
            decision = GateDecision(
                project_id=project.id,
                stage_id=stage.id,
                round=stage.round,
                step=1,
                outcome=outcome,
                decided_by=person_id,
                comment=comment,
                decided_at=now,
            )
            session.add(decision)
            session.flush()
            stage.status = StageStatus.DECIDED
            append_event(
                session,
                project_stream(project.id),
                "gate.decided",
                actor=person_id,
                at=now,
                payload={
                    "stage": stage.key,
                    "round": stage.round,
                    "outcome": outcome,
                    "comment": comment,
                    "decision_id": decision.id,
                },
                flow_run_id=project.flow_run_id,
            )
            return Decided(
                decision_id=decision.id,
                stage=stage.key,
                round=stage.round,
                outcome=outcome,
                flow_run_id=project.flow_run_id,
            )
    except IntegrityError as exc:  # a concurrent decision won the unique (stage, round, step)
        raise AlreadyDecidedError(f"阶段 {stage_key} 本轮已有决定（already decided）") from exc
