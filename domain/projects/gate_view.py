"""Read models of a gate: the web page of a decision (what is decided, every form read-only, earlier
rounds, what the viewer may do) and the summary the Prefect UI shows. Nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.config.clock import SHANGHAI
from swflow.config.settings import get_settings
from swflow.db.engine import read_session
from swflow.db.snapshot import stage_spec
from swflow.db.tables import FormSubmission, GateDecision, Person, Project, Stage, WorkItem
from swflow.domain.people.records import get_person
from swflow.domain.people.rules import qualification_problem
from swflow.domain.people.visibility import may_see_sensitive
from swflow.domain.projects.gates import deciders, gate_context
from swflow.domain.projects.rules import (
    ROLE_OF_STEP,
    GateContext,
    why_not_claim,
    why_not_decide,
    why_not_delegate,
)
from swflow.domain.projects.stages import find_stage
from swflow.forms_spec import FieldSpec, FormSpec, mask_sensitive
from swflow.forms_spec.spec import is_survey_form

__all__ = ["FieldView", "FormView", "DecisionView", "GateView", "gate_view", "gate_summary"]

STATUS_WORDS = {
    "pending": "未开始",
    "open": "填写中",
    "awaiting_decision": "等待审核",
    "decided": "已决定，流程接续中",
    "approved": "已通过",
    "rejected": "已否决",
}


@dataclass(frozen=True)
class FieldView:
    label: str
    sensitive: bool
    text: str = ""
    columns: tuple[str, ...] = ()  # a table: its column labels and rows of cell texts
    rows: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class FormView:
    form_id: str
    title: str
    round: int
    submitted_at: datetime | None
    submitted_by: str | None
    fields: tuple[FieldView, ...]


@dataclass(frozen=True)
class DecisionView:
    round: int
    step: int
    outcome: str
    decided_by: str
    decided_at: datetime
    comment: str | None  # None: the viewer may not read comments (they may name a service recipient)
    redo: tuple[str, ...]


@dataclass(frozen=True)
class GateView:
    project_id: str
    project_name: str
    stage_key: str
    stage_title: str
    status: str
    status_text: str
    round: int
    step_label: str
    due_at: datetime | None
    group_step: bool
    assignee: str | None
    waiting_on: tuple[str, ...]
    masked: bool
    forms: tuple[FormView, ...]
    stage_forms: tuple[tuple[str, str], ...]  # (form id, title): what a return may send back
    history: tuple[DecisionView, ...]
    why_not_decide: str | None
    why_not_claim: str | None
    delegates: tuple[tuple[str, str], ...] = field(default=())  # (id, name) the viewer may hand the step to


def _cell(spec: FieldSpec, value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    choices = spec.choices or {}
    if isinstance(value, list):
        return "、".join(choices.get(str(v), str(v)) for v in value)
    if isinstance(value, dict):  # an attachment: its path (the file stays outside, its hash archived)
        return str(value.get("path", value))
    return choices.get(str(value), str(value))


def _fields(spec: FormSpec, data: dict[str, Any]) -> tuple[FieldView, ...]:
    shown = []
    for f in spec.fields:
        if f.name not in data:
            continue
        value = data[f.name]
        if f.columns and isinstance(value, list):
            columns = tuple(c.label for c in f.columns)
            rows = tuple(
                tuple(_cell(c, row.get(c.name)) if isinstance(row, dict) else str(row) for c in f.columns)
                for row in value
            )
            shown.append(FieldView(f.label, f.sensitive, columns=columns, rows=rows))
        else:
            shown.append(FieldView(f.label, f.sensitive, text=_cell(f, value)))
    return tuple(shown)


def _forms(session: Session, project: Project, stage: Stage, clear: bool) -> tuple[FormView, ...]:
    """Each form (and activity record) of the stage as last submitted, in any round up to this one."""
    items = session.execute(
        select(WorkItem).where(WorkItem.stage_id == stage.id, WorkItem.round <= stage.round).order_by(WorkItem.id)
    ).scalars()
    latest: dict[tuple[str, str], WorkItem] = {}
    for item in items:
        if not is_survey_form(item.form_id):  # a survey's many responses are summarised, not listed
            latest[(item.form_id, item.activity)] = item  # later rounds come later
    views = []
    for item in latest.values():
        spec = FormSpec.model_validate(project.forms_snapshot[item.form_id])
        sub = session.get(FormSubmission, item.submission_id) if item.submission_id else None
        data = {} if sub is None else (dict(sub.data) if clear else mask_sensitive(spec, sub.data))
        views.append(
            FormView(
                form_id=item.form_id,
                title=item.title or spec.title,
                round=item.round,
                submitted_at=sub.submitted_at if sub else None,
                submitted_by=sub.submitted_by if sub else None,
                fields=_fields(spec, data),
            )
        )
    return tuple(views)


def _history(session: Session, project: Project, stage: Stage, clear: bool) -> tuple[DecisionView, ...]:
    rows = session.execute(
        select(GateDecision).where(GateDecision.stage_id == stage.id).order_by(GateDecision.round, GateDecision.step)
    ).scalars()
    return tuple(
        DecisionView(
            round=d.round,
            step=d.step,
            outcome=d.outcome,
            decided_by=d.decided_by,
            decided_at=d.decided_at,
            comment=d.comment if clear else None,
            redo=tuple(project.forms_snapshot[f]["title"] for f in d.redo_forms or ()),
        )
        for d in rows
    )


def _delegates(session: Session, gate: GateContext, viewer: Person, now: datetime) -> tuple[tuple[str, str], ...]:
    """Whom the viewer may hand the current step to: the step's role, qualified (§8.1.1), four eyes kept."""
    if gate.step_kind not in ROLE_OF_STEP:
        return ()
    people = session.execute(select(Person).where(Person.active.is_(True)).order_by(Person.id)).scalars()
    today = now.astimezone(SHANGHAI).date()
    return tuple(
        (p.id, p.name)
        for p in people
        if why_not_delegate(
            gate, viewer.id, viewer.roles, p.id, p.roles, qualification_problem(p.id, p.qualifications, today)
        )
        is None
    )


