"""The notification outbox: rows written with the act that causes them, claimed and sent later by a
dispatcher (`swflow.notifications`); what a message may say (`message_context`)."""

from .context import message_context
from .records import (
    PendingMessage,
    claim_next,
    due_messages,
    enqueue,
    list_messages,
    message_id,
    record_delivery,
    resend,
    retry_delay,
)

__all__ = [
    "PendingMessage",
    "claim_next",
    "due_messages",
    "enqueue",
    "list_messages",
    "message_context",
    "message_id",
    "record_delivery",
    "resend",
    "retry_delay",
]
