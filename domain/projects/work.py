"""The acts people perform: submit a form, decide a gate."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.config.errors import FormError, NotFoundError, RefusedError
from swflow.config.quality import quality_settings
from swflow.db.chain import canonical_json
from swflow.db.engine import unit_of_work
from swflow.db.journal import append_event, project_stream
from swflow.db.tables import FormSubmission, Person, Project, ProjectMember, Stage, WorkItem
from swflow.domain.deadlines.schedule import schedule_gate
from swflow.domain.people.records import get_person
from swflow.domain.projects.evaluators import evaluator_refusal
from swflow.domain.projects.form_context import form_context
from swflow.domain.projects.gates import notify_approvers
from swflow.domain.projects.rules import ProjectStatus, StageStatus, why_not_submit
from swflow.domain.projects.stages import find_stage, lock_project
from swflow.forms_spec import FormSpec, validate_submission
from swflow.forms_spec.change import STATISTICS_VERSION
from swflow.forms_spec.computed_checks import computed_facts

__all__ = ["Submitted", "record_submission", "submit_form"]


class Submitted(BaseModel):
    submission_id: int
    stage: str
    round: int
    stage_complete: bool


def _stage_of_form(session: Session, project: Project, form_id: str) -> tuple[Stage, bool]:
    """The stage that asks for `form_id`, and whether the form is optional there."""
    for spec in project.template_snapshot["stages"]:
        record_form = (spec.get("activities") or {}).get("record_form")
        if form_id in spec["forms"] or form_id == record_form:
            return find_stage(session, project.id, spec["key"]), False
        if form_id in spec.get("optional_forms", []):
            return find_stage(session, project.id, spec["key"]), True
    raise NotFoundError(f"项目 {project.id} 的模板里没有表单 {form_id}")


def _find_item(
    session: Session, stage: Stage, form_id: str, activity: str | None, optional: bool, person_id: str, now: datetime
) -> WorkItem | None:
    items = (
        session.execute(
            select(WorkItem).where(
                WorkItem.stage_id == stage.id, WorkItem.form_id == form_id, WorkItem.round == stage.round
            )
        )
        .scalars()
        .all()
    )
    if activity is not None:
        return next((i for i in items if i.activity == activity), None)
    if len(items) > 1:
        choices = [i for i in items if i.assignee_id == person_id and i.status == "open"]
        if len(choices) == 1:
            return choices[0]
        keys = "、".join(f"{i.activity}（{i.title}）" for i in items)
        raise FormError(f"--activity：此表单在本阶段有多项活动，请指明哪一项（可选：{keys}）", [("--activity", "必填")])
    if not items and optional and stage.status in (StageStatus.OPEN, StageStatus.AWAITING_DECISION):
        team = session.execute(
            select(ProjectMember.person_id).where(
                ProjectMember.project_id == stage.project_id,
                ProjectMember.person_id == person_id,
                ProjectMember.role.in_(("worker", "manager", "supervisor")),
            )
        ).first()
        if team is None:  # an optional form is the team's record of its own work
            raise RefusedError(f"{person_id} 不是项目 {stage.project_id} 的团队成员，不能提交它的选填表单 {form_id}")
        item = WorkItem(
            project_id=stage.project_id,
            stage_id=stage.id,
            form_id=form_id,
            round=stage.round,
            activity="",
            title=None,
            required=False,
            assignee_id=person_id,
            status="open",
            opened_at=now,
            due_at=stage.due_at or now,
        )
        session.add(item)
        session.flush()
        return item
    return items[0] if items else None


def _check_people(session: Session, project: Project, form: FormSpec, clean: dict[str, Any]) -> None:
    """Person references must name people on record; a schedule's responsible must be on the team;
    an activity record's people served and volunteers must be in the registry."""
    team = set(
        session.execute(
            select(ProjectMember.person_id).where(
                ProjectMember.project_id == project.id, ProjectMember.role == "worker"
            )
        ).scalars()
    )
    sources = {
        (s["activities"]["form"], s["activities"]["table"])
        for s in project.template_snapshot["stages"]
        if s.get("activities")
    }
    problems: list[tuple[str, str]] = []
    for field, column in form.person_fields():
        rows = clean.get(field, []) if column else [{None: clean.get(field)}]
        for index, row in enumerate(rows, start=1):
            pid = row.get(column)
            if pid is None:
                continue
            where = f"{field} › 第 {index} 行 › {column}" if column else field
            if session.get(Person, pid) is None:
                problems.append((where, f"没有人员 {pid}"))
            elif (form.id, field) in sources and pid not in team:
                problems.append((where, f"{pid} 不是本项目的社工（团队：{'、'.join(sorted(team))}）"))
    from swflow.domain.registry.activity import registry_problems

    problems += registry_problems(session, project.id, form.id, clean)
    if problems:
        lines = "\n".join(f"  - {f}：{r}" for f, r in problems)
        raise FormError(f"表单 {form.id}（{form.title}）有 {len(problems)} 处错误：\n{lines}", problems)


