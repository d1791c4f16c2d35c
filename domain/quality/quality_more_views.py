"""The read models of the quality pages added last: every corrective, preventive and follow-up action
as `swflow quality actions` lists it (the same rows, past-due open ones first), the risk rules'
review with its due date (`swflow incident review-rules`), and the overview's complaint and incident
lists for a period (`--from/--to` of `complaint list` and `incident list`). The rules stay in the acts
and list functions (who reads an action's text, who may review the rules, the period's bounds); they
are called here, never restated."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from swflow.config.clock import SHANGHAI
from swflow.config.quality import quality_settings
from swflow.db.engine import read_session
from swflow.db.quality_tables import Complaint, RiskReview, SupervisionSession
from swflow.domain.people.records import get_person
from swflow.domain.quality.actions import SOURCE_TITLES, list_actions
from swflow.domain.quality.circles import complaint_circle, session_circle
from swflow.domain.quality.common import iso
from swflow.domain.quality.complaint_views import complaint_lists, names_of, people_choices, unknown_problems
from swflow.domain.quality.complaints import list_complaints
from swflow.domain.quality.incidents import list_incidents
from swflow.domain.quality.quality_views import incident_lists
from swflow.domain.quality.rules import why_not_read

__all__ = ["SOURCE_PAGES", "action_listing", "owner_problems", "risk_review_page", "period_lists"]

SOURCE_PAGES = {"complaint": "/quality/complaints/", "supervision": "/quality/supervision/"}
SHOWN_REVIEWS = 10  # the latest reviews recorded, on the review page


def owner_problems(owner: str) -> list[tuple[str, str]]:
    """`--owner` naming nobody on record (or someone no longer active), at the field."""
    return unknown_problems(owner=owner)


def _readable_sources(viewer: str, rows: list[dict[str, Any]]) -> set[tuple[str, int]]:
    """The records (source, id) whose page the viewer may open: their circle's rule, as the pages apply it."""
    readable = set()
    with read_session() as session:
        person = get_person(session, viewer)
        for source, source_id in {(r["source"], r["source_id"]) for r in rows}:
            if source == "complaint":
                circle = complaint_circle(session, session.get_one(Complaint, source_id))
            elif source == "supervision":
                circle = session_circle(session, session.get_one(SupervisionSession, source_id))
            else:
                continue
            if why_not_read(circle, viewer, person.roles, person.active) is None:
                readable.add((source, source_id))
    return readable


def action_listing(viewer: str, now: datetime, owner: str | None, open_only: bool) -> dict[str, Any]:
    """`list_actions(viewer, owner, open_only)`'s rows, unchanged, each with its owner's name, its record
    (linked when the viewer may open it) and whether it is past due (open, due before now); past-due
    ones first, then in the listing's order."""
    rows = list_actions(viewer, owner, open_only)
    readable = _readable_sources(viewer, rows)
    with read_session() as session:
        names = names_of(session, (r["owner"] for r in rows))
        people = people_choices(session)
    shown = [
        r
        | {
            "late": r["status"] == "open" and r["due_at"] is not None and datetime.fromisoformat(r["due_at"]) < now,
            "owner_name": names.get(r["owner"], r["owner"]),
            "source_title": f"{SOURCE_TITLES.get(r['source'], r['source'])} #{r['source_id']}",
            "source_link": f"{SOURCE_PAGES[r['source']]}{r['source_id']}"
            if (r["source"], r["source_id"]) in readable
            else "",
        }
        for r in rows
    ]
    shown.sort(key=lambda r: not r["late"])  # stable: the listing's order within each part
    return {"rows": shown, "people": people, "late": sum(1 for r in shown if r["late"])}


def risk_review_page(now: datetime) -> dict[str, Any]:
    """The reviews due (the next one first, with whether it is past due), how often they fall due, and
    the latest ones recorded with who recorded them."""
    with read_session() as session:
        due = session.execute(
            select(RiskReview).where(RiskReview.status == "due").order_by(RiskReview.due_at, RiskReview.id)
        ).scalars()
        waiting = [{"id": r.id, "due_at": iso(r.due_at), "late": r.due_at < now} for r in due]
        done = list(
            session.execute(
                select(RiskReview)
                .where(RiskReview.status == "done")
                .order_by(RiskReview.reviewed_at.desc(), RiskReview.id.desc())
                .limit(SHOWN_REVIEWS)
            ).scalars()
        )
        recorded: list[dict[str, Any]] = [
            {
                "id": r.id,
                "due_at": iso(r.due_at),
                "reviewed_at": iso(r.reviewed_at),
                "by": r.reviewed_by,
                "note": r.note,
            }
            for r in done
        ]
        names = names_of(session, (r.reviewed_by for r in done))
    return {
        "due": waiting,
        "done": recorded,
        "names": names,
        "every_months": quality_settings().risk_review.every_months,
    }


def _bounds(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """The days of `--from/--to`, inclusive, in Beijing time (as the CLI passes them)."""
    return (
        datetime.combine(start, time(0), SHANGHAI) if start else None,
        datetime.combine(end + timedelta(days=1), time(0), SHANGHAI) if end else None,
    )


def period_lists(now: datetime, start: date | None, end: date | None) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The overview's complaint and incident lists (same order, same deadlines), keeping the complaints
    received and the incidents occurred in the period, as `list_complaints` and `list_incidents` bound it."""
    low, high = _bounds(start, end)
    complaints = {r["id"] for r in list_complaints(now, low, high)}
    incidents = {r["id"] for r in list_incidents(low, high)}
    every_complaint, every_incident = complaint_lists(now), incident_lists(now)
    return {
        "complaints": {k: [r for r in rows if r["id"] in complaints] for k, rows in every_complaint.items()},
        "incidents": {k: [r for r in rows if r["id"] in incidents] for k, rows in every_incident.items()},
    }
