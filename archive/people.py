"""People: roles, qualifications and notification addresses, imported from YAML."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from config.errors import NotFoundError

from .db import unit_of_work
from .journal import PEOPLE_STREAM, append_event
from .models import Person

__all__ = ["PersonRecord", "Qualification", "PeopleFile", "import_people", "get_person"]

Role = Literal["manager", "supervisor", "worker", "director"]


class Qualification(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["certificate", "degree"]
    level: str = Field(min_length=1, description="助理社会工作师 / 社会工作师 / 高级社会工作师 / 学位")
    number: str = ""
    valid_until: str | None = None


class PersonRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9._-]*$", max_length=64)
    name: str = Field(min_length=1)
    roles: list[Role] = Field(min_length=1)
    qualifications: list[Qualification] = []
    notify: list[str] = Field(default=[], description="apprise URLs")
    active: bool = True
    community: str | None = Field(default=None, min_length=1, max_length=200, description="§8.1.3 staffing")


class PeopleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    people: list[PersonRecord] = Field(min_length=1)


def import_people(records: list[PersonRecord], actor: str, now: datetime) -> tuple[int, int]:
    """Insert or update people in one transaction; returns (added, updated). Their supervision
    due dates and certificate expiries are watched from now on (archive.quality)."""
    from .quality.staffing import watch_people

    added = updated = 0
    with unit_of_work() as session:
        for record in records:
            values = record.model_dump(mode="json")
            person = session.get(Person, record.id)
            if person is None:
                session.add(Person(**values, updated_at=now))
                added += 1
            else:
                for key, value in values.items():
                    setattr(person, key, value)
                person.updated_at = now
                updated += 1
        session.flush()
        watch_people(session, [r.id for r in records], now)
        append_event(
            session,
            PEOPLE_STREAM,
            "people.imported",
            actor=actor,
            at=now,
            payload={"ids": [r.id for r in records], "added": added, "updated": updated},
        )
    return added, updated


def get_person(session: Session, person_id: str) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFoundError(f"没有人员 {person_id}（先用 `swflow people import` 导入）")
    return person


def list_people() -> list[dict[str, Any]]:
    """Everyone on record, without their notification addresses (they hold tokens)."""
    from sqlalchemy import select

    from .db import read_session

    with read_session() as session:
        return [
            {
                "id": p.id,
                "name": p.name,
                "roles": p.roles,
                "channels": len(p.notify),
                "active": p.active,
                "community": p.community,
            }
            for p in session.execute(select(Person).order_by(Person.id)).scalars()
        ]
