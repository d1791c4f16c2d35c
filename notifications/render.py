"""Render zh-CN messages from jinja2 templates with the restricted context only."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

__all__ = ["render_message", "RenderedMessage"]


class RenderedMessage:
    def __init__(self, title: str, body: str) -> None:
        self.title, self.body = title, body


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("swflow.notifications", "templates"),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
    )


def render_message(template: str, context: dict[str, Any]) -> RenderedMessage:
    """A template's output is `title | body`, split on the first line holding only '|'."""
    text = _environment().get_template(f"{template}.j2").render(**context)
    title, _, body = text.partition("\n|\n")
    return RenderedMessage(title.strip(), body.strip())
