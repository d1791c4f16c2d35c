"""Helpers of the registry tests: a §5.2 project in its execution stage, activity records naming the
people served and the volunteers present, people and volunteers registered with a fixed clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from swflow import db, domain
from swflow.config.clock import SHANGHAI
from swflow.db.tables import Escalation, Event, EventHead, OutboxMessage, WorkItem
from swflow.domain import registry

from ._support import NOW, SUPERVISOR, WORKER

PARTICIPATION = "community-participation"  # §5.2: its execution stage records activities
ASSESSMENT = [
    "community-profile",
    "problem-definition",
    "resource-inventory",
    "human-resource-inventory",
    "baseline-measures",
    "swot-analysis",
]
PLANNING = ["goals-and-tasks", "recipients-profile", "capacity-assessment", "service-schedule", "resource-plan"]
OUTSIDER = "qian.worker"  # a worker on no project of these tests
OTHER_SUPERVISOR = "sun.supervisor"


def at(day: str, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), SHANGHAI).replace(hour=hour, minute=minute)


def _pass(project_id: str, stage: str, forms: list[str], samples: dict[str, Any]) -> None:
    domain.open_stage(project_id, stage, NOW)
    for form in forms:
        domain.submit_form(project_id, form, WORKER, samples[form], NOW)
    decided = domain.record_decision(project_id, stage, SUPERVISOR, "approve", "", NOW)
    gate = domain.read_gate(project_id, stage)
    domain.apply_gate_reply(project_id, stage, gate.attempt, decided.decision_id, NOW)


def execution_project(launch: Callable[..., str], samples: dict[str, Any], **changes: Any) -> str:
    """A community-participation project whose schedule was approved: activities a1 and a2 wait."""
    project_id = launch(template_id=PARTICIPATION, **changes)
    _pass(project_id, "assessment", ASSESSMENT, samples)
    _pass(project_id, "planning", PLANNING, samples)
    domain.open_stage(project_id, "execution", NOW)
    return project_id


def record_activity(
    project_id: str,
    activity: str,
    samples: dict[str, Any],
    served: list[int] = [],  # noqa: B006 - read only
    volunteers: list[tuple[int, float]] = [],  # noqa: B006 - read only
    **changes: Any,
) -> int:
    data = {
        **samples["service-activity-record"],
        "served": [{"person": p} for p in served],
        "volunteer_hours": [{"volunteer": v, "hours": h} for v, h in volunteers],
        **changes,
    }
    for key in ("served", "volunteer_hours"):
        if not data[key]:
            del data[key]
    return domain.submit_form(project_id, "service-activity-record", WORKER, data, NOW, activity).submission_id


def person(by: str = WORKER, project: str | None = None, consents: tuple[str, ...] = (), **data: Any) -> int:
    fields = {"name": "王秀英", "gender": "female", "birth_year": 1944, "phone": "13800138000", **data}
    request = registry.Registration(
        data=fields,
        project=project,
        consents=[registry.ConsentGiven(purpose=p, given_on=NOW.date()) for p in consents],
    )
    return int(registry.register_person(request, by, NOW)["id"])


def volunteer(name: str = "刘志愿", phone: str = "13900000001", by: str = WORKER) -> int:
    data = {"name": name, "gender": "male", "birth_year": 1990, "phone": phone}
    return registry.register_volunteer(data, NOW.date(), by, NOW)


def activity_items(project_id: str) -> list[str]:
    with db.read_session() as session:
        rows = session.execute(
            select(WorkItem.activity).where(WorkItem.project_id == project_id, WorkItem.activity != "")
        ).scalars()
        return sorted(rows)


def all_streams_intact() -> dict[str, bool]:
    with db.read_session() as session:
        streams = list(session.execute(select(EventHead.stream).order_by(EventHead.stream)).scalars())
        return {s: db.verify_stream(session, s) is None for s in streams}


def event_payloads() -> str:
    """Every event's payload, as text: what an auditor (or a leak) would read."""
    import json

    with db.read_session() as session:
        return json.dumps([e.payload for e in session.execute(select(Event)).scalars()], ensure_ascii=False)


def outbox(template: str) -> list[OutboxMessage]:
    with db.read_session() as session:
        rows = session.execute(select(OutboxMessage).where(OutboxMessage.template == template))
        return list(rows.scalars())


def escalations(subject: str) -> list[tuple[int, int, str, bool, list[Any]]]:
    with db.read_session() as session:
        rows = session.execute(select(Escalation).where(Escalation.subject == subject).order_by(Escalation.id))
        return [(e.subject_id, e.round, e.step, e.skipped, e.recipients) for e in rows.scalars()]
