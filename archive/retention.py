"""Which archived records have passed their retention period (§8.3.4) and await appraisal."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import select

from config.retention import event_category, retention_rules

from .db import read_session
from .journal import project_stream
from .models import Event, Project

__all__ = ["records_by_category", "records_due_for_review"]


def records_by_category(project: Project, events: list[Event]) -> Counter[str]:
    """How many events of a project fall in each category (a submission counts in its form's)."""
    counts: Counter[str] = Counter()
    for event in events:
        form = event.payload.get("form") if event.kind.startswith("form.") else None
        form_category = project.forms_snapshot.get(form, {}).get("category") if form else None
        counts[event_category(event.kind, form_category)] += 1
    return counts


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def records_due_for_review(now: datetime) -> list[dict[str, Any]]:
    """Per closed project and category: records whose retention ended before `now`."""
    rules = retention_rules().categories
    due: list[dict[str, Any]] = []
    with read_session() as session:
        projects = session.execute(
            select(Project).where(Project.closed_at.is_not(None)).order_by(Project.closed_at)
        ).scalars()
        for project in projects:
            assert project.closed_at is not None
            events = list(session.execute(select(Event).where(Event.stream == project_stream(project.id))).scalars())
            for category, count in sorted(records_by_category(project, events).items()):
                rule = rules[category]  # type: ignore[index]
                review_after = _add_years(project.closed_at, rule.years)
                if review_after <= now:
                    due.append(
                        {
                            "project": project.id,
                            "name": project.name,
                            "category": category,
                            "category_title": rule.title,
                            "records": count,
                            "closed_at": project.closed_at.isoformat(),
                            "review_after": review_after.isoformat(),
                        }
                    )
    return due
