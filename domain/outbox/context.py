"""What a message may say: codes, titles, due dates and a link; never a service recipient's data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from swflow.config.clock import local_text
from swflow.config.settings import get_settings
from swflow.db.tables import Project

__all__ = ["message_context"]


def message_context(project: Project, **extra: Any) -> dict[str, Any]:
    """The restricted context every message template receives."""
    link = get_settings().link_base
    if project.flow_run_id:
        link = f"{link}/runs/flow-run/{project.flow_run_id}"
    context: dict[str, Any] = {
        "project_id": project.id,
        "project_name": project.name,
        "community": project.community,
        "link": link,
    }
    for key, value in extra.items():
        context[key] = local_text(value) if isinstance(value, datetime) else value
    return context
