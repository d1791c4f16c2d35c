"""The quality pages' read models besides complaints (complaint_views): the overview, the incident
register with each open incident's follow-up deadline, one incident for its circle, supervision —
the sessions as the viewer may read them, coverage, the record form's choices — and a supervision
record's problems placed at their fields before anything is written. The rules are the domain's
(`session_problems`, the circles, the deadlines the acts set); they are called here, never restated."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from swflow.config.clock import SHANGHAI
from swflow.config.errors import NotFoundError
from swflow.config.quality import quality_settings
from swflow.db.engine import read_session
from swflow.db.tables import Person, Project
from swflow.domain.people.records import get_person
from swflow.domain.quality.complaint_views import (
    complaint_lists,
    names_of,
    people_choices,
    project_choices,
    shape_problems,
    unknown_problems,
)
from swflow.domain.quality.incidents import IncidentReport, incident_choices, list_incidents, show_incident
from swflow.domain.quality.rules import session_problems
from swflow.domain.quality.supervision import SessionRecord, coverage, list_sessions, show_session

__all__ = [
    "MODES",
    "COVERAGE_STATES",
    "why_not_record",
    "quality_overview",
    "incident_lists",
    "incident_page",
    "incident_form_choices",
    "supervision_lists",
    "session_form_choices",
    "session_page",
    "incident_problems",
    "session_problems_at_fields",
    "place_session_refusal",
]

MODES = {"individual": "个别督导", "group": "小组督导"}
COVERAGE_STATES = {"ok": "正常", "due_soon": "即将到期", "overdue": "逾期"}  # as `supervision coverage` says


def _today(now: datetime) -> date:
    return now.astimezone(SHANGHAI).date()


def why_not_record(viewer: str, now: datetime) -> str | None:
    """Why the viewer may not record a supervision session at all (§7.3: the supervisor's role), in
    `session_problems`' own words; None when they may."""
    with read_session() as session:
        person = session.get(Person, viewer)
        roles = tuple(person.roles) if person is not None and person.active else ()
    problems = session_problems(viewer, roles, {}, "", _today(now), _today(now))
    return problems[0] if problems else None


def incident_lists(now: datetime) -> dict[str, list[dict[str, Any]]]:
    """The register (no place, people or text). `open`: past their follow-up deadline first, then by
    that deadline; `closed`: the latest closed first."""
    rows = list_incidents()
    with read_session() as session:
        names = names_of(session, (r["reported_by"] for r in rows))
    for r in rows:
        due = datetime.fromisoformat(r["close_due_at"]) if r["close_due_at"] else None
        r["late"] = r["status"] == "open" and due is not None and now > due
        r["reported_by_name"] = names.get(r["reported_by"], r["reported_by"])
    waiting = [r for r in rows if r["status"] == "open"]
    closed = [r for r in rows if r["status"] != "open"]
    return {
        "open": sorted(waiting, key=lambda r: (not r["late"], r["close_due_at"] is None, r["close_due_at"] or "")),
        "closed": sorted(closed, key=lambda r: (r["closed_at"] or "", r["id"]), reverse=True),
    }


def quality_overview(viewer: str, now: datetime) -> dict[str, Any]:
    """What the overview shows anyone signed in: complaints and incidents with their deadlines (the
    lists the CLI prints for anyone), supervision as the viewer may read it, coverage's overdue count."""
    rows = coverage(now)
    sessions = list_sessions(viewer)
    return {
        "complaints": complaint_lists(now),
        "incidents": incident_lists(now),
        "sessions": len(sessions),
        "readable_sessions": sum(1 for s in sessions if not s["confidential"]),
        "supervision_required": len(rows),
        "supervision_overdue": sum(1 for r in rows if r["state"] == "overdue"),
        "why_not_record": why_not_record(viewer, now),
    }


def _project_name(session: Session, project_id: str | None) -> str | None:
    project = session.get(Project, project_id) if project_id else None
    return project.name if project else None


def incident_page(incident_id: int, viewer: str, now: datetime) -> dict[str, Any]:
    """One incident for its circle (refused otherwise, by `show_incident`), with who is who."""
    record = show_incident(incident_id, viewer)
    due = datetime.fromisoformat(record["close_due_at"]) if record["close_due_at"] else None
    with read_session() as session:
        people = [record["reported_by"], record["closed_by"], *(h["actor"] for h in record["history"])]
        names = names_of(session, people)
        project_name = _project_name(session, record["project"])
    return record | {
        "names": names,
        "project_name": project_name,
        "late": record["status"] == "open" and due is not None and now > due,
        "may_close": record["status"] == "open",
    }


def incident_form_choices() -> dict[str, Any]:
    """Kinds and severities (the incident-report form's choices), the working days each severity
    gives to follow up and close, which severities are told at once, the projects."""
    kinds, severities = incident_choices()
    rule = quality_settings().incidents
    with read_session() as session:
        projects = project_choices(session)
    return {
        "kinds": kinds,
        "severities": severities,
        "close_days": {s: rule.close_days_for(s) for s in severities},
        "at_once": [severities.get(s, s) for s in rule.notify_at_once],
        "projects": projects,
    }


def incident_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """An incident report's shape and its project, at their fields, before `report_incident` (which
    checks them again, then the kind, the severity and the time against now)."""
    return shape_problems(IncidentReport, dict(data), "事件记录") + unknown_problems(data.get("project"))


def supervision_lists(viewer: str, now: datetime, person: str | None = None) -> dict[str, Any]:
    """The sessions as `supervision list --as viewer [--person]` gives them (the content only for
    their circle), the latest first, and coverage as `supervision coverage` computes it."""
    sessions = list(reversed(list_sessions(viewer, person)))
    rows = coverage(now)
    with read_session() as session:
        ids = [p for s in sessions for p in (s["supervisor"], *s["supervisees"])]
        names = names_of(session, ids)
    return {"sessions": sessions, "coverage": rows, "names": names, "why_not_record": why_not_record(viewer, now)}


def session_form_choices(now: datetime) -> dict[str, Any]:
    """Who needs supervision (coverage: when each is due), who may own a follow-up, the projects."""
    with read_session() as session:
        return {"coverage": coverage(now), "people": people_choices(session), "projects": project_choices(session)}


def session_page(session_id: int, viewer: str) -> dict[str, Any]:
    """The whole session, for its circle only (refused otherwise, by `show_session`)."""
    record = show_session(session_id, viewer)
    with read_session() as session:
        people = [record["supervisor"], *record["supervisees"], *(a["owner"] for a in record["actions"])]
        names = names_of(session, [*people, *(h["actor"] for h in record["history"])])
        project_name = _project_name(session, record["project"])
    return record | {"names": names, "project_name": project_name}


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def session_problems_at_fields(data: Mapping[str, Any], by: str, now: datetime) -> list[tuple[str, str]]:
    """Every problem of a session record at its field, all at once, before the act: the record's
    shape (`SessionRecord`), a project, follow-up owner or supervisee not on record, then
    `session_problems` — each of its lines placed by asking the rule about one part of the record at
    a time. Empty: the act may run (and checks everything again)."""
    problems = shape_problems(SessionRecord, dict(data), "督导记录")
    owners = {f"actions.{n}.owner": a.get("owner") for n, a in enumerate(data.get("actions") or [])}
    problems += unknown_problems(data.get("project"), **owners)
    said = {field.split(".")[0] for field, _ in problems}
    wanted = list(dict.fromkeys(str(p) for p in data.get("supervisees") or []))
    active: dict[str, bool] = {}
    with read_session() as session:
        supervisor = session.get(Person, by)
        for pid in wanted:
            try:
                active[pid] = get_person(session, pid).active
            except NotFoundError as unknown:
                problems.append(("supervisees", str(unknown)))
    roles = tuple(supervisor.roles) if supervisor is not None and supervisor.active else ()
    today = _today(now)
    held_on = _day(data.get("held_on")) if "held_on" not in said else None
    mode = str(data.get("mode") or "") if "mode" not in said and wanted else ""
    every = session_problems(by, roles, active, mode, held_on or today, today)
    role = set(session_problems(by, roles, {}, "", today, today))
    about_people = set(session_problems(by, roles, active, "", today, today)) - role
    about_day = set(session_problems(by, roles, {}, "", held_on or today, today)) - role
    for line in every:
        if line in role:
            problems.append(("", line))  # the supervisor's own role: the page's
        elif line in about_people:
            problems.append(("supervisees", line))
        elif line in about_day:
            problems.append(("held_on", line))
        else:
            problems.append(("mode", line))  # how many supervisees the mode takes
    return problems


def _about(line: str, value: str) -> bool:
    """Whether a refusal's sentence is about this person id or this date (add_action's, get_person's words)."""
    return bool(value) and (
        line.startswith((f"{value} 已停用", f"没有人员 {value}（")) or line.startswith(f"行动期限 {value} ")
    )


def place_session_refusal(message: str, data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, sentence) of a refusal the act raised after the pre-check (a follow-up's owner or due
    date, a project): at every follow-up row it is about, else at the project, else the page's."""
    lines = [line.strip().removeprefix("- ").strip() for line in message.splitlines() if line.strip()]
    placed: list[tuple[str, str]] = []
    for line in lines[1:] if len(lines) > 1 else lines:  # a list of problems under its heading
        rows = [
            f"actions.{n}.{field}"
            for n, action in enumerate(data.get("actions") or [])
            for field in ("owner", "due")
            if _about(line, str(action.get(field) or ""))
        ]
        if rows:
            placed += [(row, line) for row in rows]
        elif line.startswith("没有项目"):
            placed.append(("project", line))
        else:
            placed.append(("", line))
    return placed
