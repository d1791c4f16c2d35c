"""The one clock (DESIGN.md §6): deadline logic takes a Clock; SWFLOW_NOW overrides it."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

__all__ = ["Clock", "system_clock", "fixed_clock", "SHANGHAI"]

SHANGHAI = ZoneInfo("Asia/Shanghai")

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, aware; `SWFLOW_NOW` (ISO 8601, naive means Asia/Shanghai) replaces the real time."""
    override = os.environ.get("SWFLOW_NOW")
    if override:
        moment = datetime.fromisoformat(override)
        return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)
    return datetime.now(UTC)


def fixed_clock(moment: datetime) -> Clock:
    """A clock that always says `moment` (for unit tests)."""
    return lambda: moment
