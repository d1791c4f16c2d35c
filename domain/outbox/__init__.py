"""The notification outbox: rows written with the act that causes them, claimed and sent later by a
dispatcher (`swflow.notifications`); what a message may say (`message_context`)."""

from .context import message_context
from .records import (
    STATUS_WORDS,
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
from .relevance import about_any, about_items, about_stage, still_current

__all__ = [
    "STATUS_WORDS",
    "PendingMessage",
    "about_any",
    "about_items",
    "about_stage",
    "still_current",
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
