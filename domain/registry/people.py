"""People served (服务对象): register (a second registration of the same person is caught and offered
as a merge), consent and its withdrawal, joining a project, merging two records, forgetting."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.config.clock import SHANGHAI
from swflow.config.errors import FormError, RefusedError
from swflow.config.registry import registry_settings
from swflow.db.engine import serialise_on, unit_of_work
from swflow.db.registry_tables import Consent, Enrolment, ServedPerson
from swflow.db.tables import Person, Project
from swflow.domain.registry.access import require_sight, sees_person
from swflow.domain.registry.common import get_project, on_team, record, resolve_person, served_person, staff
from swflow.domain.registry.rules import PersonStatus, identity_key, salted_digest
from swflow.domain.registry.specs import checked

__all__ = [
    "ConsentGiven",
    "Registration",
    "register_person",
    "record_consent",
    "withdraw_consent",
    "join_project",
    "add_consent",
    "enrol",
    "fill_missing",
]


class ConsentGiven(BaseModel):
    model_config = ConfigDict(extra="forbid")
    purpose: str
    given_on: date
    given_by: Literal["self", "guardian"] = "self"


class Registration(BaseModel):
    """One `person add`: the record's fields (forms_spec/registry/served-person.yaml) and what to do
    with them. `merge_into` takes an offered merge; `not_duplicate` registers anyway (say, twins
    sharing a family phone)."""

    model_config = ConfigDict(extra="forbid")
    data: dict[str, Any]
    project: str | None = None
    consents: list[ConsentGiven] = Field(default=[])
    merge_into: int | None = None
    not_duplicate: bool = False


def _check_person_data(data: dict[str, Any], now: datetime) -> dict[str, Any]:
    clean = checked("person", data)
    year = now.astimezone(SHANGHAI).year
    if clean["birth_year"] > year:
        raise FormError(
            f"出生年份（birth_year）：不能晚于今年（{year}）", [("出生年份（birth_year）", f"不能晚于 {year}")]
        )
    return clean


def _check_consent(consent: ConsentGiven, now: datetime) -> None:
    purposes = registry_settings().consent_purposes
    if consent.purpose not in purposes:
        raise FormError(
            f"--purpose：没有同意用途 {consent.purpose}（可选：{', '.join(purposes)}）",
            [("--purpose", f"可选：{', '.join(purposes)}")],
        )
    if consent.given_on > now.astimezone(SHANGHAI).date():
        raise FormError("--date：同意日期不能晚于今天", [("--date", "不能晚于今天")])


def add_consent(session: Session, person: ServedPerson, consent: ConsentGiven, by: str, now: datetime) -> Consent:
    row = Consent(
        person_id=person.id,
        purpose=consent.purpose,
        given_on=consent.given_on,
        given_by=consent.given_by,
        recorded_by=by,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    record(
        session,
        "person",
        person.id,
        "consent.given",
        by,
        now,
        consent=row.id,
        purpose=row.purpose,
        given_on=row.given_on.isoformat(),
        given_by=row.given_by,
    )
    return row


def enrol(session: Session, person: ServedPerson, project: Project, by: Person, now: datetime) -> bool:
    """The person takes part in `project`; `by` must be on its team. False when already enrolled."""
    if not on_team(session, project, by):
        raise RefusedError(f"{by.id} 不是项目 {project.id} 的团队成员，不能把服务对象加入该项目")
    if session.get(Enrolment, (person.id, project.id)) is not None:
        return False
    session.add(Enrolment(person_id=person.id, project_id=project.id, joined_by=by.id, joined_at=now))
    record(session, "person", person.id, "person.joined", by.id, now, project_id=project.id, project=project.id)
    return True


def fill_missing(target: dict[str, Any], source: dict[str, Any]) -> tuple[dict[str, Any], list[str], list[str]]:
    """`target` with the fields it lacks taken from `source` and tags joined; (data, added, differing)."""
    merged: dict[str, Any] = dict(target)
    added: list[str] = []
    differing: list[str] = []
    for key, value in source.items():
        if key == "tags":
            tags = list(dict.fromkeys([*target.get("tags", []), *value]))
            if tags != target.get("tags", []):
                merged["tags"], added = tags, [*added, key]
        elif key not in target or target[key] in (None, ""):
            merged[key], added = value, [*added, key]
        elif target[key] != value:
            differing.append(key)
    return merged, added, differing


def _duplicates(session: Session, key: str) -> list[int]:
    query = select(ServedPerson.id).where(ServedPerson.identity_key == key, ServedPerson.status == PersonStatus.ACTIVE)
    return list(session.execute(query.order_by(ServedPerson.id)).scalars())


def _offer_merge(found: list[int], by: str, visible: list[int]) -> RefusedError:
    if not visible:  # the registrar may not learn that this person is someone's client
        return RefusedError(
            "可能重复登记：已有一条姓名、出生年份和电话相同的登记，但不在您的知悉范围内，未登记。\n"
            "  请联系其所在项目的团队或机构负责人确认；确非同一人时可在本命令后加 --not-duplicate"
        )
    found = visible
    ids = "、".join(f"#{i}" for i in found)
    return RefusedError(
        f"重复登记：服务对象 {ids} 的姓名、出生年份和电话与本次登记相同，可能是同一人，未登记。\n"
        f"  是同一人：在本命令后加 --merge-into {found[0]}，把本次登记的信息补充进 #{found[0]}"
        "（只补空缺、不覆盖；给了 --project 时同时加入该项目）\n"
        "  不是同一人（如双胞胎共用家庭电话）：在本命令后加 --not-duplicate\n"
        f"  两条已有记录要合并：swflow registry person merge KEEP OTHER --by {by}"
    )


def register_person(request: Registration, by: str, now: datetime) -> dict[str, Any]:
    clean = _check_person_data(request.data, now)
    for consent in request.consents:
        _check_consent(consent, now)
    key = identity_key(clean["name"], clean["birth_year"], clean.get("phone"))
    with unit_of_work() as session:
        registrar = staff(session, by)
        project = get_project(session, request.project)
        if project is not None and not on_team(session, project, registrar):
            raise RefusedError(f"{by} 不是项目 {project.id} 的团队成员，不能为该项目登记服务对象")
        serialise_on(session, f"served-person:{key}")  # two registrations of one person: one waits
        found = _duplicates(session, key)
        if request.merge_into is not None:
            if request.merge_into not in found:
                raise RefusedError(
                    f"服务对象 #{request.merge_into} 的姓名、出生年份和电话与本次登记不同"
                    "（或已合并、已匿名化），不能合并"
                )
            row = served_person(session, request.merge_into, lock=True)
            require_sight(session, row, by, "把登记合并进该记录")
            row.data, added, differing = fill_missing(row.data, clean)
            row.updated_at = now
            record(
                session,
                "person",
                row.id,
                "person.registration_merged",
                by,
                now,
                fields_added=added,
                fields_differing=differing,
                data_sha256=salted_digest(row.salt, row.data),
            )
            result = {"id": row.id, "merged": True, "fields_added": added, "fields_differing": differing}
        else:
            if found and not request.not_duplicate:
                visible = [i for i in found if sees_person(session, served_person(session, i), registrar)]
                raise _offer_merge(found, by, visible)
            row = ServedPerson(
                data=clean,
                identity_key=key,
                salt=secrets.token_hex(16),
                status=PersonStatus.ACTIVE,
                registered_by=by,
                registered_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            record(
                session,
                "person",
                row.id,
                "person.registered",
                by,
                now,
                fields=sorted(clean),
                data_sha256=salted_digest(row.salt, clean),
                distinct_from=found,
            )
            result = {"id": row.id, "merged": False, "distinct_from": found}
        for consent in request.consents:
            add_consent(session, row, consent, by, now)
        result["joined"] = enrol(session, row, project, registrar, now) if project is not None else False
        return result


def record_consent(person_id: int, consent: ConsentGiven, by: str, now: datetime) -> int:
    _check_consent(consent, now)
    with unit_of_work() as session:
        person = resolve_person(session, person_id, lock=True)
        if person.status != PersonStatus.ACTIVE:
            raise RefusedError(f"服务对象 #{person.id} 已匿名化，不能再记录同意")
        require_sight(session, person, by, "记录其同意")
        return add_consent(session, person, consent, by, now).id


def withdraw_consent(person_id: int, purpose: str, on: date, by: str, now: datetime) -> list[int]:
    """Every consent for `purpose` still in force ends on `on`. Returns the consents withdrawn."""
    with unit_of_work() as session:
        person = resolve_person(session, person_id, lock=True)
        require_sight(session, person, by, "记录其撤回同意")
        rows = session.execute(
            select(Consent).where(
                Consent.person_id == person.id, Consent.purpose == purpose, Consent.withdrawn_on.is_(None)
            )
        ).scalars()
        withdrawn = []
        for row in rows:
            row.withdrawn_on, row.withdrawn_recorded_by, row.withdrawn_at = on, by, now
            withdrawn.append(row.id)
            record(session, "person", person.id, "consent.withdrawn", by, now, consent=row.id, purpose=purpose)
        if not withdrawn:
            raise RefusedError(f"服务对象 #{person.id} 没有仍然有效的「{purpose}」同意")
        return withdrawn


def join_project(person_id: int, project_id: str, by: str, now: datetime) -> bool:
    """Only someone who already sees the person may add them to a project: a team cannot open
    a stranger's file by naming their id (a new team registers them and takes the offered merge)."""
    with unit_of_work() as session:
        person = resolve_person(session, person_id, lock=True)
        if person.status != PersonStatus.ACTIVE:
            raise RefusedError(f"服务对象 #{person.id} 已匿名化，不能加入项目")
        viewer = require_sight(session, person, by, "把其加入项目")
        project = get_project(session, project_id)
        assert project is not None
        return enrol(session, person, project, viewer, now)
