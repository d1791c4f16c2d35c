"""What the registry acts share: streams, staff look-ups, row look-ups, events and dates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from swflow.config.clock import iso
from swflow.config.errors import NotFoundError, RefusedError
from swflow.db.journal import append_event, project_stream
from swflow.db.registry_tables import Organisation, Referral, ServedPerson, Volunteer
from swflow.db.tables import Person, Project
from swflow.domain.people.records import get_person
from swflow.domain.people.visibility import may_see_sensitive
from swflow.domain.registry.rules import PersonStatus

__all__ = [
    "stream",
    "staff",
    "on_team",
    "get_project",
    "served_person",
    "resolve_person",
    "volunteer",
    "organisation",
    "referral",
    "record",
    "iso",
]


def stream(kind: str, record_id: int) -> str:
    """Each person served, volunteer, organisation and referral has its own hash-chained history."""
    return f"{kind}:{record_id}"


def staff(session: Session, person_id: str) -> Person:
    """`--by`: an active person of the archive (the agency's staff), or exit 2/3."""
    person = get_person(session, person_id)
    if not person.active:
        raise RefusedError(f"{person_id} 已停用")
    return person


def on_team(session: Session, project: Project, person: Person) -> bool:
    """The project's manager, supervisor or a worker, or a director (who acts on every project)."""
    return may_see_sensitive(session, project, person.id)


def get_project(session: Session, project_id: str | None) -> Project | None:
    if project_id is None:
        return None
    project = session.get(Project, project_id)
    if project is None:
        raise NotFoundError(f"没有项目 {project_id}")
    return project


def served_person(session: Session, person_id: int, lock: bool = False) -> ServedPerson:
    row = session.get(ServedPerson, person_id, with_for_update=lock)
    if row is None:
        raise NotFoundError(f"没有服务对象 #{person_id}（用 `swflow registry person find` 查找）")
    return row


def resolve_person(session: Session, person_id: int, lock: bool = False) -> ServedPerson:
    """The record a person id stands for now: a merged record leads to the one it was merged into."""
    row = served_person(session, person_id, lock)
    seen = {row.id}
    while row.status == PersonStatus.MERGED and row.merged_into is not None and row.merged_into not in seen:
        row = served_person(session, row.merged_into, lock)
        seen.add(row.id)
    return row


def volunteer(session: Session, volunteer_id: int) -> Volunteer:
    row = session.get(Volunteer, volunteer_id)
    if row is None:
        raise NotFoundError(f"没有志愿者 #{volunteer_id}")
    return row


def organisation(session: Session, organisation_id: int) -> Organisation:
    row = session.get(Organisation, organisation_id)
    if row is None:
        raise NotFoundError(f"没有社区组织或单位 #{organisation_id}（用 `swflow registry org list` 查看）")
    return row


def referral(session: Session, referral_id: int, lock: bool = False) -> Referral:
    row = session.get(Referral, referral_id, with_for_update=lock)
    if row is None:
        raise NotFoundError(f"没有转介 #{referral_id}")
    return row


def record(
    session: Session,
    kind: str,
    record_id: int,
    event: str,
    by: str,
    now: datetime,
    project_id: str | None = None,
    **payload: Any,
) -> None:
    """The act's event on the record's own stream, and on its project's when it concerns one.
    Payloads carry ids, codes and digests only: never a name, a phone number or a reason."""
    body = {kind: record_id, **payload}
    append_event(session, stream(kind, record_id), event, actor=by, at=now, payload=body)
    if project_id is not None:
        append_event(session, project_stream(project_id), event, actor=by, at=now, payload=body)
