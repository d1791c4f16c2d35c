"""Messages to people: the outbox dispatcher, the apprise adapter and zh-CN templates."""

from swflow.notifications.channels import AppriseSender, Sender
from swflow.notifications.dispatcher import DispatchReport, dispatch_once
from swflow.notifications.render import RenderedMessage, render_message

__all__ = [
    "AppriseSender",
    "DispatchReport",
    "RenderedMessage",
    "Sender",
    "dispatch_once",
    "render_message",
]
