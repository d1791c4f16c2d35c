"""Reading people served: find (within what the viewer may see), show (masked for outsiders, and the
view recorded), and the export of everything held about one person (a data subject's request)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.config.registry import registry_settings
from swflow.db.chain import canonical_json
from swflow.db.engine import read_session, unit_of_work
from swflow.db.journal import verify_stream
from swflow.db.registry_tables import Consent, Referral, ReferralFollowUp, ServedPerson
from swflow.db.tables import Event, Person, Project
from swflow.domain.registry.access import person_projects, require_sight, sees_person
from swflow.domain.registry.activity import attended
from swflow.domain.registry.common import iso, record, resolve_person, staff, stream
from swflow.domain.registry.rules import (
    PersonStatus,
    ReferralStatus,
    normalise_name,
    normalise_phone,
    salted_digest,
)
from swflow.domain.registry.specs import masked
from swflow.forms_spec import MASK

__all__ = ["find_people", "show_person", "export_person"]


def _consents(session: Session, person_id: int) -> list[dict[str, Any]]:
    purposes = registry_settings().consent_purposes
    rows = session.execute(select(Consent).where(Consent.person_id == person_id).order_by(Consent.id)).scalars()
    return [
        {
            "id": c.id,
            "purpose": c.purpose,
            "purpose_title": purposes.get(c.purpose, c.purpose),
            "given_on": c.given_on.isoformat(),
            "given_by": c.given_by,
            "recorded_by": c.recorded_by,
            "recorded_at": iso(c.recorded_at),
            "withdrawn_on": c.withdrawn_on.isoformat() if c.withdrawn_on else None,
            "withdrawn_recorded_by": c.withdrawn_recorded_by,
        }
        for c in rows
    ]


def _referrals(session: Session, person_id: int, with_notes: bool) -> list[dict[str, Any]]:
    rows = session.execute(select(Referral).where(Referral.person_id == person_id).order_by(Referral.id)).scalars()
    out = []
    for r in rows:
        item: dict[str, Any] = {
            "id": r.id,
            "project": r.project_id,
            "organisation": r.organisation_id,
            "service": r.data.get("service"),
            "status": r.status,
            "status_title": ReferralStatus.TITLES[r.status],
            "opened_at": iso(r.opened_at),
            "follow_up_due_at": iso(r.follow_up_due_at),
            "outcome": r.outcome,
        }
        if with_notes:
            follow_ups = session.execute(
                select(ReferralFollowUp).where(ReferralFollowUp.referral_id == r.id).order_by(ReferralFollowUp.id)
            ).scalars()
            item["data"] = r.data
            item["outcome_note"] = r.outcome_note
            item["follow_ups"] = [
                {"round": f.round, "status": f.status, "note": f.note, "at": iso(f.recorded_at), "by": f.recorded_by}
                for f in follow_ups
            ]
        out.append(item)
    return out


def _card(session: Session, person: ServedPerson, clear: bool) -> dict[str, Any]:
    enrolled = person_projects(session, person.id)
    records = attended(session, person.id)
    projects = sorted(set(enrolled) | {a.project_id for a in records})
    names = dict(session.execute(select(Project.id, Project.name).where(Project.id.in_(projects))).tuples().all())
    activities = [{"project": a.project_id, "activity": a.activity, "date": a.date, "title": a.title} for a in records]
    return {
        "id": person.id,
        "status": person.status,
        "merged_into": person.merged_into,
        "masked": not clear,
        "data": masked("person", person.data, clear),
        "registered_by": person.registered_by,
        "registered_at": iso(person.registered_at),
        "consents": _consents(session, person.id),
        "projects": [{"id": p, "name": names.get(p, ""), "enrolled": p in enrolled} for p in projects]
        if clear
        else MASK,
        "activities": activities if clear else MASK,
        "referrals": _referrals(session, person.id, with_notes=False) if clear else MASK,
    }


def find_people(
    viewer: str,
    name: str | None = None,
    phone: str | None = None,
    birth_year: int | None = None,
    project: str | None = None,
    tag: str | None = None,
) -> list[dict[str, Any]]:
    """Active people the viewer may see who match every criterion given (a name matches in part)."""
    with read_session() as session:
        person = staff(session, viewer)
        rows = session.execute(
            select(ServedPerson).where(ServedPerson.status == PersonStatus.ACTIVE).order_by(ServedPerson.id)
        ).scalars()
        found = []
        for row in rows:
            data = row.data
            if name and normalise_name(name) not in normalise_name(str(data.get("name", ""))):
                continue
            if phone and normalise_phone(phone) != normalise_phone(data.get("phone")):
                continue
            if (birth_year and data.get("birth_year") != birth_year) or (tag and tag not in data.get("tags", [])):
                continue
            if project and project not in person_projects(session, row.id):
                continue
            if sees_person(session, row, person):
                found.append({"id": row.id, **{k: data.get(k) for k in ("name", "gender", "birth_year", "community")}})
        return found


def show_person(person_id: int, viewer: str, now: datetime) -> dict[str, Any]:
    """The person's record; sensitive fields masked unless the viewer may see them. Recorded."""
    with unit_of_work() as session:
        person = resolve_person(session, person_id)
        clear = sees_person(session, person, staff(session, viewer))
        card = _card(session, person, clear)
        if person.id != person_id:
            card["asked_for"] = person_id
        record(session, "person", person.id, "person.viewed", viewer, now, masked=not clear)
        return card


def export_person(person_id: int, viewer: str, now: datetime) -> dict[str, Any]:
    """Everything held about one person, on their request: only for someone who may see it all."""
    with unit_of_work() as session:
        person = resolve_person(session, person_id)
        require_sight(session, person, viewer, "导出其个人信息")
        card = _card(session, person, clear=True)
        card["referrals"] = _referrals(session, person.id, with_notes=True)
        events = session.execute(
            select(Event).where(Event.stream == stream("person", person.id)).order_by(Event.seq)
        ).scalars()
        card["events"] = [
            {"seq": e.seq, "kind": e.kind, "actor": e.actor, "at": e.at, "payload": e.payload, "hash": e.hash}
            for e in events
        ]
        broken = verify_stream(session, stream("person", person.id))
        card["chain_intact"] = broken is None
        card["staff"] = {
            p.id: p.name for p in session.execute(select(Person).where(Person.id.in_(_staff_ids(card)))).scalars()
        }
        card["exported_at"] = now.isoformat()
        card["exported_by"] = viewer
        digest = salted_digest(person.salt, canonical_json(card))
        record(session, "person", person.id, "person.exported", viewer, now, export_sha256=digest)
        return card


def _staff_ids(card: dict[str, Any]) -> set[str]:
    ids = {card["registered_by"]} | {c["recorded_by"] for c in card["consents"]}
    return ids | {e["actor"] for e in card["events"]}
