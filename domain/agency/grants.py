"""Roles that decide (督导 supervisor, 机构负责人 director) are never given by one person alone.

The operator's first `people import` into an agency with no active director gives every role (the
agency is being set up: "the operator at init"). After that, an import that would give someone a
deciding role applies everything else and holds that role back: each active director other than the
one asking gets a signed link, bound to them, to confirm it (recorded as theirs, through the link door);
until one does, the person does not hold it. The web page of the link shows who asked, for whom and which role."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.config.errors import RefusedError
from swflow.config.settings import get_settings
from swflow.db import PEOPLE_STREAM, append_event, unit_of_work
from swflow.db.tables import Person
from swflow.domain.deadlines.records import record_context
from swflow.domain.outbox import enqueue
from swflow.domain.people.links import OpenedLink, issue_link, link_url, open_link, refusals_recorded, use_link
from swflow.domain.people.records import PersonRecord, decision_grants, get_person, write_people
from swflow.domain.people.rules import ROLE_TITLES
from swflow.domain.quality.staffing import watch_people

__all__ = ["ROLE_WORDS", "GrantLink", "PeopleImport", "confirm_grant", "import_people_held", "open_grant_link"]

ROLE_WORDS = ROLE_TITLES  # one list of role titles (domain.people.rules)


@dataclass
class PeopleImport:
    added: int
    updated: int
    held: dict[str, list[str]] = field(default_factory=dict)  # person → roles waiting for a director
    asked: list[str] = field(default_factory=list)  # the directors sent a link
    links: list[str] = field(default_factory=list)  # printed for the operator, as invites are


def _directors(session: Session) -> list[Person]:
    people = session.execute(select(Person).where(Person.active.is_(True)).order_by(Person.id)).scalars()
    return [p for p in people if "director" in p.roles]


def import_people_held(records: list[PersonRecord], actor: str, now: datetime) -> PeopleImport:
    """Insert or update people in one transaction, holding back deciding roles for a director."""
    with unit_of_work() as session:
        directors = _directors(session)
        held = decision_grants(session, records) if directors else {}
        added, updated = write_people(session, records, actor, now, held)
        watch_people(session, [r.id for r in records], now)
        report = PeopleImport(added, updated, held)
        can_link = get_settings().web_secret is not None  # made by init and serve
        for person_id, roles in held.items():
            subject = {"person": person_id, "roles": roles, "requested_by": actor}
            others = [d for d in directors if d.id != actor]  # a director asking cannot also confirm
            for director in others if can_link else []:
                token = issue_link(session, director.id, "grant_roles", subject, now)
                url = link_url("grant_roles", token)
                report.links.append(url)
                enqueue(
                    session,
                    key=f"grant:{person_id}:{'+'.join(roles)}:{now.isoformat()}",
                    recipient=director,
                    template="roles_grant_requested",
                    context={
                        **record_context(None),  # agency-wide: no project
                        "link": url,
                        "person": person_id,
                        "roles": "、".join(ROLE_WORDS[r] for r in roles),
                        "requested_by": actor,
                        "link_hours": get_settings().link_hours,
                    },
                    now=now,
                    urgent=True,
                )
                if director.id not in report.asked:
                    report.asked.append(director.id)
            append_event(
                session, PEOPLE_STREAM, "people.grant_requested", actor=actor, at=now,
                payload={**subject, "asked": [d.id for d in others]},
            )  # fmt: skip
        return report


@dataclass(frozen=True)
class GrantLink:
    link_id: str
    director_id: str
    director_name: str
    person_id: str
    person_name: str
    roles: list[str]
    requested_by: str
    held_now: bool  # false when another director confirmed it meanwhile


def _grant(session: Session, link: OpenedLink) -> GrantLink:
    person = get_person(session, str(link.subject["person"]))
    director = get_person(session, link.person_id)
    roles = [str(r) for r in link.subject.get("roles", [])]
    return GrantLink(
        link.id, director.id, director.name, person.id, person.name, roles,
        str(link.subject.get("requested_by", "")), any(r not in person.roles for r in roles),
    )  # fmt: skip


def open_grant_link(token: str, now: datetime, by: str | None = None) -> GrantLink:
    """What the link asks (a GET acts on nothing)."""
    link = open_link(token, "grant_roles", now)
    if by is not None and by != link.person_id:
        raise RefusedError("这条链接是发给另一位人员的，不能由您使用")
    with unit_of_work() as session:
        return _grant(session, link)


def confirm_grant(token: str, now: datetime, by: str | None = None) -> GrantLink:
    """The director confirms: the roles are given, recorded as the director's act."""
    with refusals_recorded(now), unit_of_work() as session:
        link = use_link(session, token, "grant_roles", now, by)
        director = get_person(session, link.person_id)
        if "director" not in director.roles or not director.active:
            raise RefusedError(f"{director.id} 已不是在任的机构负责人，不能确认角色授予")
        grant = _grant(session, link)
        if grant.requested_by == director.id:
            raise RefusedError("这项角色授予是您本人提出的，须由另一位机构负责人确认（四眼原则）")
        person = session.get_one(Person, grant.person_id)  # (an inactive person keeps it but cannot act)
        given = [r for r in grant.roles if r not in person.roles]
        person.roles = [*person.roles, *given]
        person.updated_at = now
        append_event(
            session, PEOPLE_STREAM, "people.roles_granted", actor=director.id, at=now,
            payload={"person": person.id, "roles": given, "requested_by": grant.requested_by, "link": link.id},
        )  # fmt: skip
        watch_people(session, [person.id], now)
        return grant
