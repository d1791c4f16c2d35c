"""What a work item's form page shows its assignee: the item, its form as the project pinned it, the
stage and round, and what to start from (a saved draft, this round's submission, or the previous
round's values under the supervisor's return comment).

Who may open a form is who may submit it (`rules.why_not_submit`), for the item of the stage's
current round of a running project: the page never shows a form that could not be handed in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.config.errors import NotFoundError, RefusedError
from swflow.db.engine import read_session
from swflow.db.tables import FormSubmission, GateDecision, Person, Project, ProjectMember, Stage, WorkItem
from swflow.db.web_tables import FormDraft
from swflow.domain.projects.evaluators import evaluator_refusal
from swflow.domain.projects.rules import ProjectStatus, why_not_submit
from swflow.domain.projects.survey_values import computed_values

__all__ = ["WorkItemView", "work_item_view", "check_may_fill"]


class WorkItemView(BaseModel):
    item_id: int
    project_id: str
    project_name: str
    stage_key: str
    stage_title: str
    stage_status: str
    round: int
    form_id: str
    form: dict[str, Any]  # the pinned spec (forms_snapshot), a FormSpec's JSON
    activity: str
    title: str
    status: str  # open | submitted
    due_at: datetime
    return_comment: str | None  # the supervisor's comment that opened this round
    returned_by: str | None
    previous: dict[str, Any] | None  # the previous round's submitted values of this form
    submitted: dict[str, Any] | None  # this round's latest submission, when already handed in
    draft: dict[str, Any] | None  # what the assignee saved without submitting
    draft_saved_at: datetime | None
    team: list[tuple[str, str]]  # (person id, name) of the project's people, for person fields
    computed: dict[str, str] = {}  # field or measures table → where its values come from (a survey)
    prefill: dict[str, float] = {}  # number field → the value its survey computes, for an empty form


def _computed(session: Session, project: Project, form: dict[str, Any]) -> tuple[dict[str, str], dict[str, float]]:
    """What the project's surveys compute for this form: a note per field and measures table, the values."""
    notes: dict[str, str] = {}
    values: dict[str, float] = {}
    fields = {f["name"]: f for f in form["fields"]}
    for c in computed_values(session, project):
        value = c.shown()
        if c.field and c.field.split(".", 1)[0] == form["id"]:
            name = c.field.split(".", 1)[1]
            notes[name] = f"由问卷「{c.survey_title}」计算：{value}；提交时须与此一致"
            if c.value is not None:
                values[name] = c.value
        for name, spec in fields.items():
            if spec.get("type") == "table" and spec.get("measures") == c.role and not c.field:
                line = f"「{c.name}」由问卷「{c.survey_title}」计算：{value}"
                notes[name] = f"{notes[name]}；{line}" if name in notes else f"若填写这些指标，须与问卷一致：{line}"
    return notes, values


def check_may_fill(session: Session, item_id: int, person_id: str) -> tuple[WorkItem, Stage, Project]:
    """The item, its stage and project when `person_id` may fill it in now; a refusal otherwise."""
    item = session.get(WorkItem, item_id)
    if item is None:
        raise NotFoundError(f"没有待办事项 {item_id}")
    stage = session.get_one(Stage, item.stage_id)
    project = session.get_one(Project, item.project_id)
    if project.status != ProjectStatus.RUNNING:
        raise RefusedError(f"项目 {project.id} 已结束（{project.status}），不能再提交")
    if reason := evaluator_refusal(session, project, stage, item.form_id, person_id) or why_not_submit(
        stage.status, stage.title, item.assignee_id == person_id, person_id
    ):
        raise RefusedError(reason)
    if item.round != stage.round:
        raise RefusedError(f"此表单属于「{stage.title}」第 {item.round} 轮，本阶段已进入第 {stage.round} 轮")
    return item, stage, project


def _latest(session: Session, item_ids: list[int]) -> FormSubmission | None:
    if not item_ids:
        return None
    return (
        session.execute(
            select(FormSubmission).where(FormSubmission.work_item_id.in_(item_ids)).order_by(FormSubmission.id.desc())
        )
        .scalars()
        .first()
    )


def previous_return(session: Session, item: WorkItem) -> GateDecision | None:
    """The supervisor's return that opened this item's round (None in round 1)."""
    if item.round <= 1:
        return None
    return (
        session.execute(
            select(GateDecision)
            .where(
                GateDecision.stage_id == item.stage_id,
                GateDecision.round == item.round - 1,
                GateDecision.outcome == "return",
            )
            .order_by(GateDecision.id.desc())
        )
        .scalars()
        .first()
    )


def _previous_round(session: Session, item: WorkItem) -> tuple[GateDecision | None, FormSubmission | None]:
    if item.round <= 1:
        return None, None
    returned = previous_return(session, item)
    earlier = (
        session.execute(
            select(WorkItem.id).where(
                WorkItem.stage_id == item.stage_id,
                WorkItem.form_id == item.form_id,
                WorkItem.activity == item.activity,
                WorkItem.round < item.round,
            )
        )
        .scalars()
        .all()
    )
    return returned, _latest(session, list(earlier))


def _team(session: Session, project: Project) -> list[tuple[str, str]]:
    rows = session.execute(
        select(Person.id, Person.name)
        .join(ProjectMember, ProjectMember.person_id == Person.id)
        .where(ProjectMember.project_id == project.id)
        .order_by(ProjectMember.role, ProjectMember.position)
    ).tuples()
    seen: dict[str, str] = {}
    for pid, name in rows:
        seen.setdefault(pid, name)
    return list(seen.items())


def work_item_view(item_id: int, viewer: str) -> WorkItemView:
    """The form page of one work item, for its assignee (anyone else is refused, as submitting is)."""
    with read_session() as session:
        item, stage, project = check_may_fill(session, item_id, viewer)
        returned, previous = _previous_round(session, item)
        current = _latest(session, [item.id]) if item.status == "submitted" else None
        draft = session.get(FormDraft, (viewer, item.id))
        form = project.forms_snapshot[item.form_id]
        notes, values = _computed(session, project, form)
        return WorkItemView(
            item_id=item.id,
            project_id=project.id,
            project_name=project.name,
            stage_key=stage.key,
            stage_title=stage.title,
            stage_status=stage.status,
            round=item.round,
            form_id=item.form_id,
            form=form,
            activity=item.activity,
            title=item.title or form["title"],
            status=item.status,
            due_at=item.due_at,
            return_comment=returned.comment if returned else None,
            returned_by=returned.decided_by if returned else None,
            previous=previous.data if previous else None,
            submitted=current.data if current else None,
            draft=draft.data if draft else None,
            draft_saved_at=draft.saved_at if draft else None,
            team=_team(session, project),
            computed=notes,
            prefill=values,
        )
