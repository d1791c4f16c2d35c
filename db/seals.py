"""Seals: every write transaction that changes an agency record (a complaint, an incident, a
supervision session, a referral, a person served, a volunteer, an organisation, a resource link, or
a row that belongs to one: its actions, attendees, consents, enrolments, trainings, certificates,
follow-ups) ends with that record's latest event carrying `row_sha256`, a digest of the record's
rows as the database holds them at commit.

`archive verify` recomputes the digest from the tables and compares it with the last seal of the
record's stream: a cell changed, a child row added, moved or deleted behind the acts' back is named.
The seal is taken when the transaction commits, not when the act appends its event, so an act may
change its rows in any order. A transaction that changes a record without an event on its stream
(merging two people moves the other's referrals) gets a `record.updated` event on it, naming the
stream whose act caused it. Escalation bookkeeping (`next_escalation_at`, `escalation_step`) is
working state, not part of a seal. Records last changed before this release carry no seal and are
checked for their stream only.

Only sessions of `ArchiveSession` (the ones `unit_of_work` makes) seal; a plain Session does not.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from swflow.config.clock import system_clock
from swflow.db.chain import canonical_json, event_hash
from swflow.db.journal import append_event, event_body
from swflow.db.quality_tables import Complaint, Incident, QualityAction, SupervisionAttendee, SupervisionSession
from swflow.db.registry_tables import (
    Consent,
    Enrolment,
    Organisation,
    Referral,
    ReferralFollowUp,
    ResourceLink,
    ServedPerson,
    Volunteer,
    VolunteerCertificate,
    VolunteerTraining,
)
from swflow.db.tables import Event, EventHead

__all__ = ["ArchiveSession", "SEALED", "SEAL_KEY", "UNSEALED_COLUMNS", "record_seal", "record_seals", "sealed_columns"]

SEAL_KEY = "row_sha256"
UNSEALED_COLUMNS = frozenset({"next_escalation_at", "escalation_step"})  # the sweep's bookkeeping


@dataclass(frozen=True)
class Child:
    model: Any
    parent: str  # the column naming the record it belongs to
    kind: str | None = None  # the record's kind when one column holds it (a quality action's source)


# stream kind → (the record's table, the tables of the rows that belong to it)
SEALED: dict[str, tuple[Any, tuple[Child, ...]]] = {
    "complaint": (Complaint, (Child(QualityAction, "source_id", "source"),)),
    "incident": (Incident, ()),
    "supervision": (
        SupervisionSession,
        (Child(SupervisionAttendee, "session_id"), Child(QualityAction, "source_id", "source")),
    ),
    "referral": (Referral, (Child(ReferralFollowUp, "referral_id"),)),
    "person": (ServedPerson, (Child(Consent, "person_id"), Child(Enrolment, "person_id"))),
    "volunteer": (Volunteer, (Child(VolunteerTraining, "volunteer_id"), Child(VolunteerCertificate, "volunteer_id"))),
    "organisation": (Organisation, ()),
    "resource_link": (ResourceLink, ()),
}
_ROOTS = {table: kind for kind, (table, _) in SEALED.items()}
_CHILDREN = [(kind, child) for kind, (_, children) in SEALED.items() for child in children]


def sealed_columns(model: Any) -> list[str]:
    return [c.name for c in model.__table__.columns if c.name not in UNSEALED_COLUMNS]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _rows(session: Session, model: Any, *where: Any) -> list[dict[str, Any]]:
    names = sealed_columns(model)
    table = model.__table__
    keys = [table.c[c.name] for c in table.primary_key.columns]
    query = select(*(table.c[n] for n in names)).where(*where).order_by(*keys)
    return [{n: _plain(v) for n, v in zip(names, row, strict=True)} for row in session.execute(query)]


def _digest(facts: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(facts).encode()).hexdigest()


def record_seals(session: Session, kind: str) -> dict[int, str]:
    """Every record of `kind` and its digest, in one query per table (what `archive verify` reads)."""
    model, children = SEALED[kind]
    facts: dict[int, dict[str, Any]] = {row["id"]: {"record": row} for row in _rows(session, model)}
    for child in children:
        name = child.model.__tablename__
        for found in facts.values():
            found[name] = []
        where = [child.model.__table__.c[child.kind] == kind] if child.kind is not None else []
        for row in _rows(session, child.model, *where):
            parent = facts.get(row[child.parent])
            if parent is not None:
                parent[name].append(row)
    return {record_id: _digest(found) for record_id, found in facts.items()}


def record_seal(session: Session, kind: str, record_id: int) -> str | None:
    """The digest of the record's rows as stored now (None when the record has no row)."""
    model, children = SEALED[kind]
    own = _rows(session, model, model.__table__.c.id == record_id)
    if not own:
        return None
    facts: dict[str, Any] = {"record": own[0]}
    for child in children:
        where = [child.model.__table__.c[child.parent] == record_id]
        if child.kind is not None:
            where.append(child.model.__table__.c[child.kind] == kind)
        facts[child.model.__tablename__] = _rows(session, child.model, *where)
    return _digest(facts)


