"""The notification outbox: rows written with the act that causes them, sent later
(docs/architecture.md, contract 6)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from swflow.config.calendar import next_working_morning
from swflow.config.settings import get_settings
from swflow.db.engine import unit_of_work
from swflow.db.journal import MESSAGES_STREAM, append_event, project_stream
from swflow.db.tables import OutboxMessage, Person, Project
from swflow.domain.outbox.relevance import ABOUT, still_current

__all__ = [
    "enqueue",
    "PendingMessage",
    "claim_next",
    "due_messages",
    "message_id",
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
    about: dict[str, Any] | None = None,
) -> int:
    """One row per channel of `recipient`; a key already queued is skipped. Returns rows added.
    `about` names the message's subject (`relevance`): if it has moved on by the time the message
    is due, the message is superseded, not sent."""
    if about is not None:
        context = {**context, ABOUT: about}
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
    if added:
        append_event(
            session,
            project_stream(project_id) if project_id else MESSAGES_STREAM,
            "message.queued",
            actor="swflow",
            at=now,
            payload={
                "key": key,
                "recipient": recipient.id,
                "template": template,
                "channels": added,
            },
            flow_run_id=_flow_run_id(session, project_id) if project_id else None,
        )
    return added


def _flow_run_id(session: Session, project_id: str) -> str | None:
    project = session.get(Project, project_id)
    return project.flow_run_id if project else None


def message_id(row_id: int, key: str) -> str:
    """The id a receiver can drop a repeat by: the same on every attempt of one outbox row."""
    return f"swflow-{row_id}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


@dataclass(frozen=True)
class PendingMessage:
    id: int
    recipient_id: str
    channel: str
    template: str
    context: dict[str, Any]
    attempts: int
    key: str = ""

    @property
    def message_id(self) -> str:
        return message_id(self.id, self.key)


def _pending(m: OutboxMessage) -> PendingMessage:
    return PendingMessage(m.id, m.recipient_id, m.channel, m.template, m.context, m.attempts, m.key)


def due_messages(now: datetime, limit: int = 100, url: str | None = None) -> list[PendingMessage]:
    with unit_of_work(url) as session:
        rows = session.execute(
            select(OutboxMessage)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.id)
            .limit(limit)
        ).scalars()
        return [_pending(m) for m in rows]


STATUS_WORDS = {"pending": "待发送", "sent": "已发送", "failed": "发送失败", "superseded": "已失效未发送"}


def claim_next(
    now: datetime, *, by: str, lease: timedelta, max_attempts: int = 6, url: str | None = None
) -> PendingMessage | None:
    """Take the lease on the oldest due message no one holds and count the attempt, in one transaction,
    before anything is sent. A holder that dies mid-send keeps the row until the lease ends; then
    another dispatcher sends it again (same message id). None when nothing is due."""
    free = or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now)
    due = (OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now, free)
    with unit_of_work(url) as session:
        while True:  # each pass claims a row, or finds it taken meanwhile, or closes an abandoned one
            # PostgreSQL: rows another dispatcher is claiming right now are skipped, not waited for.
            # SQLite ignores FOR UPDATE; its writers are serialised, and the conditional UPDATE decides.
            candidate = session.scalars(
                select(OutboxMessage.id)
                .where(*due)
                .order_by(OutboxMessage.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if candidate is None:
                return None
            row = session.get(OutboxMessage, candidate, populate_existing=True)
            if row is None:
                continue
            if not still_current(session, row.context.get(ABOUT)):
                _supersede(session, row, now)
                continue
            abandoned_by = (row.claimed_by or "?") if row.claimed_until is not None else None
            if abandoned_by and row.attempts >= max_attempts:  # the last try died mid-send
                _close_abandoned(session, row, now)
                continue
            claimed = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == candidate, *due)
                .values(claimed_by=by, claimed_until=now + lease, attempts=OutboxMessage.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            if not isinstance(claimed, CursorResult) or claimed.rowcount != 1:
                continue
            session.refresh(row)
            if abandoned_by:
                row.last_error = f"第 {row.attempts - 1} 次发送未完成（{abandoned_by} 中止），租约到期后重发"
            return _pending(row)


def _supersede(session: Session, row: OutboxMessage, now: datetime) -> None:
    """Not sent: what it was about was decided, submitted or closed while it waited."""
    row.status, row.claimed_until = "superseded", None
    row.last_error = "未发送：所述事项在发送前已处理（审核已决定、表单已提交或阶段已结束）"
    if row.project_id:
        append_event(
            session,
            project_stream(row.project_id),
            "message.superseded",
            actor="swflow",
            at=now,
            payload={"outbox_id": row.id, "recipient": row.recipient_id, "template": row.template},
            flow_run_id=_flow_run_id(session, row.project_id),
        )


def _close_abandoned(session: Session, row: OutboxMessage, now: datetime) -> None:
    row.status, row.claimed_until = "failed", None
    row.last_error = f"第 {row.attempts} 次发送未完成（{row.claimed_by} 中止），已达最多尝试次数"
    _message_event(session, row, now, ok=False)


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off: 30 s, 1 min, 2 min … capped at one hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def record_delivery(
    message_id: int,
    *,
    by: str,
    ok: bool,
    now: datetime,
    error: str | None = None,
    max_attempts: int = 6,
    url: str | None = None,
) -> str:
    """Record the result of the attempt `by` claimed (claim_next counted it); returns the row's new
    status (sent, pending, failed). A holder whose lease was taken over records a success (the
    message did arrive) but leaves a failure to the new holder."""
    with unit_of_work(url) as session:
        row = session.get(OutboxMessage, message_id, with_for_update=True)
        if row is None or row.status != "pending":
            return row.status if row else "missing"
        holder = row.claimed_by == by
        if ok:
            row.status, row.sent_at, row.last_error = "sent", now, None
        elif not holder:
            return row.status
        else:
            row.last_error = error or "发送失败"
            row.status = "failed" if row.attempts >= max_attempts else "pending"
            row.next_attempt_at = now + retry_delay(row.attempts)
        if holder:
            row.claimed_until = None  # claimed_by stays: the dispatcher that made the last attempt
        _message_event(session, row, now, ok=ok)
        return row.status


def _message_event(session: Session, row: OutboxMessage, now: datetime, *, ok: bool) -> None:
    if not row.project_id:
        return
    append_event(
        session,
        project_stream(row.project_id),
        "message.sent" if ok else "message.failed",
        actor="swflow",
        at=now,
        payload={
            "outbox_id": row.id,
            "message_id": message_id(row.id, row.key),
            "recipient": row.recipient_id,
            "template": row.template,
            "attempt": row.attempts,
            **({} if ok else {"error": row.last_error, "final": row.status == "failed"}),
        },
        flow_run_id=_flow_run_id(session, row.project_id),
    )


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
                "send_at": m.next_attempt_at.isoformat() if m.status == "pending" and m.next_attempt_at else None,
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
            row.claimed_by = row.claimed_until = None
        return len(rows)
