"""What a message may say: codes, titles, due dates and a link; never a service recipient's data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from swflow.config.clock import local_text
from swflow.config.settings import get_settings
from swflow.db.tables import Project

__all__ = ["message_context"]


def message_context(project: Project, page: str | None = None, **extra: Any) -> dict[str, Any]:
    """The restricted context every message template receives. `link` is the web page the message
    is about (`page`, a path of the web app; the project's page by default), never the Prefect UI."""
    context: dict[str, Any] = {
        "project_id": project.id,
        "project_name": project.name,
        "community": project.community,
        "link": get_settings().link_base + (page or f"/projects/{project.id}"),
    }
    for key, value in extra.items():
        context[key] = local_text(value) if isinstance(value, datetime) else value
    return context
