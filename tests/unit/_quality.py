"""Helpers of the quality tests: moments in Beijing time, the outbox, the escalations handled."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from swflow import db
from swflow.config.clock import SHANGHAI
from swflow.db.tables import Escalation, OutboxMessage
from swflow.notifications import render_message


def at(day: str, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), SHANGHAI).replace(hour=hour, minute=minute)


def messages(template: str, recipient: str | None = None) -> list[OutboxMessage]:
    with db.read_session() as session:
        query = select(OutboxMessage).where(OutboxMessage.template == template).order_by(OutboxMessage.id)
        rows = list(session.execute(query).scalars())
    return [m for m in rows if recipient is None or m.recipient_id == recipient]


def recipients(template: str) -> list[str]:
    return sorted(m.recipient_id for m in messages(template))


def escalations(subject: str) -> list[tuple[int, int, str, bool, list[Any]]]:
    """(subject id, round, step, skipped, recipients) of every escalation of `subject`, in order."""
    with db.read_session() as session:
        rows = session.execute(select(Escalation).where(Escalation.subject == subject).order_by(Escalation.id))
        return [(e.subject_id, e.round, e.step, e.skipped, e.recipients) for e in rows.scalars()]


def sent_steps(subject: str) -> list[tuple[int, int, str, list[Any]]]:
    return [(i, r, step, who) for i, r, step, skipped, who in escalations(subject) if not skipped]


def rendered(message: OutboxMessage) -> str:
    """What the recipient would read, title and body."""
    context = {**message.context, "recipient_id": message.recipient_id, "recipient_name": "收件人"}
    result = render_message(message.template, context)
    return result.title + "\n" + result.body
