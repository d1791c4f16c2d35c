"""The complaint pages' read models (the web door's 质量管理): the complaints not yet closed with the
deadline each now waits on, past-deadline ones first; one complaint as its circle reads it, with the
acts its state allows; the choices of the intake and action forms; a refusal placed at the field it
is about. Every rule stays where it is — who may read (`show_complaint`, the circle), which state may
move (`why_not_move_complaint`), which deadline runs (the `phase` the sweep escalates) — and is read
here, never restated."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.config.errors import FormError, NotFoundError, RefusedError
from swflow.config.quality import quality_settings
from swflow.db.engine import read_session
from swflow.db.quality_tables import Complaint
from swflow.db.tables import Person, Project
from swflow.domain.quality.actions import ACTION_KINDS, ActionInput
from swflow.domain.quality.common import active_person, get_project, validated
from swflow.domain.quality.complaints import CHANNELS, ComplaintIntake, list_complaints, show_complaint
from swflow.domain.quality.rules import ComplaintStatus, why_not_move_complaint

__all__ = [
    "COMPLAINT_STATUS",
    "COMPLAINT_ACTS",
    "COMPLAINT_ACTION_KINDS",
    "names_of",
    "people_choices",
    "project_choices",
    "complaint_lists",
    "complaint_page",
    "complaint_choices",
    "place_complaint_refusal",
    "unknown_problems",
    "shape_problems",
    "intake_problems",
    "action_problems",
]

COMPLAINT_STATUS = {
    ComplaintStatus.OPEN: "待确认受理",
    ComplaintStatus.ACKNOWLEDGED: "已确认受理，待答复",
    ComplaintStatus.ANSWERED: "已答复，待结案",
    ComplaintStatus.CLOSED: "已结案",
}
COMPLAINT_ACTS = ("ack", "answer", "close")  # the moves of rules.why_not_move_complaint
COMPLAINT_ACTION_KINDS = {k: ACTION_KINDS[k] for k in ("corrective", "preventive")}  # `complaint action --kind`
_WAITS_ON = {1: ("ack_due_at", "ack_late", "确认受理"), 2: ("answer_due_at", "answer_late", "答复投诉人")}


def names_of(session: Session, ids: Iterable[str | None]) -> dict[str, str]:
    """Person id → name, for the ids a page shows."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    return dict(session.execute(select(Person.id, Person.name).where(Person.id.in_(wanted))).tuples().all())


def people_choices(session: Session) -> list[dict[str, Any]]:
    """Active people, for a handler's or an owner's select."""
    people = session.execute(select(Person).where(Person.active.is_(True)).order_by(Person.id)).scalars()
    return [{"id": p.id, "name": p.name, "roles": list(p.roles)} for p in people]


def project_choices(session: Session) -> list[dict[str, str]]:
    """Running projects first, then the others (a complaint or an incident may concern any project)."""
    rows = session.execute(select(Project.id, Project.name, Project.status).order_by(Project.id)).tuples().all()
    ordered = sorted(rows, key=lambda r: (r[2] != "running", r[0]))
    return [{"id": pid, "name": name, "status": status} for pid, name, status in ordered]


def _waiting(row: Mapping[str, Any], phase: int) -> dict[str, Any]:
    """The deadline the complaint waits on now: the acknowledgement's in phase 1, the answer's in
    phase 2 (what the sweep escalates); an answered complaint waits on its closure, with no deadline."""
    if row["status"] == ComplaintStatus.ANSWERED:
        return {"due_at": None, "late": False, "waits_on": "记录投诉人反馈并结案"}
    if row["status"] not in (ComplaintStatus.OPEN, ComplaintStatus.ACKNOWLEDGED):
        return {"due_at": None, "late": False, "waits_on": ""}
    due, late, what = _WAITS_ON[phase]
    return {"due_at": row[due], "late": bool(row[late]), "waits_on": what}