class ArchiveSession(Session):
    """The write session of `unit_of_work`: it seals the agency records it changed."""


def _owners(obj: Any, changed: bool) -> set[str]:
    """The streams of the records `obj` belongs to (before and after a move)."""
    state = inspect(obj)
    if type(obj) in _ROOTS:
        return {f"{_ROOTS[type(obj)]}:{obj.id}"} if obj.id is not None else set()
    found: set[str] = set()
    for kind, child in _CHILDREN:
        if type(obj) is not child.model:
            continue
        parents = {getattr(obj, child.parent)}
        kinds = {getattr(obj, child.kind)} if child.kind else {kind}
        if changed:
            history = state.attrs[child.parent].history
            parents |= set(history.deleted)
            if child.kind:
                kinds |= set(state.attrs[child.kind].history.deleted)
        found |= {f"{k}:{p}" for k in kinds for p in parents if k == kind and p is not None}
    return found


def _sealed_change(obj: Any) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in sealed_columns(type(obj)))


@event.listens_for(ArchiveSession, "before_flush")
def _note(session: Session, _context: Any, _instances: Any) -> None:
    touched: set[str] = session.info.setdefault("sealed_touched", set())
    for obj in session.new:
        if isinstance(obj, Event):
            session.info["last_event"] = obj
            latest = session.info.setdefault("sealed_events", {})
            if obj.stream.partition(":")[0] in SEALED and (
                obj.stream not in latest or latest[obj.stream].seq < obj.seq
            ):
                latest[obj.stream] = obj
        elif type(obj) in _ROOTS or any(type(obj) is c.model for _, c in _CHILDREN):
            touched.add(obj)
    for obj in session.dirty:
        if (type(obj) in _ROOTS or any(type(obj) is c.model for _, c in _CHILDREN)) and _sealed_change(obj):
            touched |= _owners(obj, changed=True)
    for obj in session.deleted:
        if type(obj) in _ROOTS or any(type(obj) is c.model for _, c in _CHILDREN):
            touched |= _owners(obj, changed=False)


def _rehash(session: Session, record_event: Event, seal: str) -> None:
    record_event.payload = {**record_event.payload, SEAL_KEY: seal}
    record_event.hash = event_hash(record_event.prev_hash, event_body(record_event))
    head = session.get_one(EventHead, record_event.stream)
    head.hash = record_event.hash


@event.listens_for(ArchiveSession, "before_commit")
def _seal(session: Session) -> None:
    session.flush()
    touched: set[Any] = session.info.pop("sealed_touched", set())
    streams = {t for t in touched if isinstance(t, str)}
    streams |= {s for t in touched if not isinstance(t, str) for s in _owners(t, changed=False)}  # new rows
    events: dict[str, Event] = session.info.pop("sealed_events", {})
    cause: Event | None = session.info.pop("last_event", None)
    for stream in sorted(streams - set(events)):
        kind, _, record = stream.partition(":")
        if record_seal(session, kind, int(record)) is None:
            continue  # the record itself is gone (its row's absence is verify's to name)
        events[stream] = append_event(
            session,
            stream,
            "record.updated",
            actor=cause.actor if cause else "swflow",
            at=datetime.fromisoformat(cause.at) if cause else system_clock(),
            payload={"cause": f"{cause.stream}#{cause.seq}" if cause else None},
        )
    for stream, last in sorted(events.items()):
        kind, _, record = stream.partition(":")
        if record.isdigit() and (seal := record_seal(session, kind, int(record))) is not None:
            _rehash(session, last, seal)
    session.info.pop("sealed_touched", None)
    session.info.pop("sealed_events", None)
    session.flush()


@event.listens_for(ArchiveSession, "after_rollback")
def _forget(session: Session) -> None:
    for key in ("sealed_touched", "sealed_events", "last_event"):
        session.info.pop(key, None)
