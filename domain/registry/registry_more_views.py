"""Read models the organisation, volunteer and referral pages need besides the acts: the name of the person
each referral concerns as far as the viewer may know it (the same rule `show_person` applies: outside the
person's circle the name is the mask marker), and the choices of a record's fields for a form."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import select

from swflow.db.engine import read_session
from swflow.db.registry_tables import ServedPerson
from swflow.domain.registry.access import sees_person
from swflow.domain.registry.common import staff
from swflow.domain.registry.orgs import LINK_OUTCOMES
from swflow.domain.registry.rules import OUTCOMES, ReferralStatus
from swflow.domain.registry.specs import RecordKind, record_spec
from swflow.forms_spec import MASK

__all__ = [
    "MASK",
    "referral_names",
    "field_choices",
    "field_labels",
    "field_errors",
    "UPDATE_STATUSES",
    "OUTCOMES",
    "LINK_OUTCOMES",
]

UPDATE_STATUSES = {code: ReferralStatus.TITLES[code] for code in ReferralStatus.UPDATES}


def referral_names(viewer: str, person_ids: Iterable[int]) -> dict[int, str]:
    """Each person's name for the viewer: the name inside their circle, the mask marker outside it."""
    wanted = sorted(set(person_ids))
    if not wanted:
        return {}
    with read_session() as session:
        person = staff(session, viewer)
        rows = session.execute(select(ServedPerson).where(ServedPerson.id.in_(wanted))).scalars()
        return {r.id: str(r.data.get("name") or "—") if sees_person(session, r, person) else MASK for r in rows}


def field_choices(kind: RecordKind, name: str) -> dict[str, str]:
    return next((dict(f.choices or {}) for f in record_spec(kind).fields if f.name == name), {})


def field_labels(kind: RecordKind) -> dict[str, str]:
    return {f.name: f.label for f in record_spec(kind).fields}


NAMED = re.compile(r"（([a-z][a-z0-9_]*)）$")
FLAGS = {
    "--course": "course",
    "--hours": "hours",
    "--note": "note",
    "--next": "next_on",
    "--outcome": "outcome",
    "--result": "result",
    "--registered-on": "registered_on",
}


def field_errors(problems: list[tuple[str, str]]) -> dict[str, list[str]]:
    """A refusal's problems at the fields they name (`名称（name）`, the CLI's `--hours`, `agency`); the rest at
    the top (""), so a page shows each rule beside its field."""
    errs: dict[str, list[str]] = {}
    for where, rule in problems:
        named = NAMED.search(where)
        key = named.group(1) if named else FLAGS.get(where, where if re.fullmatch(r"[a-z_]+", where) else "")
        errs.setdefault(key, []).append(rule if key else f"{where}：{rule}")
    return errs
