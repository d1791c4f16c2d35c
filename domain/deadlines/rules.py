"""When each escalation step fires, and which step is due now. Pure: no database here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time

from swflow.config.calendar import BusinessCalendar, shift_working_days
from swflow.config.clock import SHANGHAI
from swflow.config.escalation import EscalationStep

__all__ = ["fire_time", "next_fire", "StepDue", "step_due", "Audience", "audience"]


MORNING = time(9)


def fire_time(due: datetime, step: EscalationStep, calendar: BusinessCalendar | None = None) -> datetime:
    """The start of the working day `offset_days` working days from the due date: a reminder
    arrives the morning before, "due today" the morning of, and escalations on later mornings."""
    day = shift_working_days(due.astimezone(SHANGHAI).date(), step.offset_days, calendar)
    return datetime.combine(day, MORNING, SHANGHAI)


def next_fire(
    due: datetime, steps: Sequence[EscalationStep], from_index: int, calendar: BusinessCalendar | None = None
) -> datetime | None:
    """When step `from_index` fires, or None after the last step."""
    return fire_time(due, steps[from_index], calendar) if from_index < len(steps) else None


@dataclass(frozen=True)
class StepDue:
    index: int  # the step to act on now
    skipped: tuple[int, ...]  # earlier steps whose time also passed (downtime): recorded, not sent


def step_due(
    due: datetime, steps: Sequence[EscalationStep], done: int, now: datetime, calendar: BusinessCalendar | None = None
) -> StepDue | None:
    """The latest step at or before `now` not yet handled; a catch-up sends only that one."""
    passed = [i for i in range(done, len(steps)) if fire_time(due, steps[i], calendar) <= now]
    if not passed:
        return None
    return StepDue(index=passed[-1], skipped=tuple(passed[:-1]))


@dataclass(frozen=True)
class Audience:
    """Who the escalation audiences are for one agency record (directors are the same everywhere)."""

    assignee: tuple[str, ...]
    manager: tuple[str, ...]
    supervisor: tuple[str, ...]


def audience(notify: Iterable[str], who: Audience, directors: Iterable[str]) -> list[str]:
    people: set[str] = set()
    for kind in notify:
        people.update(tuple(directors) if kind == "director" else getattr(who, kind))
    return sorted(people)
