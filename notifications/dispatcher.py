"""The outbox dispatcher: claim, render, send, record. A channel that is down delays, never loses.

Several dispatchers may run at once (`swflow serve` every second, `swflow notifications dispatch`
beside it, one per machine): each message is claimed with a lease and its attempt counted before it
is sent, so no two dispatchers send it at once. One that dies mid-send holds the message until the
lease ends (`SWFLOW_OUTBOX_LEASE_SECONDS`, default 120); then another sends it again, with the same
message id, so the receiver can drop the repeat."""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import timedelta

from swflow.config.clock import Clock, system_clock
from swflow.config.settings import get_settings
from swflow.domain.outbox.records import claim_next, record_delivery
from swflow.domain.people import person_name
from swflow.notifications.channels import AppriseSender, Sender
from swflow.notifications.message_ids import id_line, with_message_id
from swflow.notifications.render import render_message

__all__ = ["DispatchReport", "dispatch_once", "dispatcher_id", "lease_duration", "DEFAULT_LEASE_SECONDS"]

DEFAULT_LEASE_SECONDS = 120.0


@dataclass
class DispatchReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def lease_duration() -> timedelta:
    """How long a claimed message stays with its dispatcher: longer than the slowest send."""
    return timedelta(seconds=get_settings().outbox_lease_seconds)


def dispatcher_id() -> str:
    """host:pid:random, at most 64 characters (outbox.claimed_by)."""
    return f"{socket.gethostname()[:44]}:{os.getpid()}:{secrets.token_hex(4)}"


def dispatch_once(
    sender: Sender | None = None,
    clock: Clock = system_clock,
    *,
    lease: timedelta | None = None,
    limit: int = 100,
    dispatcher: str | None = None,
) -> DispatchReport:
    """Send up to `limit` messages that are due now, once each; the outbox row records the result."""
    sender = sender or AppriseSender()
    lease = lease or lease_duration()
    by = dispatcher or dispatcher_id()
    report = DispatchReport()
    max_attempts = get_settings().max_send_attempts
    for _ in range(limit):
        message = claim_next(clock(), by=by, lease=lease, max_attempts=max_attempts)
        if message is None:
            break
        context = {
            **message.context,
            "recipient_id": message.recipient_id,
            "recipient_name": person_name(message.recipient_id),
        }
        rendered = render_message(message.template, context)
        body = f"{rendered.body}\n\n{id_line(message.message_id)}"
        ok, error = sender.send(with_message_id(message.channel, message.message_id), rendered.title, body)
        status = record_delivery(message.id, by=by, ok=ok, now=clock(), error=error, max_attempts=max_attempts)
        if status == "sent":
            report.sent += 1
        elif status == "failed":
            report.failed += 1
        else:
            report.retrying += 1
    return report
