"""Which archived records have passed their retention period (§8.3.4) and await appraisal:
projects' records by category, and the agency's own records (registry and quality)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from swflow.config.clock import SHANGHAI
from swflow.config.retention import event_category, retention_rules
from swflow.db.engine import read_session
from swflow.db.journal import project_stream, stream_title
from swflow.db.tables import Event, Project

__all__ = ["records_by_category", "records_due_for_review"]


def records_by_category(project: Project, events: list[Event]) -> Counter[str]:
    """How many events of a project fall in each category (a submission counts in its form's)."""
    counts: Counter[str] = Counter()
    for event in events:
        form = event.payload.get("form") if event.kind.startswith("form.") else None
        form_category = project.forms_snapshot.get(form, {}).get("category") if form else None
        counts[event_category(event.kind, form_category)] += 1
    return counts


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def records_due_for_review(now: datetime) -> list[dict[str, Any]]:
    """Records whose retention ended before `now`: per closed project and category, then the
    agency's own records (people served, referrals, complaints, incidents, supervision sessions),
    each counted from when it was last in use. Nothing is deleted: an archivist appraises them."""
    rules = retention_rules().categories
    found: list[tuple[str | None, str, str, str, int, datetime]] = []  # project, stream, name, category, n, end
    with read_session() as session:
        projects = session.execute(
            select(Project).where(Project.closed_at.is_not(None)).order_by(Project.closed_at)
        ).scalars()
        for project in projects:
            assert project.closed_at is not None
            events = list(session.execute(select(Event).where(Event.stream == project_stream(project.id))).scalars())
            for category, count in sorted(records_by_category(project, events).items()):
                found.append((project.id, project_stream(project.id), project.name, category, count, project.closed_at))
        counts = dict(session.execute(select(Event.stream, func.count()).group_by(Event.stream)).tuples().all())
        for stream, category, ended in _agency_records(session):
            found.append((None, stream, stream_title(stream), category, counts.get(stream, 0), ended))
    due: list[dict[str, Any]] = []
    for project_id, stream, name, category, count, ended in found:
        rule = rules[category]  # type: ignore[index]
        review_after = _add_years(ended, rule.years)
        if review_after <= now:
            due.append(
                {
                    "project": project_id,
                    "record": stream,
                    "name": name,
                    "category": category,
                    "category_title": rule.title,
                    "records": count,
                    "closed_at": ended.isoformat(),
                    "review_after": review_after.isoformat(),
                }
            )
    return due


def _agency_records(session: Session) -> Iterator[tuple[str, str, datetime]]:
    """(stream, category, when it was last in use) of each agency record that is no longer in use.

    A person served is in use while a project they take part in runs or a referral of theirs is
    open; after that, from the latest of those closures (or their registration). Merged and
    anonymised people are left out: their data lives on in the kept record, or is gone."""
    from swflow.db.quality_tables import Complaint, Incident, SupervisionSession
    from swflow.db.registry_tables import Enrolment, Referral, ServedPerson
    from swflow.domain.registry.rules import PersonStatus, ReferralStatus

    people = session.execute(select(ServedPerson).where(ServedPerson.status == PersonStatus.ACTIVE)).scalars()
    for person in people:
        ends = [person.registered_at]
        projects = session.execute(
            select(Project.closed_at)
            .join(Enrolment, Enrolment.project_id == Project.id)
            .where(Enrolment.person_id == person.id)
        ).scalars()
        referrals = session.execute(select(Referral.closed_at).where(Referral.person_id == person.id)).scalars()
        closures = [*projects, *referrals]
        if any(c is None for c in closures):
            continue  # still in use
        yield f"person:{person.id}", "service_object", max([*ends, *(c for c in closures if c is not None)])
    closed = Referral.status == ReferralStatus.CLOSED
    for referral_id, at in session.execute(select(Referral.id, Referral.closed_at).where(closed)).tuples():
        if at is not None:
            yield f"referral:{referral_id}", "referral_followup", at
    for model, kind in ((Complaint, "complaint"), (Incident, "incident")):
        for record_id, at in session.execute(select(model.id, model.closed_at).where(model.closed_at.is_not(None))):
            if at is not None:
                yield f"{kind}:{record_id}", "quality_monitoring", at
    for session_id, held_on in session.execute(select(SupervisionSession.id, SupervisionSession.held_on)).tuples():
        yield f"supervision:{session_id}", "quality_monitoring", datetime.combine(held_on, time(18), SHANGHAI)
