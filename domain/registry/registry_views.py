"""Read models the registry pages need besides the acts: the records a refused registration collides with,
as far as the viewer may know them (the same rule `register_person` applies to its refusal), and the
fields of a person's record for a page (label, choices, masked or not)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from swflow.db.engine import read_session
from swflow.db.registry_tables import ServedPerson
from swflow.domain.registry.access import sees_person
from swflow.domain.registry.common import staff
from swflow.domain.registry.rules import PersonStatus, identity_key
from swflow.domain.registry.specs import record_spec
from swflow.forms_spec import MASK

__all__ = ["DuplicateOffer", "duplicate_offer", "FieldShown", "person_fields_shown", "MASK"]


@dataclass(frozen=True)
class DuplicateOffer:
    """Active records with the same name, birth year and phone: how many, and the ids the viewer may see
    (only those may be offered as a merge; the others are never named)."""

    found: int
    visible: tuple[int, ...]


def duplicate_offer(viewer: str, data: dict[str, Any]) -> DuplicateOffer:
    name, birth_year, phone = data.get("name"), data.get("birth_year"), data.get("phone")
    if not isinstance(name, str) or not isinstance(birth_year, int):
        return DuplicateOffer(0, ())
    key = identity_key(name, birth_year, phone if isinstance(phone, str) else None)
    with read_session() as session:
        person = staff(session, viewer)
        query = select(ServedPerson).where(ServedPerson.identity_key == key, ServedPerson.status == PersonStatus.ACTIVE)
        rows = list(session.execute(query.order_by(ServedPerson.id)).scalars())
        visible = tuple(r.id for r in rows if sees_person(session, r, person))
        return DuplicateOffer(len(rows), visible)


@dataclass(frozen=True)
class FieldShown:
    name: str
    label: str
    text: str  # the value in words; the mask marker when masked; "—" when empty
    masked: bool


def person_fields_shown(data: dict[str, Any]) -> list[FieldShown]:
    """A card's data (already masked by `show_person` where the viewer may not see) in the spec's order."""
    out = []
    for spec in record_spec("person").fields:
        value = data.get(spec.name)
        if value == MASK:
            out.append(FieldShown(spec.name, spec.label, MASK, True))
            continue
        if isinstance(value, list):
            text = "、".join((spec.choices or {}).get(str(v), str(v)) for v in value)
        elif value is None or value == "":
            text = ""
        else:
            text = (spec.choices or {}).get(str(value), str(value))
        out.append(FieldShown(spec.name, spec.label, text or "—", False))
    return out