def record_submission(
    session: Session,
    project: Project,
    stage: Stage,
    item: WorkItem,
    version: int,
    data: dict[str, Any],
    person_id: str,
    now: datetime,
    resubmitted: bool = False,
    facts: dict[str, Any] | None = None,
) -> FormSubmission:
    """The submission row of a work item, the item marked submitted, and its `form.(re)submitted` event
    (the facts `archive verify` compares the row with; `facts` adds to them)."""
    submission = FormSubmission(
        work_item_id=item.id,
        project_id=project.id,
        form_id=item.form_id,
        form_version=version,
        round=stage.round,
        data=data,
        submitted_by=person_id,
        submitted_at=now,
    )
    session.add(submission)
    session.flush()
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
            "form": item.form_id,
            "activity": item.activity,
            "form_version": version,
            "submission_id": submission.id,
            **(facts or {}),
            "data_sha256": hashlib.sha256(canonical_json(data).encode()).hexdigest(),
        },
        flow_run_id=project.flow_run_id,
    )
    return submission


def submit_form(
    project_id: str, form_id: str, person_id: str, data: Any, now: datetime, activity: str | None = None
) -> Submitted:
    """Validate against the pinned form version and record; the last required form in asks for a decision."""
    with unit_of_work() as session:
        project = lock_project(session, project_id)
        get_person(session, person_id)
        if project.status != ProjectStatus.RUNNING:
            raise RefusedError(f"项目 {project_id} 已结束（{project.status}），不能再提交")
        stage, optional = _stage_of_form(session, project, form_id)
        approved = stage.gate_step - 1 if stage.status == StageStatus.AWAITING_DECISION else 0
        if approved and (fixed := why_not_submit(stage.status, stage.title, True, person_id, approved)):
            raise RefusedError(fixed)  # before the form is read: nothing it says could be taken
        if reserved := evaluator_refusal(session, project, stage, form_id, person_id, approved):
            raise RefusedError(reserved)  # the evaluator's form (评估方): nobody else's to fill
        form = FormSpec.model_validate(project.forms_snapshot[form_id])
        context = form_context(session, project, now, form)
        clean = validate_submission(form, data, context)
        _check_people(session, project, form, clean)
        item = _find_item(session, stage, form_id, activity, optional, person_id, now)
        reason = why_not_submit(
            stage.status, stage.title, item is not None and item.assignee_id == person_id, person_id, approved
        )
        if reason or item is None:
            which = f"{form_id}（{activity}）" if activity else form_id
            raise RefusedError(reason or f"阶段「{stage.title}」第 {stage.round} 轮没有待填的 {which}")
        resubmitted = item.status == "submitted"
        computed = computed_facts(form, clean, context)
        facts = {"computed": computed, "statistics_version": STATISTICS_VERSION} if computed else None
        submission = record_submission(
            session, project, stage, item, form.version, clean, person_id, now, resubmitted, facts
        )
        if form_id == quality_settings().incidents.form:  # also an entry of the agency's register (§7.4)
            from swflow.domain.quality.incidents import register_project_incident

            register_project_incident(session, project.id, item.id, clean, person_id, now)
        session.flush()
        open_left = session.execute(
            select(WorkItem.id).where(
                WorkItem.stage_id == stage.id,
                WorkItem.round == stage.round,
                WorkItem.status == "open",
                WorkItem.required.is_(True),
            )
        ).first()
        if open_left is None and stage.status == StageStatus.OPEN:
            stage.status = StageStatus.AWAITING_DECISION
            append_event(
                session,
                project_stream(project.id),
                "gate.awaiting",
                actor="swflow",
                at=now,
                payload={"stage": stage.key, "round": stage.round},
                flow_run_id=project.flow_run_id,
            )
            schedule_gate(project, stage, now)
            notify_approvers(session, project, stage, now)
        return Submitted(
            submission_id=submission.id,
            stage=stage.key,
            round=stage.round,
            stage_complete=open_left is None,
        )
