"""The one clock (docs/architecture.md, contract 7): deadline logic takes a Clock; SWFLOW_NOW overrides it."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

__all__ = ["Clock", "system_clock", "fixed_clock", "SHANGHAI", "local_text", "iso"]

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


def local_text(value: str | datetime | date | None, day: bool = False, empty: str = "-", seconds: bool = False) -> str:
    """A time as people at the agency read it: Beijing time, to the minute (or the day).

    The archive keeps and `--json` prints UTC (`2026-03-09T10:00:00+00:00`); text output, messages,
    the dossier and reports show `2026-03-09 18:00` (`seconds` for event logs). A bare date, or a
    time without a zone, is taken as already local."""
    if value is None or value == "":
        return empty
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if len(value) > 10 else date.fromisoformat(value)
    if not isinstance(value, datetime):
        return value.isoformat()
    moment = value.astimezone(SHANGHAI) if value.tzinfo else value
    return moment.strftime("%Y-%m-%d" if day else "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def iso(moment: datetime | None) -> str | None:
    """UTC ISO 8601, as every `--json` time of swflow is (the archive's own zone)."""
    return moment.astimezone(UTC).isoformat() if moment else None
