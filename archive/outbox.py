"""The notification outbox: rows written with the act that causes them, sent later (DESIGN.md §5)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from config.calendar import next_working_morning
from config.settings import get_settings

from .db import unit_of_work
from .journal import append_event, project_stream
from .models import OutboxMessage, Person, Project

__all__ = [
    "enqueue",
    "PendingMessage",
    "due_messages",
    "list_messages",
    "record_delivery",
    "resend",
    "retry_delay",
]


def enqueue(
    session: Session,
    *,
    key: str,
    recipient: Person,
    template: str,
    context: dict[str, Any],
    now: datetime,
    project_id: str | None = None,
    urgent: bool = False,
) -> int:
    """One row per channel of `recipient`; a key already queued is skipped. Returns rows added."""
    added = 0
    settings = get_settings()
    send_at = now
    if settings.hold_outside_working_hours and not urgent:
        send_at = next_working_morning(now, settings.workday_start_hour, settings.workday_end_hour)
    for channel in recipient.notify:
        url = str(channel)
        row_key = f"{key}:{recipient.id}:{hashlib.sha256(url.encode()).hexdigest()[:12]}"
        exists = session.execute(select(OutboxMessage.id).where(OutboxMessage.key == row_key))
        if exists.first() is not None:
            continue
        session.add(
            OutboxMessage(
                key=row_key,
                project_id=project_id,
                recipient_id=recipient.id,
                channel=url,
                template=template,
                context=context,
                urgent=urgent,
                status="pending",
                attempts=0,
                next_attempt_at=send_at,
                created_at=now,
            )
        )
        added += 1
    if added and project_id:
        append_event(
            session,
            project_stream(project_id),
            "message.queued",
            actor="swflow",
            at=now,
            payload={
                "key": key,
                "recipient": recipient.id,
                "template": template,
                "channels": added,
            },
            flow_run_id=_flow_run_id(session, project_id),
        )
    return added


def _flow_run_id(session: Session, project_id: str) -> str | None:
    project = session.get(Project, project_id)
    return project.flow_run_id if project else None


@dataclass(frozen=True)
class PendingMessage:
    id: int
    recipient_id: str
    channel: str
    template: str
    context: dict[str, Any]
    attempts: int


def due_messages(now: datetime, limit: int = 100, url: str | None = None) -> list[PendingMessage]:
    with unit_of_work(url) as session:
        rows = session.execute(
            select(OutboxMessage)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.id)
            .limit(limit)
        ).scalars()
        return [PendingMessage(m.id, m.recipient_id, m.channel, m.template, m.context, m.attempts) for m in rows]


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off: 30 s, 1 min, 2 min … capped at one hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def record_delivery(
    message_id: int,
    *,
    ok: bool,
    now: datetime,
    error: str | None = None,
    max_attempts: int = 6,
    url: str | None = None,
) -> str:
    """Record one send attempt; returns the row's new status (sent, pending, failed)."""
    with unit_of_work(url) as session:
        row = session.get(OutboxMessage, message_id, with_for_update=True)
        if row is None or row.status != "pending":
            return row.status if row else "missing"
        row.attempts += 1
        if ok:
            row.status, row.sent_at, row.last_error = "sent", now, None
        else:
            row.last_error = error or "发送失败"
            exhausted = row.attempts >= max_attempts
            row.status = "failed" if exhausted else "pending"
            row.next_attempt_at = now + retry_delay(row.attempts)
        if row.project_id:
            append_event(
                session,
                project_stream(row.project_id),
                "message.sent" if ok else "message.failed",
                actor="swflow",
                at=now,
                payload={
                    "outbox_id": row.id,
                    "recipient": row.recipient_id,
                    "template": row.template,
                    "attempt": row.attempts,
                    **({} if ok else {"error": row.last_error, "final": row.status == "failed"}),
                },
                flow_run_id=_flow_run_id(session, row.project_id),
            )
        return row.status


def list_messages(failed_only: bool = False, url: str | None = None) -> list[dict[str, Any]]:
    with unit_of_work(url) as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if failed_only:
            query = query.where(or_(OutboxMessage.status == "failed", OutboxMessage.attempts > 0))
            query = query.where(OutboxMessage.status != "sent")
        return [
            {
                "id": m.id,
                "project": m.project_id,
                "recipient": m.recipient_id,
                "template": m.template,
                "status": m.status,
                "attempts": m.attempts,
                "last_error": m.last_error,
            }
            for m in session.execute(query).scalars()
        ]


def resend(ids: list[int] | None, now: datetime, url: str | None = None) -> int:
    """Put failed messages (all, or the ones named) back in the queue with fresh attempts."""
    with unit_of_work(url) as session:
        query = select(OutboxMessage).where(OutboxMessage.status == "failed")
        if ids:
            query = query.where(OutboxMessage.id.in_(ids))
        rows = session.execute(query.with_for_update()).scalars().all()
        for row in rows:
            row.status, row.attempts, row.next_attempt_at = "pending", 0, now
        return len(rows)
