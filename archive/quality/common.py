"""What the quality acts share: streams, people look-ups, validated input, message context."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.clock import SHANGHAI
from config.errors import FormError, NotFoundError, RefusedError
from config.settings import get_settings
from config.yaml_source import describe_validation_error

from ..chain import canonical_json
from ..journal import verify_stream
from ..messages import message_context
from ..models import Event, Person, Project
from ..people import get_person
from .rules import Circle, why_not_read

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
    "local",
    "quality_context",
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


def directors(session: Session) -> list[str]:
    return [p.id for p in with_role(session, "director")]


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


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in Beijing time: what people at the agency read."""
    return moment.astimezone(SHANGHAI).isoformat() if moment else None


def local(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def quality_context(project: Project | None, **extra: Any) -> dict[str, Any]:
    """A message's context: the project's (codes, titles, link) when there is one, else the same
    keys left empty. Callers add only ids, kinds, titles and due dates — never record text."""
    if project is not None:
        return message_context(project, **extra)
    context: dict[str, Any] = {"project_id": "", "project_name": "", "community": "", "link": get_settings().link_base}
    context.update({k: local(v) if isinstance(v, datetime) else v for k, v in extra.items()})
    return context


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
