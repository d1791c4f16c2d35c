"""Launching a project: check the team, pin the template and forms, record it with its flow run."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.config.errors import RefusedError
from swflow.config.templates import Template, get_template
from swflow.db.engine import read_session, unit_of_work
from swflow.db.journal import append_event, project_stream
from swflow.db.tables import Project, ProjectMember, Stage
from swflow.domain.people.records import get_person
from swflow.domain.people.rules import qualification_problem, role_problems
from swflow.domain.projects.rules import ProjectStatus, StageStatus
from swflow.forms_spec import check_template_forms
from swflow.forms_spec.catalogue import template_instruments

__all__ = ["LaunchRequest", "LaunchPlan", "prepare_launch", "record_launch"]


class LaunchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template_id: str
    name: str = Field(min_length=1, max_length=200)
    community: str = Field(min_length=1, max_length=200)
    manager_id: str
    supervisor_id: str
    worker_ids: list[str] = Field(min_length=1)
    evaluator_id: str | None = Field(default=None, description="fills the template's evaluator_forms (评估方)")


class LaunchPlan(BaseModel):
    request: LaunchRequest
    project_id: str
    template_snapshot: dict[str, Any]
    forms_snapshot: dict[str, Any]
    launched_by: str | None = None  # the person who launched (a director for a manager); None: the manager


def _snapshot(template: Any) -> dict[str, Any]:
    """The template as pinned, with the instruments its surveys use (as they are at launch)."""
    pinned: dict[str, Any] = template.model_dump(mode="json")
    if instruments := template_instruments(template):
        pinned["instruments"] = {iid: i.model_dump(mode="json") for iid, i in instruments.items()}
    return pinned


def _new_project_id() -> str:
    return f"P-{secrets.token_hex(3).upper()}"


def prepare_launch(request: LaunchRequest, today: date) -> LaunchPlan:
    """Everything that can refuse a launch, checked before any run or row exists."""
    template = get_template(request.template_id)
    forms = check_template_forms(template, f"模板 {template.id}")
    wanted = [(request.manager_id, "manager"), (request.supervisor_id, "supervisor")]
    wanted += [(worker, "worker") for worker in request.worker_ids]
    with read_session() as session:
        people = {pid: get_person(session, pid) for pid, _ in wanted}
        problems = role_problems((pid, role, people[pid].roles) for pid, role in wanted)
        problems += [f"{pid} 已停用" for pid, person in people.items() if not person.active]
        problems += [
            problem
            for pid, person in people.items()
            if (problem := qualification_problem(pid, person.qualifications, today))
        ]
        if request.supervisor_id == request.manager_id:
            problems.append(f"{request.supervisor_id} 不能同时是本项目的项目主管和督导（四眼原则）")
        if request.supervisor_id in request.worker_ids:
            problems.append(f"{request.supervisor_id} 不能同时是本项目的督导和社工（四眼原则）")
        problems += _evaluator_problems(session, request, template, set(people))
        project_id = _new_project_id()
        while session.get(Project, project_id) is not None:
            project_id = _new_project_id()
    if problems:
        raise RefusedError("不能启动项目：\n" + "\n".join(f"  - {p}" for p in problems))
    return LaunchPlan(
        request=request,
        project_id=project_id,
        template_snapshot=_snapshot(template),
        forms_snapshot={fid: form.model_dump(mode="json") for fid, form in forms.items()},
    )


def _evaluator_problems(session: Session, request: LaunchRequest, template: Template, team: set[str]) -> list[str]:
    """The evaluator (评估方): given exactly when the template has evaluator forms, holding the role,
    active and — unless the template says otherwise — not on the team. No §8.1.1 check: an evaluator
    may be a funder's or a third party's person, not the agency's social worker."""
    wanted = template.evaluator_forms()
    evaluator_id = request.evaluator_id
    if evaluator_id is None:
        if not wanted:
            return []
        forms = "；".join(f"阶段 {stage}：{'、'.join(forms)}" for stage, forms in wanted.items())
        return [f"评估方（--evaluator）：模板 {template.id} 规定这些表单由评估方填写（{forms}），请指定评估方"]
    if not wanted:
        return [f"评估方（--evaluator）：模板 {template.id} 没有由评估方填写的表单（evaluator_forms），不需要评估方"]
    evaluator = get_person(session, evaluator_id)
    problems = role_problems([(evaluator_id, "evaluator", evaluator.roles)])
    if not evaluator.active and evaluator_id not in team:  # a team member's is said once, above
        problems.append(f"{evaluator_id} 已停用")
    if template.evaluator_independent:
        places = [(request.manager_id, "项目主管"), (request.supervisor_id, "督导")]
        places += [(w, "社工") for w in dict.fromkeys(request.worker_ids)]
        problems += [
            f"{evaluator_id} 不能同时是本项目的评估方和{title}（四眼原则：模板要求评估方独立于项目团队）"
            for pid, title in places
            if pid == evaluator_id
        ]
    return problems


def record_launch(plan: LaunchPlan, flow_run_id: str | None, now: datetime) -> Project:
    """Record the project; without a run id it waits for its run (`archive.recovery.attach_run`),
    which a busy or stopped orchestration server cannot take from it."""
    request = plan.request
    with unit_of_work() as session:
        project = Project(
            id=plan.project_id,
            name=request.name,
            community=request.community,
            template_id=request.template_id,
            template_version=plan.template_snapshot["version"],
            template_snapshot=plan.template_snapshot,
            forms_snapshot=plan.forms_snapshot,
            manager_id=request.manager_id,
            supervisor_id=request.supervisor_id,
            status=ProjectStatus.RUNNING,
            flow_run_id=flow_run_id,
            run_state=None if flow_run_id else "Waiting",
            created_at=now,
        )
        session.add(project)
        members = [(request.manager_id, "manager", 0), (request.supervisor_id, "supervisor", 0)]
        members += [(w, "worker", i) for i, w in enumerate(dict.fromkeys(request.worker_ids))]
        members += [(request.evaluator_id, "evaluator", 0)] if request.evaluator_id else []
        session.add_all(ProjectMember(project_id=project.id, person_id=p, role=r, position=i) for p, r, i in members)
        for seq, stage in enumerate(plan.template_snapshot["stages"], start=1):
            session.add(
                Stage(
                    project_id=project.id,
                    key=stage["key"],
                    seq=seq,
                    title=stage["title"],
                    status=StageStatus.PENDING,
                    round=0,
                    gate_attempt=1,
                )
            )
        append_event(
            session,
            project_stream(project.id),
            "project.launched",
            actor=plan.launched_by or request.manager_id,
            at=now,
            payload={
                **request.model_dump(mode="json"),
                "template_version": project.template_version,
                "forms": {fid: f["version"] for fid, f in plan.forms_snapshot.items()},
            },
            flow_run_id=flow_run_id,
        )
        session.flush()
        refresh_team_supervision(session, project.id, now)
        return project


def refresh_team_supervision(session: Session, project_id: str, now: datetime) -> None:
    """A running project's template can ask for more frequent supervision (§7.3): its workers' due
    dates move when it is launched, and move back when it ends."""
    from swflow.domain.quality.supervision import refresh_due

    session.flush()  # the project's status as it is now
    workers = session.execute(
        select(ProjectMember.person_id)
        .where(ProjectMember.project_id == project_id, ProjectMember.role == "worker")
        .order_by(ProjectMember.person_id)
    ).scalars()
    for worker_id in dict.fromkeys(workers):
        refresh_due(session, get_person(session, worker_id), now)
