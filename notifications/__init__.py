"""Messages to people: the outbox dispatcher, the apprise adapter and zh-CN templates."""

from .channels import AppriseSender, Sender
from .dispatcher import DispatchReport, dispatch_once
from .render import RenderedMessage, render_message

__all__ = [
    "AppriseSender",
    "DispatchReport",
    "RenderedMessage",
    "Sender",
    "dispatch_once",
    "render_message",
]
