"""What the launch page offers (read-only): every template with its stages, forms, gates and deadlines,
the active people of each role a project needs with their qualifications (§8.1.1), who may launch, and
where on the page each line of a launch refusal belongs."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from swflow.config.calendar import due_at
from swflow.config.clock import SHANGHAI, system_clock
from swflow.config.errors import NotFoundError, RefusedError
from swflow.config.settings import get_settings
from swflow.config.templates import APPROVER_TITLES, StageSpec, Template, list_templates
from swflow.db.engine import read_session
from swflow.db.tables import Person
from swflow.domain.people.rules import ROLE_TITLES, qualification_problem
from swflow.domain.projects.launch import LaunchRequest
from swflow.forms_spec import get_form

__all__ = [
    "LAUNCHING_ROLES",
    "TEAM_ROLES",
    "PersonChoice",
    "FormChoice",
    "StageChoice",
    "TemplateChoice",
    "LaunchChoices",
    "launch_refusal",
    "why_not_launch",
    "launch_choices",
    "template_choice",
    "place_launch_refusal",
]

LAUNCHING_ROLES = ("manager", "director")  # who may launch a project from a template
TEAM_ROLES = ("manager", "supervisor", "worker", "evaluator")  # the lists the page offers, in this order
FORM_KINDS = {"required": "必填", "optional": "选填", "evaluator": "由评估方填写"}
SENSITIVITY = {"normal": "一般", "sensitive": "敏感（策划和结项审核须经机构负责人）"}


class PersonChoice(BaseModel):
    id: str
    name: str
    roles: list[str]  # role titles (项目主管、督导…)
    qualifications: list[str]  # as people read them: 社会工作师（证书 SW-2019-0001）
    problem: str | None  # why §8.1.1 is not met today, or None
    community: str | None = None


class FormChoice(BaseModel):
    id: str
    title: str
    kind: str  # required, optional, evaluator (FORM_KINDS)


class StageChoice(BaseModel):
    key: str
    title: str
    clause: str
    duration_days: int  # working days from its opening
    forms: list[FormChoice]
    activities: str | None  # work items made from an approved schedule's rows
    surveys: list[str]
    gate_steps: list[str]  # in Chinese, in order (APPROVER_TITLES)
    gate_within_days: int  # working days each step has
    manager_may_decide: bool


class TemplateChoice(BaseModel):
    id: str
    version: int
    title: str
    clause: str
    summary: str
    sensitivity: str
    sensitivity_text: str
    target_groups: list[str]
    service_items: list[str]
    stages: list[StageChoice]
    total_days: int
    first_due: datetime  # the first stage's deadline, were it opened now
    needs_evaluator: bool
    evaluator_independent: bool


class LaunchChoices(BaseModel):
    viewer: str
    may_choose_manager: bool  # a director launches for any manager; a manager for themself
    templates: list[TemplateChoice]
    people: dict[str, list[PersonChoice]]  # TEAM_ROLES → the active people holding it, by id

    def template(self, template_id: str) -> TemplateChoice | None:
        return next((t for t in self.templates if t.id == template_id), None)


def launch_refusal(viewer: str, roles: Collection[str], active: bool, manager_id: str | None = None) -> str | None:
    """Why `viewer` may not launch a project (with `manager_id` as its manager), or None. A manager
    launches their own projects; a director launches for any manager."""
    if not active:
        return f"{viewer} 已停用，不能启动项目"
    if not set(LAUNCHING_ROLES) & set(roles):
        held = "、".join(ROLE_TITLES.get(r, r) for r in roles) or "无"
        return f"{viewer} 不能启动项目：只有项目主管或机构负责人可以从模板启动项目（现有角色：{held}）"
    if manager_id is not None and manager_id != viewer and "director" not in roles:
        return f"{viewer} 只能以本人为项目主管启动项目：由其他主管负责的项目，请机构负责人启动"
    return None


def why_not_launch(viewer: str, manager_id: str | None = None) -> str | None:
    """The launch rule applied to the person on record (their roles and whether they are active)."""
    with read_session() as session:
        person = session.get(Person, viewer)
        if person is None:
            return f"没有人员 {viewer}，不能启动项目"
        return launch_refusal(viewer, person.roles, person.active, manager_id)


def _form_title(form_id: str) -> str:
    try:
        return get_form(form_id).title
    except NotFoundError:
        return form_id  # the launch itself names what is missing


def _stage(stage: StageSpec) -> StageChoice:
    forms = [
        FormChoice(id=f, title=_form_title(f), kind="evaluator" if f in stage.evaluator_forms else "required")
        for f in stage.forms
    ]
    forms += [FormChoice(id=f, title=_form_title(f), kind="optional") for f in stage.optional_forms]
    activities = None
    if stage.activities is not None:
        source, record = _form_title(stage.activities.form), _form_title(stage.activities.record_form)
        activities = f"按「{source}」中的活动安排，每项活动填写一张「{record}」"
    return StageChoice(
        key=stage.key,
        title=stage.title,
        clause=stage.clause,
        duration_days=stage.duration_days,
        forms=forms,
        activities=activities,
        surveys=[f"{s.title}（目标 {s.expected} 份）" for s in stage.surveys],
        gate_steps=[APPROVER_TITLES.get(step, step) for step in stage.gate.steps],
        gate_within_days=stage.gate.within_days,
        manager_may_decide=stage.gate.manager_may_decide,
    )


def template_choice(template: Template, now: datetime) -> TemplateChoice:
    return TemplateChoice(
        id=template.id,
        version=template.version,
        title=template.title,
        clause=template.clause,
        summary=template.summary,
        sensitivity=template.sensitivity,
        sensitivity_text=SENSITIVITY.get(template.sensitivity, template.sensitivity),
        target_groups=list(template.target_groups),
        service_items=[item.title for item in template.service_items],
        stages=[_stage(stage) for stage in template.stages],
        total_days=sum(stage.duration_days for stage in template.stages),
        first_due=due_at(now, template.stages[0].duration_days, get_settings().workday_end_hour),
        needs_evaluator=bool(template.evaluator_forms()),
        evaluator_independent=template.evaluator_independent,
    )


def _qualification_text(q: Mapping[str, Any], today_iso: str) -> str:
    kind = "学历" if q.get("kind") == "degree" else "证书"
    details = [f"{kind} {q['number']}" if q.get("number") else kind]
    if until := q.get("valid_until"):
        details.append(f"有效期至 {until}" + ("，已过期" if str(until) < today_iso else ""))
    return f"{q.get('level', '')}（{'，'.join(details)}）"


def _person(person: Person, now: datetime) -> PersonChoice:
    today = now.astimezone(SHANGHAI).date()
    return PersonChoice(
        id=person.id,
        name=person.name,
        roles=[ROLE_TITLES.get(r, r) for r in person.roles],
        qualifications=[_qualification_text(q, today.isoformat()) for q in person.qualifications],
        problem=qualification_problem(person.id, person.qualifications, today),
        community=person.community,
    )


def _catalogue_order(template: Template) -> tuple[tuple[int, ...], str]:
    return tuple(int(part) for part in template.clause.split(".")), template.id


def launch_choices(viewer: str, now: datetime | None = None) -> LaunchChoices:
    """What the launch page offers `viewer`; refused (RefusedError) unless they may launch."""
    now = now or system_clock()
    with read_session() as session:
        me = session.get(Person, viewer)
        if me is None:
            raise RefusedError(f"没有人员 {viewer}，不能启动项目")
        if (refused := launch_refusal(viewer, me.roles, me.active)) is not None:
            raise RefusedError(refused)
        active = list(session.execute(select(Person).where(Person.active.is_(True)).order_by(Person.id)).scalars())
        people = {role: [_person(p, now) for p in active if role in p.roles] for role in TEAM_ROLES}
        may_choose = "director" in me.roles
    return LaunchChoices(
        viewer=viewer,
        may_choose_manager=may_choose,
        templates=[template_choice(t, now) for t in sorted(list_templates(), key=_catalogue_order)],
        people=people,
    )


_EVALUATOR_FLAG = "评估方（--evaluator）："
_FOUR_EYES_SUPERVISOR = ("不能同时是本项目的项目主管和督导", "不能同时是本项目的督导和社工")


def place_launch_refusal(message: str, request: LaunchRequest) -> tuple[list[tuple[str, str]], list[str]]:
    """The lines of a refusal of `prepare_launch` (or of a NotFoundError it raised) as (field, line)
    at the launch page's fields — template, manager, supervisor, lead (the first worker, who fills the
    forms), workers (the others), evaluator — and the lines that name none."""
    places = [("manager", "项目主管", [request.manager_id]), ("supervisor", "督导", [request.supervisor_id])]
    places += [("lead", "社工", request.worker_ids[:1]), ("workers", "社工", request.worker_ids[1:])]
    places += [("evaluator", "评估方", [request.evaluator_id])] if request.evaluator_id else []
    lines = [line.strip().removeprefix("- ").strip() for line in message.splitlines()]
    lines = [line for line in lines if line and not (line.endswith("：") and len(lines) > 1)]
    placed: list[tuple[str, str]] = []
    unplaced: list[str] = []
    for line in lines:
        fields = _fields_of(line, places)
        if line.startswith(_EVALUATOR_FLAG):
            line = line.removeprefix(_EVALUATOR_FLAG)
        elif line.startswith(("没有模板", "没有人员")):
            line = line.split("（", 1)[0]  # not the catalogue, not the CLI's advice
        placed += [(field, line) for field in fields]
        unplaced += [] if fields else [line]
    return placed, unplaced


def _fields_of(line: str, places: list[tuple[str, str, list[str]]]) -> list[str]:
    if line.startswith("没有模板"):
        return ["template"]
    if line.startswith(_EVALUATOR_FLAG) or "本项目的评估方" in line:
        return ["evaluator"]
    if any(words in line for words in _FOUR_EYES_SUPERVISOR):
        return ["supervisor"]
    named = re.match(r"^没有人员 (\S+?)(?:（|$)", line) or re.match(r"^(\S+) ", line)
    person = named.group(1) if named else ""
    if role := re.match(r"^\S+ 没有「(.+?)」角色", line):  # the field asking for that role
        return [field for field, title, ids in places if title == role.group(1) and person in ids][:1]
    checked = "§8.1.1" in line  # §8.1.1 is not asked of the evaluator
    return [field for field, _, ids in places if person in ids and not (checked and field == "evaluator")]
