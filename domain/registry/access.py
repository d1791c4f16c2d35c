"""Who may see a person's sensitive fields (docs/architecture.md, contract 8): the teams of the projects the person is
in (manager, supervisor, workers; not an evaluator), whoever registered them, and directors. Everyone else sees
them masked. A project counts once the person is enrolled in it: naming an id in an activity
record does not open anyone's file."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.config.errors import RefusedError
from swflow.db.registry_tables import Enrolment, Referral, ServedPerson, Volunteer
from swflow.db.tables import Person, ProjectMember
from swflow.domain.registry.activity import aliases
from swflow.domain.registry.common import staff
from swflow.domain.registry.rules import Audience, HoursRow, may_see

__all__ = ["person_projects", "person_audience", "sees_person", "require_sight", "volunteer_audience", "sees_volunteer"]


def person_projects(session: Session, person_id: int) -> list[str]:
    ids = aliases(session, person_id)
    return sorted(set(session.execute(select(Enrolment.project_id).where(Enrolment.person_id.in_(ids))).scalars()))


def person_audience(session: Session, person: ServedPerson) -> Audience:
    projects = person_projects(session, person.id)
    team = set(
        session.execute(
            select(ProjectMember.person_id).where(
                ProjectMember.project_id.in_(projects), ProjectMember.role != "evaluator"
            )
        ).scalars()
    )  # a project's evaluator (评估方) scores its outcomes: not in the circle of the people it serves
    owners = set(
        session.execute(select(Referral.owner_id).where(Referral.person_id.in_(aliases(session, person.id)))).scalars()
    )
    return Audience(frozenset(team | owners | {person.registered_by}))


def sees_person(session: Session, person: ServedPerson, viewer: Person) -> bool:
    return may_see(person_audience(session, person), viewer.id, viewer.roles, viewer.active)


def require_sight(session: Session, person: ServedPerson, viewer_id: str, act: str) -> Person:
    """Refuse (exit 3) an act that needs the person's data from someone outside their circle."""
    viewer = staff(session, viewer_id)
    if not sees_person(session, person, viewer):
        raise RefusedError(
            f"{viewer_id} 不在服务对象 #{person.id} 的知悉范围内，不能{act}"
            "（仅限其所在项目的团队与督导、登记人和机构负责人）"
        )
    return viewer


def volunteer_audience(session: Session, volunteer: Volunteer, hours: list[HoursRow] | None = None) -> Audience:
    """A volunteer's contact details: whoever registered them, and directors. Naming a volunteer in
    an activity record does not open their details (anyone on any project could name any id)."""
    return Audience(frozenset({volunteer.registered_by}))


def sees_volunteer(session: Session, volunteer: Volunteer, viewer: Person, hours: list[HoursRow] | None = None) -> bool:
    return may_see(volunteer_audience(session, volunteer, hours), viewer.id, viewer.roles, viewer.active)
