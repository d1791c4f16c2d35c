"""Who may see a project's sensitive fields (docs/architecture.md, contract 8): its team and the agency's directors."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.config.errors import NotFoundError
from swflow.db.tables import Person, Project, ProjectMember

__all__ = ["may_see_sensitive"]


def may_see_sensitive(session: Session, project: Project, person_id: str | None) -> bool:
    """The project's team (manager, supervisor, workers) and directors see sensitive fields, while active.
    Its evaluator (评估方, a member with role evaluator) is not the team: they score outcomes, often for a
    funder or a third party, and see the project masked unless they also serve on it."""
    if person_id is None:
        return False
    person = session.get(Person, person_id)
    if person is None:
        raise NotFoundError(f"没有人员 {person_id}")
    if not person.active:  # a person who left the agency sees nothing sensitive, whatever their role was
        return False
    members = session.execute(
        select(ProjectMember.person_id).where(ProjectMember.project_id == project.id, ProjectMember.role != "evaluator")
    ).scalars()
    return person_id in set(members) or "director" in person.roles
