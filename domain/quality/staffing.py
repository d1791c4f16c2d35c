"""§8.1 staffing: qualified community social workers per community, certificates watched until
they expire; and the agency's first risk-rules review, scheduled when its people are first set up."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.config.clock import SHANGHAI
from swflow.config.escalation import get_policy
from swflow.config.quality import quality_settings
from swflow.config.settings import get_settings
from swflow.db.engine import read_session
from swflow.db.journal import append_event
from swflow.db.quality_tables import CertificateWatch, RiskReview
from swflow.db.tables import Person, Project
from swflow.domain.deadlines.rules import next_fire
from swflow.domain.people.rules import qualification_problem
from swflow.domain.quality.common import QUALITY_STREAM
from swflow.domain.quality.rules import add_months, end_of_day, staffing_flag
from swflow.domain.quality.supervision import refresh_due

__all__ = ["watch_people", "watch_certificates", "schedule_risk_review", "staffing_report"]


def watch_certificates(session: Session, person: Person, now: datetime) -> list[int]:
    """One watch per certificate still valid; a certificate no longer on record stops being watched."""
    today = now.astimezone(SHANGHAI).date()
    steps = get_policy(quality_settings().certificates.escalation_policy).steps
    current = {
        (str(q.get("number") or ""), date.fromisoformat(str(q["valid_until"]))): str(q.get("level") or "")
        for q in person.qualifications
        if q.get("kind") == "certificate" and q.get("valid_until")
    }
    watched = session.execute(
        select(CertificateWatch).where(CertificateWatch.person_id == person.id, CertificateWatch.status == "active")
    ).scalars()
    for watch in watched:
        if (watch.number, watch.valid_until) not in current or not person.active:
            watch.status, watch.next_escalation_at = "replaced", None
    added = []
    for (number, valid_until), level in current.items():
        if valid_until < today or not person.active:
            continue  # already expired: the staffing report says so; there is nothing left to remind
        exists = session.execute(
            select(CertificateWatch.id).where(
                CertificateWatch.person_id == person.id,
                CertificateWatch.number == number,
                CertificateWatch.valid_until == valid_until,
            )
        ).first()
        if exists is None:
            due = end_of_day(valid_until, get_settings().workday_end_hour)
            watch = CertificateWatch(
                person_id=person.id,
                level=level[:64],
                number=number[:64],
                valid_until=valid_until,
                due_at=due,
                status="active",
                next_escalation_at=next_fire(due, steps, 0),
                escalation_step=0,
            )
            session.add(watch)
            session.flush()
            added.append(watch.id)
    return added


def schedule_risk_review(session: Session, since: date, now: datetime, actor: str) -> RiskReview:
    """The next review of the risk management rules, `every_months` after `since`."""
    rule = quality_settings().risk_review
    due = end_of_day(add_months(since, rule.every_months), get_settings().workday_end_hour)
    review = RiskReview(
        due_at=due,
        status="due",
        note="",
        next_escalation_at=next_fire(due, get_policy(rule.escalation_policy).steps, 0),
        escalation_step=0,
    )
    session.add(review)
    session.flush()
    append_event(
        session,
        QUALITY_STREAM,
        "risk_review.scheduled",
        actor=actor,
        at=now,
        payload={"review": review.id, "due_at": due.isoformat()},
    )
    return review


def watch_people(session: Session, person_ids: list[str], now: datetime) -> None:
    """After people are imported: their supervision due dates and certificates, and the agency's
    first risk-rules review if none is scheduled yet. Inside the import's transaction."""
    certificates = []
    for person_id in person_ids:
        person = session.get_one(Person, person_id)
        refresh_due(session, person, now)
        certificates += watch_certificates(session, person, now)
    if certificates:
        append_event(
            session, QUALITY_STREAM, "certificates.watched", actor="swflow", at=now, payload={"watches": certificates}
        )
    if session.execute(select(RiskReview.id).limit(1)).first() is None:
        schedule_risk_review(session, now.astimezone(SHANGHAI).date(), now, actor="swflow")


def staffing_report(at: datetime) -> dict[str, Any]:
    """Per community: qualified workers on record, flagged when an urban one has none; and the
    certificates that expire within the configured window (or have expired)."""
    settings = quality_settings()
    day = at.astimezone(SHANGHAI).date()
    window = day + timedelta(days=settings.certificates.report_within_days)
    with read_session() as session:
        people = list(session.execute(select(Person).where(Person.active.is_(True)).order_by(Person.id)).scalars())
        projects = set(session.execute(select(Project.community).where(Project.status == "running")).scalars())
    communities = set(settings.staffing.communities) | projects | {p.community for p in people if p.community}
    rows = []
    for community in sorted(communities):
        workers = [p for p in people if p.community == community and "worker" in p.roles]
        qualified = [p.id for p in workers if qualification_problem(p.id, p.qualifications, day) is None]
        kind = settings.staffing.kind_of(community)
        rows.append(
            {
                "community": community,
                "kind": kind,
                "workers": [p.id for p in workers],
                "qualified": qualified,
                "flag": staffing_flag(kind, len(qualified)),
            }
        )
    expiring = [
        {
            "person": p.id,
            "name": p.name,
            "level": q.get("level"),
            "valid_until": str(q["valid_until"]),
            "expired": date.fromisoformat(str(q["valid_until"])) < day,
        }
        for p in people
        for q in p.qualifications
        if q.get("kind") == "certificate" and q.get("valid_until")
        if date.fromisoformat(str(q["valid_until"])) <= window
    ]
    return {"communities": rows, "certificates": sorted(expiring, key=lambda c: (c["valid_until"], c["person"]))}
