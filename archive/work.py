"""The acts people perform: submit a form, decide a gate."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.errors import NotFoundError, RefusedError
from forms_spec import FormSpec, validate_submission

from .chain import canonical_json
from .db import unit_of_work
from .journal import append_event, project_stream
from .models import FormSubmission, Project, Stage, WorkItem
from .people import get_person
from .gates import notify_approvers
from .rules import ProjectStatus, StageStatus, why_not_submit
from .stages import find_stage, lock_project

__all__ = ["Submitted", "submit_form"]


class Submitted(BaseModel):
    submission_id: int
    stage: str
    round: int
    stage_complete: bool


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
            append_event(
                session, project_stream(project.id), "gate.awaiting", actor="swflow", at=now,
                payload={"stage": stage.key, "round": stage.round}, flow_run_id=project.flow_run_id,
            )
            notify_approvers(session, project, stage, now)
        return Submitted(
            submission_id=submission.id,
            stage=stage.key,
            round=stage.round,
            stage_complete=open_left is None,
        )