def _decorated(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with read_session() as session:
        phases = dict(
            session.execute(select(Complaint.id, Complaint.phase).where(Complaint.id.in_([r["id"] for r in rows])))
            .tuples()
            .all()
        )
        names = names_of(session, (r["handler"] for r in rows))
    return [
        r
        | _waiting(r, phases.get(r["id"], 1))
        | {"status_text": COMPLAINT_STATUS.get(r["status"], r["status"])}
        | {"handler_name": names.get(r["handler"], r["handler"])}
        for r in rows
    ]


def complaint_lists(now: datetime) -> dict[str, list[dict[str, Any]]]:
    """Every complaint (deadlines and states, no content). `open`: not yet closed, past their deadline
    first, then by the deadline they wait on, then those waiting only for their closure; `closed`:
    the latest closed first."""
    rows = _decorated(list_complaints(now))
    waiting = [r for r in rows if r["status"] != ComplaintStatus.CLOSED]
    closed = [r for r in rows if r["status"] == ComplaintStatus.CLOSED]
    return {
        "open": sorted(waiting, key=lambda r: (not r["late"], r["due_at"] is None, r["due_at"] or "", r["id"])),
        "closed": sorted(closed, key=lambda r: (r["closed_at"] or "", r["id"]), reverse=True),
    }


def complaint_page(complaint_id: int, viewer: str, now: datetime) -> dict[str, Any]:
    """One complaint for someone in its circle (refused otherwise, by `show_complaint`): its facts,
    deadlines, texts, actions, history, and the acts its state allows now (who may act on it is
    decided by the act itself)."""
    record = show_complaint(complaint_id, viewer, now)
    with read_session() as session:
        phase = session.execute(select(Complaint.phase).where(Complaint.id == complaint_id)).scalar_one()
        people = [record["handler"], record["received_by"], *(a["owner"] for a in record["actions"])]
        names = names_of(session, [*people, *(h["actor"] for h in record["history"])])
        project = session.get(Project, record["project"]) if record["project"] else None
    moves = {act: why_not_move_complaint(record["status"], act, complaint_id) is None for act in COMPLAINT_ACTS}
    return record | {
        "status_text": COMPLAINT_STATUS.get(record["status"], record["status"]),
        "channel_text": CHANNELS.get(record["channel"], record["channel"]),
        "project_name": project.name if project else None,
        "names": names,
        "may": moves | {"action": record["status"] != ComplaintStatus.CLOSED},
        "open_actions": sum(1 for a in record["actions"] if a["status"] == "open"),
        **_waiting(record, phase),
    }


def complaint_choices() -> dict[str, Any]:
    """What the intake and action forms offer, and the working-day limits they will be held to."""
    rule = quality_settings().complaints
    with read_session() as session:
        return {
            "channels": CHANNELS,
            "people": people_choices(session),
            "projects": project_choices(session),
            "action_kinds": COMPLAINT_ACTION_KINDS,
            "ack_days": rule.ack_days,
            "answer_days": rule.answer_days,
        }


def unknown_problems(project: str | None = None, **people: str | None) -> list[tuple[str, str]]:
    """A project, or a person (by field), named in a form and not on record or not active — at its
    field, in the words of the acts' own look-ups (`get_project`, `active_person`)."""
    problems: list[tuple[str, str]] = []
    with read_session() as session:
        try:
            get_project(session, project or None)
        except NotFoundError as unknown:
            problems.append(("project", str(unknown)))
        for field, person in people.items():
            try:
                if person:
                    active_person(session, person)
            except (NotFoundError, RefusedError) as refused:
                problems.append((field, str(refused)))
    return problems


def shape_problems(model: Any, data: Any, source: str) -> list[tuple[str, str]]:
    """Every (field, rule) the act's own input model finds (`validated`), or none."""
    try:
        validated(model, data, source)
    except FormError as invalid:
        return list(invalid.problems)
    return []


def intake_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """All a complaint's intake problems at once, before `open_complaint` (which checks them again)."""
    found = shape_problems(ComplaintIntake, dict(data), "投诉登记")
    return found + unknown_problems(data.get("project"), handler=data.get("handler"))


def action_problems(action: Mapping[str, Any]) -> list[tuple[str, str]]:
    """All an action's problems at once, before `add_complaint_action` (which checks them again)."""
    return shape_problems(ActionInput, dict(action), "行动") + unknown_problems(owner=action.get("owner"))


def place_complaint_refusal(message: str, typed: Mapping[str, str]) -> tuple[str, str]:
    """(field, sentence) of a complaint act's refusal: a project or a person that is not on record or
    not active is its field's; anything else (state, who may act) is the page's ("")."""
    if message.startswith("没有项目"):
        return "project", message
    for field in ("handler", "owner"):
        person = typed.get(field, "")
        if person and (message.startswith(f"{person} 已停用") or message.startswith(f"没有人员 {person}")):
            return field, message
    if message.startswith("没有可处理投诉的机构负责人"):
        return "handler", message
    if message.startswith("行动期限"):
        return "due", message
    return "", message
