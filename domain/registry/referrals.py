"""Referrals (转介, §8.3.4): to which agency or service and why, only with the person's consent;
follow-ups due in working days (escalated by the deadline sweep when late); closure with the outcome.
Each referral keeps its own hash-chained history (stream `referral:<id>`)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.config.calendar import due_at
from swflow.config.clock import SHANGHAI
from swflow.config.errors import FormError, RefusedError
from swflow.config.escalation import get_policy
from swflow.config.registry import registry_settings
from swflow.config.settings import get_settings
from swflow.db.engine import read_session, unit_of_work
from swflow.db.journal import append_event
from swflow.db.registry_tables import Consent, Organisation, Referral, ReferralFollowUp, ServedPerson
from swflow.db.tables import Person
from swflow.domain.deadlines.rules import next_fire
from swflow.domain.registry.access import require_sight, sees_person
from swflow.domain.registry.common import (
    get_project,
    iso,
    organisation,
    record,
    referral,
    resolve_person,
    staff,
    stream,
)
from swflow.domain.registry.people import enrol
from swflow.domain.registry.rules import (
    OUTCOMES,
    ConsentView,
    PersonStatus,
    ReferralStatus,
    active_consent,
    salted_digest,
    why_not_close_referral,
    why_not_update_referral,
)
from swflow.domain.registry.specs import checked, masked
from swflow.forms_spec import MASK

__all__ = ["open_referral", "update_referral", "close_referral", "list_referrals", "show_referral", "referral_steps"]


def referral_steps() -> Any:
    return get_policy(registry_settings().referrals.escalation_policy).steps


def _schedule(row: Referral, due: datetime) -> None:
    row.follow_up_due_at, row.escalation_step = due, 0
    row.next_escalation_at = next_fire(due, referral_steps(), 0)


def _consent_for_referral(session: Session, person: ServedPerson, now: datetime) -> Consent:
    purpose = registry_settings().referrals.consent_purpose
    rows = list(session.execute(select(Consent).where(Consent.person_id == person.id)).scalars())
    views = [ConsentView(c.id, c.purpose, c.given_on, c.withdrawn_on) for c in rows]
    found = active_consent(views, purpose, now.astimezone(SHANGHAI).date())
    if found is None:
        raise RefusedError(
            f"服务对象 #{person.id} 没有有效的「{registry_settings().consent_purposes[purpose]}」同意，不能转介。"
            f"先征得本人（或监护人）同意并记录：swflow registry person consent {person.id} --purpose {purpose} --by …"
        )
    return next(c for c in rows if c.id == found.id)


def open_referral(
    person_id: int,
    data: dict[str, Any],
    by: str,
    now: datetime,
    organisation_id: int | None = None,
    project_id: str | None = None,
) -> dict[str, Any]:
    clean = checked("referral", data)
    if organisation_id is None and not clean.get("agency"):
        raise FormError("接收机构：--org（已登记的组织编号）或 --agency（名称）至少写一项", [("agency", "必填")])
    rule = registry_settings().referrals
    with unit_of_work() as session:
        person = resolve_person(session, person_id, lock=True)
        if person.status != PersonStatus.ACTIVE:
            raise RefusedError(f"服务对象 #{person.id} 已匿名化，不能转介")
        worker = require_sight(session, person, by, "为其转介")
        consent = _consent_for_referral(session, person, now)
        if organisation_id is not None:
            organisation(session, organisation_id)
        project = get_project(session, project_id)
        if project is not None:
            enrol(session, person, project, worker, now)
        row = Referral(
            person_id=person.id,
            project_id=project.id if project else None,
            organisation_id=organisation_id,
            consent_id=consent.id,
            data=clean,
            owner_id=by,
            status=ReferralStatus.SENT,
            opened_by=by,
            opened_at=now,
            follow_up_round=1,
        )
        _schedule(row, due_at(now, rule.first_follow_up_days, get_settings().workday_end_hour))
        session.add(row)
        session.flush()
        assert row.follow_up_due_at is not None
        record(
            session,
            "referral",
            row.id,
            "referral.opened",
            by,
            now,
            project_id=row.project_id,
            person=person.id,
            organisation=organisation_id,
            consent=consent.id,
            urgency=clean["urgency"],
            follow_up_due_at=row.follow_up_due_at.isoformat(),
            data_sha256=salted_digest(person.salt, clean),
        )
        append_event(
            session,
            stream("person", person.id),
            "referral.opened",
            actor=by,
            at=now,
            payload={"person": person.id, "referral": row.id},
        )
        return {"id": row.id, "person": person.id, "consent": consent.id, "follow_up_due_at": iso(row.follow_up_due_at)}


def _acted_on(session: Session, referral_id: int, by: str, act: str) -> tuple[Referral, ServedPerson, Person]:
    row = referral(session, referral_id, lock=True)
    person = session.get_one(ServedPerson, row.person_id)
    return row, person, require_sight(session, person, by, act)


def _next_due(now: datetime, on: date | None) -> datetime:
    end_hour = get_settings().workday_end_hour
    if on is None:
        return due_at(now, registry_settings().referrals.follow_up_every_days, end_hour)
    if on <= now.astimezone(SHANGHAI).date():
        raise FormError("--next：下一次跟进日期须在今天之后", [("--next", "晚于今天")])
    return datetime.combine(on, time(end_hour), SHANGHAI)


def update_referral(
    referral_id: int, by: str, note: str, now: datetime, status: str | None = None, next_on: date | None = None
) -> dict[str, Any]:
    """A follow-up (跟踪记录): what was learnt, the status now, when to follow up next."""
    if not note.strip():
        raise FormError("--note：须记录本次跟进的情况", [("--note", "必填")])
    with unit_of_work() as session:
        row, person, _ = _acted_on(session, referral_id, by, "跟进其转介")
        new_status = status or row.status
        if problem := why_not_update_referral(row.status, new_status, row.id):
            raise RefusedError(problem)
        assert row.follow_up_due_at is not None
        late = now > row.follow_up_due_at
        due = _next_due(now, next_on)
        session.add(
            ReferralFollowUp(
                referral_id=row.id,
                round=row.follow_up_round,
                status=new_status,
                note=note,
                late=late,
                next_due_at=due,
                recorded_by=by,
                recorded_at=now,
            )
        )
        row.status, row.follow_up_round = new_status, row.follow_up_round + 1
        _schedule(row, due)
        record(
            session,
            "referral",
            row.id,
            "referral.followed_up",
            by,
            now,
            project_id=row.project_id,
            round=row.follow_up_round - 1,
            status=new_status,
            late=late,
            next_due_at=due.isoformat(),
            note_sha256=salted_digest(person.salt, note),
        )
        return {"id": row.id, "status": new_status, "late": late, "follow_up_due_at": iso(due)}


def close_referral(referral_id: int, by: str, outcome: str, note: str, now: datetime) -> dict[str, Any]:
    with unit_of_work() as session:
        row, person, _ = _acted_on(session, referral_id, by, "为其转介结案")
        if problem := why_not_close_referral(row.status, outcome, row.id):
            raise (
                RefusedError(problem)
                if row.status == ReferralStatus.CLOSED
                else FormError(problem, [("--outcome", problem)])
            )
        row.status, row.outcome, row.outcome_note = ReferralStatus.CLOSED, outcome, note
        row.closed_by, row.closed_at, row.next_escalation_at = by, now, None
        record(
            session,
            "referral",
            row.id,
            "referral.closed",
            by,
            now,
            project_id=row.project_id,
            outcome=outcome,
            note_sha256=salted_digest(person.salt, note),
        )
        return {"id": row.id, "outcome": outcome, "outcome_title": OUTCOMES[outcome]}


def _summary(session: Session, row: Referral, viewer: Person, now: datetime) -> dict[str, Any]:
    person = session.get_one(ServedPerson, row.person_id)
    clear = sees_person(session, person, viewer)
    org = session.get(Organisation, row.organisation_id) if row.organisation_id else None
    late = row.status != ReferralStatus.CLOSED and row.follow_up_due_at is not None and now > row.follow_up_due_at
    return {
        "id": row.id,
        "person": row.person_id,
        "project": row.project_id,
        "organisation": row.organisation_id,
        "agency": org.data["name"] if org else row.data.get("agency"),
        "masked": not clear,
        "data": masked("referral", row.data, clear),
        "status": row.status,
        "status_title": ReferralStatus.TITLES[row.status],
        "owner": row.owner_id,
        "opened_at": iso(row.opened_at),
        "follow_up_round": row.follow_up_round,
        "follow_up_due_at": iso(row.follow_up_due_at) if row.status != ReferralStatus.CLOSED else None,
        "late": late,
        "outcome": row.outcome,
        "closed_at": iso(row.closed_at),
    }


def list_referrals(
    viewer: str, now: datetime, status: str | None = None, person_id: int | None = None, project_id: str | None = None
) -> list[dict[str, Any]]:
    """Every referral with its due date and lateness; reasons masked outside the person's circle."""
    with read_session() as session:
        person = staff(session, viewer)
        query = select(Referral).order_by(Referral.id)
        if status == "open":
            query = query.where(Referral.status != ReferralStatus.CLOSED)
        elif status:
            query = query.where(Referral.status == status)
        if person_id is not None:
            query = query.where(Referral.person_id == resolve_person(session, person_id).id)
        if project_id:
            query = query.where(Referral.project_id == project_id)
        return [_summary(session, row, person, now) for row in session.execute(query).scalars()]


def show_referral(referral_id: int, viewer: str, now: datetime) -> dict[str, Any]:
    with read_session() as session:
        row = referral(session, referral_id)
        summary = _summary(session, row, staff(session, viewer), now)
        follow_ups = session.execute(
            select(ReferralFollowUp).where(ReferralFollowUp.referral_id == row.id).order_by(ReferralFollowUp.id)
        ).scalars()
        summary["follow_ups"] = [
            {
                "round": f.round,
                "status": f.status,
                "late": f.late,
                "by": f.recorded_by,
                "at": iso(f.recorded_at),
                "next_due_at": iso(f.next_due_at),
                "note": f.note if not summary["masked"] else MASK,
            }
            for f in follow_ups
        ]
        summary["outcome_note"] = row.outcome_note if not summary["masked"] else MASK
        return summary
