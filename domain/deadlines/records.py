"""Escalating agency records through the deadline engine: quality records (supervision, complaints,
actions, certificates, risk reviews) and referral follow-ups.

Each kind only says which of its rows are due and who its audiences are (a `DueRecord`); the rest
is the same for all, as for work items and gates: `step_due`, one unique `escalations` row per
(subject, round, step), an event on the record's stream, and messages in the sweep's transaction,
one per person per message template and sweep when digests are on (SWFLOW_DIGEST)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.config.clock import local_text
from swflow.config.escalation import EscalationStep, get_policy
from swflow.config.settings import get_settings
from swflow.db.journal import append_event, project_stream
from swflow.db.tables import Escalation, Person, Project
from swflow.domain.deadlines.rules import Audience, audience, next_fire, step_due
from swflow.domain.outbox.context import message_context
from swflow.domain.outbox.records import enqueue

if TYPE_CHECKING:
    from swflow.domain.deadlines.schedule import SweepReport

__all__ = ["DueRecord", "Notice", "due_rows", "fire", "send", "record_context", "directors"]


@dataclass
class DueRecord:
    """One record whose next escalation time has come, with what its audiences mean."""

    subject: str  # escalations.subject: supervision, complaint, action, certificate, risk_review, referral
    row: Any  # a model with id, escalation_step and next_escalation_at
    round: int
    due: datetime
    policy: str
    who: Audience
    stream: str  # the record's own hash-chained stream
    project: Project | None
    label: str  # what the message lists it as ("督导覆盖", "投诉 #3", "转介跟进")
    task: str
    template: str = "quality_due"
    event: str = "deadline.escalated"
    on_project_stream: bool = False  # the event also goes on the project's stream


@dataclass
class Notice:
    to: str
    template: str
    project: Project | None
    key: str
    item: dict[str, Any]
    urgent: bool


def directors(session: Session) -> list[str]:
    people = session.execute(select(Person).where(Person.active.is_(True)).order_by(Person.id)).scalars()
    return [p.id for p in people if "director" in p.roles]


def record_context(project: Project | None, **extra: Any) -> dict[str, Any]:
    """A message's context: the project's (codes, titles, link) when there is one, else the same
    keys left empty. Callers add only ids, kinds, titles and due dates — never record text."""
    if project is not None:
        return message_context(project, **extra)
    context: dict[str, Any] = {"project_id": "", "project_name": "", "community": "", "link": get_settings().link_base}
    context.update({k: local_text(v) if isinstance(v, datetime) else v for k, v in extra.items()})
    return context


def due_rows(session: Session, model: Any, now: datetime, *where: Any) -> list[Any]:
    """Rows of `model` whose `next_escalation_at` has come (its index), locked; rows another
    sweep holds are skipped, so two sweeps never fire the same step."""
    query = select(model).where(*where, model.next_escalation_at <= now).order_by(model.next_escalation_at)
    return list(session.execute(query.with_for_update(skip_locked=True)).scalars())


def fire(session: Session, due: DueRecord, now: datetime, heads: tuple[str, ...], report: SweepReport) -> list[Notice]:
    """Record the step that has come (and the ones it passed over) and move the row on; returns
    who is to hear of it. Nothing is sent when the row's next step is not due after all."""
    steps: tuple[EscalationStep, ...] = get_policy(due.policy).steps
    row = due.row
    found = step_due(due.due, steps, row.escalation_step, now)
    if found is None:
        row.next_escalation_at = next_fire(due.due, steps, row.escalation_step)
        return []
    step = steps[found.index]
    recipients = audience(step.notify, due.who, heads)
    project_id = due.project.id if due.project else None
    for index in (*found.skipped, found.index):  # in the order the steps came
        session.add(
            Escalation(
                project_id=project_id,
                subject=due.subject,
                subject_id=row.id,
                round=due.round,
                gate_step=0,
                step=steps[index].key,
                fired_at=now,
                recipients=recipients if index == found.index else [],
                skipped=index != found.index,
            )
        )
    payload = {
        "subject": due.subject,
        "id": row.id,
        "round": due.round,
        "step": step.key,
        "skipped": [steps[i].key for i in found.skipped],
        "recipients": recipients,
    }
    streams = [due.stream] + ([project_stream(project_id)] if due.on_project_stream and project_id else [])
    for stream in streams:
        append_event(session, stream, due.event, actor="deadline-watch", at=now, payload=payload)
    row.escalation_step = found.index + 1
    row.next_escalation_at = next_fire(due.due, steps, row.escalation_step)
    report.escalated += 1
    report.skipped_steps += len(found.skipped)
    item = {
        "project_id": project_id or "",
        "project_name": due.project.name if due.project else "",
        "stage": due.label,
        "task": due.task,
        "due": local_text(due.due),
        "step": step.title,
    }
    key = f"esc:{due.subject}:{row.id}:r{due.round}:{step.key}"
    return [
        Notice(person_id, due.template, due.project, f"{key}:to:{person_id}", item, step.urgent)
        for person_id in recipients
    ]


def send(session: Session, notices: list[Notice], now: datetime, digest: bool) -> int:
    """One message per person and template per sweep (or one per record without digests);
    returns how many were queued."""
    grouped: dict[tuple[str, str], list[Notice]] = defaultdict(list)
    for notice in notices:
        grouped[(notice.to, notice.template)].append(notice)
    added = 0
    for (person_id, template), mine in grouped.items():
        person = session.get_one(Person, person_id)
        for group in [mine] if digest else [[n] for n in mine]:
            keys = sorted(n.key for n in group)
            digest_key = f"{template}-digest:" + hashlib.sha256("|".join(keys).encode()).hexdigest()[:24]
            projects = {n.project.id if n.project else "" for n in group}
            project = group[0].project if len(projects) == 1 else None
            added += enqueue(
                session,
                key=keys[0] if len(keys) == 1 else digest_key,
                recipient=person,
                template=template,
                context=record_context(project, items=[n.item for n in group]),
                now=now,
                project_id=project.id if project else None,
                urgent=any(n.urgent for n in group),
            )
    return added
