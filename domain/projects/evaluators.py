"""The project's evaluator (评估方, issue 15): a template's stage may name `evaluator_forms`, forms
filled by the project's evaluator — a person with the evaluator role, the agency's own or a funder's
or third party's — instead of its lead worker, so workers do not grade their own project.

The evaluator is recorded at launch as a `ProjectMember` with role `evaluator`. They may open the
project's page (a member) but are not its team for sensitive data (`people.visibility`), and the
escalation that passes late work to another worker never takes their forms from them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.config.errors import RefusedError
from swflow.db.snapshot import stage_spec
from swflow.db.tables import Person, Project, ProjectMember, Stage
from swflow.domain.people.rules import ROLE_TITLES
from swflow.domain.projects.rules import why_not_submit

__all__ = ["EVALUATOR", "evaluator_forms", "project_evaluator", "evaluator_of", "evaluator_refusal"]

EVALUATOR = "evaluator"


def evaluator_forms(spec: Mapping[str, Any]) -> tuple[str, ...]:
    """The forms of a pinned stage spec its evaluator fills (none in snapshots older than the role)."""
    return tuple(spec.get("evaluator_forms") or ())


def project_evaluator(session: Session, project_id: str) -> str | None:
    return session.execute(
        select(ProjectMember.person_id).where(ProjectMember.project_id == project_id, ProjectMember.role == EVALUATOR)
    ).scalar()


def evaluator_of(session: Session, project: Project, stage_key: str, form_id: str) -> str | None:
    """Who fills `form_id` in the stage when it is one of the stage's evaluator forms, else None.
    Launch refuses a project whose template has evaluator forms and no evaluator: a project without
    one here was changed behind the acts' back, and no worker is given its evaluator's form."""
    if form_id not in evaluator_forms(stage_spec(project, stage_key)):
        return None
    evaluator = project_evaluator(session, project.id)
    if evaluator is None:
        raise RefusedError(f"项目 {project.id} 没有登记评估方，表单 {form_id} 须由评估方填写（模板 evaluator_forms）")
    return evaluator


def _label(session: Session, person_id: str) -> str:
    person = session.get(Person, person_id)
    name = person.name if person is not None else person_id
    return f"{ROLE_TITLES[EVALUATOR]} {name}（{person_id}）"


def evaluator_refusal(
    session: Session, project: Project, stage: Stage, form_id: str, person_id: str, steps_approved: int = 0
) -> str | None:
    """Why `person_id` may not submit the evaluator's form, or None (also when it is not one)."""
    evaluator = evaluator_of(session, project, stage.key, form_id)
    if evaluator is None or evaluator == person_id:
        return None
    return why_not_submit(stage.status, stage.title, False, person_id, steps_approved, _label(session, evaluator))