def gate_view(project_id: str, stage_key: str, viewer_id: str, now: datetime) -> GateView:
    """The gate as `viewer_id` may see it: sensitive fields and comments masked for anyone outside
    the project's team and the directors; what they may do, each refusal as the rules word it."""
    with read_session() as session:
        project = session.get(Project, project_id)
        if project is None:
            from swflow.config.errors import NotFoundError

            raise NotFoundError(f"没有项目 {project_id}")
        stage = find_stage(session, project_id, stage_key)
        viewer = get_person(session, viewer_id)
        gate = gate_context(session, project, stage)
        clear = may_see_sensitive(session, project, viewer_id)
        forms = stage_spec(project, stage.key)["forms"]
        return GateView(
            project_id=project.id,
            project_name=project.name,
            stage_key=stage.key,
            stage_title=stage.title,
            status=stage.status,
            status_text=STATUS_WORDS.get(stage.status, stage.status),
            round=stage.round,
            step_label=gate.step_label(),
            due_at=stage.gate_due_at,
            group_step=gate.is_group_step,
            assignee=stage.gate_assignee,
            waiting_on=tuple(p.id for p in deciders(session, project, gate)),
            masked=not clear,
            forms=_forms(session, project, stage, clear),
            stage_forms=tuple((f, project.forms_snapshot[f]["title"]) for f in forms),
            history=_history(session, project, stage, clear),
            why_not_decide=why_not_decide(gate, viewer_id, viewer.roles),
            why_not_claim=why_not_claim(gate, viewer_id, viewer.roles) if gate.is_group_step else "",
            delegates=_delegates(session, gate, viewer, now),
        )


def gate_summary(project_id: str, stage_key: str) -> str:
    """What is to be decided, for the Prefect UI: no form content and no free-text comment (either
    may name a service recipient), so nothing sensitive leaves the archive."""
    with read_session() as session:
        project = session.get_one(Project, project_id)
        stage = find_stage(session, project_id, stage_key)
        gate = gate_context(session, project, stage)
        items = session.execute(
            select(WorkItem).where(WorkItem.stage_id == stage.id, WorkItem.round == stage.round)
        ).scalars()
        previous = session.execute(
            select(GateDecision.comment).where(
                GateDecision.stage_id == stage.id,
                GateDecision.round == stage.round - 1,
                GateDecision.outcome == "return",
            )
        ).scalar_one_or_none()
        waiting = "、".join(p.id for p in deciders(session, project, gate)) or "（无人可审核）"
        lines = [
            f"项目 {project.id}「{project.name}」：阶段「{stage.title}」第 {stage.round} 轮审核，{gate.step_label()}",
            f"审核人：{waiting}",
        ]
        for item in items:
            title = project.forms_snapshot[item.form_id]["title"]
            local = item.submitted_at.astimezone(SHANGHAI) if item.submitted_at else None
            state = f"已提交 {local:%Y-%m-%d %H:%M}" if local else "未提交"
            lines.append(f"- {title}（{item.form_id}）：{state}")
        if previous is not None:  # the comment itself may name a person: it stays in the archive
            lines.append("上轮已退回修改（退回意见只在档案中查看）")
        lines.append(
            f"请在网页 {get_settings().link_base}/gates/{project.id}/{stage.key} 审核"
            f"（或 swflow approve|return|reject {project.id} {stage.key} --by <审核人>）；"
            "在此界面直接恢复不会被接受。"
        )
        return "\n".join(lines)
