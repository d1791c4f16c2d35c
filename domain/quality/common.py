"""What the quality acts share: streams, people look-ups, validated input, message context."""

from __future__ import annotations

import hashlib
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.config.clock import iso
from swflow.config.errors import FormError, NotFoundError, RefusedError
from swflow.config.yaml_source import describe_validation_error
from swflow.db.chain import canonical_json
from swflow.db.journal import verify_stream
from swflow.db.tables import Event, Person, Project
from swflow.domain.deadlines.records import directors, record_context
from swflow.domain.people.records import get_person
from swflow.domain.quality.rules import Circle, why_not_read

__all__ = [
    "QUALITY_STREAM",
    "record_stream",
    "validated",
    "active_person",
    "with_role",
    "directors",
    "get_project",
    "sha256_of",
    "iso",
    "record_context",
    "check_reader",
    "history",
]

QUALITY_STREAM = "quality"  # agency-wide records: supervision dues, certificates, risk reviews

M = TypeVar("M", bound=BaseModel)


def record_stream(kind: str, record_id: int) -> str:
    """Each complaint, incident and supervision session has its own hash-chained history."""
    return f"{kind}:{record_id}"


def validated(model: type[M], data: Any, source: str) -> M:
    """Input checked before anything is written; every problem names its field and rule (exit 2)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = describe_validation_error(exc)
        lines = "\n".join(f"  - {loc}：{rule}" for loc, rule in problems)
        raise FormError(f"{source} 有错误：\n{lines}", problems) from exc


def active_person(session: Session, person_id: str) -> Person:
    person = get_person(session, person_id)
    if not person.active:
        raise RefusedError(f"{person_id} 已停用")
    return person


def with_role(session: Session, role: str) -> list[Person]:
    people = session.execute(select(Person).where(Person.active.is_(True)).order_by(Person.id)).scalars()
    return [p for p in people if role in p.roles]


def get_project(session: Session, project_id: str | None) -> Project | None:
    if project_id is None:
        return None
    project = session.get(Project, project_id)
    if project is None:
        raise NotFoundError(f"没有项目 {project_id}")
    return project


def sha256_of(value: Any) -> str:
    """Events carry a digest of what was written, never the confidential or sensitive text itself."""
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def check_reader(session: Session, circle: Circle, viewer: str) -> None:
    """Refuse (exit 3) a viewer outside the record's circle."""
    person = get_person(session, viewer)
    if not person.active:
        raise RefusedError(f"{viewer} 已停用，不能查看{circle.what}")
    if problem := why_not_read(circle, viewer, person.roles, person.active):
        raise RefusedError(problem)


def history(session: Session, stream: str) -> dict[str, Any]:
    """A record's events (what happened, by whom, when) and whether its hash chain is intact."""
    events = session.execute(select(Event).where(Event.stream == stream).order_by(Event.seq)).scalars()
    return {
        "history": [{"seq": e.seq, "kind": e.kind, "actor": e.actor, "at": e.at} for e in events],
        "history_intact": verify_stream(session, stream) is None,
    }
