"""The outbox dispatcher: render, send, record. A channel that is down delays, never loses."""

from __future__ import annotations

from dataclasses import dataclass

from archive import due_messages, record_delivery
from archive.db import read_session
from archive.models import Person
from config.clock import Clock, system_clock
from config.settings import get_settings

from .channels import AppriseSender, Sender
from .render import render_message

__all__ = ["DispatchReport", "dispatch_once"]


@dataclass
class DispatchReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def _recipient_name(person_id: str) -> str:
    with read_session() as session:
        person = session.get(Person, person_id)
        return person.name if person else person_id


def dispatch_once(sender: Sender | None = None, clock: Clock = system_clock) -> DispatchReport:
    """Send every message that is due now, once each; the outbox row records the result."""
    sender = sender or AppriseSender()
    report = DispatchReport()
    max_attempts = get_settings().max_send_attempts
    for message in due_messages(clock()):
        context = {
            **message.context,
            "recipient_id": message.recipient_id,
            "recipient_name": _recipient_name(message.recipient_id),
        }
        rendered = render_message(message.template, context)
        ok, error = sender.send(message.channel, rendered.title, rendered.body)
        status = record_delivery(message.id, ok=ok, now=clock(), error=error, max_attempts=max_attempts)
        if status == "sent":
            report.sent += 1
        elif status == "failed":
            report.failed += 1
        else:
            report.retrying += 1
    return report
