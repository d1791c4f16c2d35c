"""Working days in Asia/Shanghai.

Statutory holidays and make-up working days come from `chinesecalendar` for the years it covers;
other years fall back to Monday–Friday (logged once per year). Overrides — an agency adding next
year's holidays when they are announced, or a local day off — come from `config/holidays.yaml`
and `$SWFLOW_HOME/holidays.yaml`, and win over both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path

import yaml

from swflow.config.clock import SHANGHAI
from swflow.config.settings import home_dir

__all__ = [
    "BusinessCalendar",
    "default_calendar",
    "is_working_day",
    "add_working_days",
    "shift_working_days",
    "due_at",
    "next_working_morning",
]

_log = logging.getLogger("swflow.calendar")


@dataclass
class BusinessCalendar:
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    _warned: set[int] = field(default_factory=set)
    _known: dict[date, bool] = field(default_factory=dict, repr=False, compare=False)
    _spans: dict[tuple[date, date], int] = field(default_factory=dict, repr=False, compare=False)

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days d there are with start < d <= end (0 when end is not after start)."""
        span = self._spans.get((start, end))
        if span is None:
            span, day = 0, start
            while day < end:
                day += timedelta(days=1)
                span += self.is_working_day(day)
            if len(self._spans) > 100_000:  # a long-lived process: start the memo again
                self._spans.clear()
            self._spans[(start, end)] = span
        return span

    def is_working_day(self, day: date) -> bool:
        if day in self.holidays:
            return False
        if day in self.workdays:
            return True
        known = self._known.get(day)
        if known is None:  # chinesecalendar re-validates its whole table on every call: ask once a day
            known = self._known[day] = self._statutory(day)
        return known

    def _statutory(self, day: date) -> bool:
        try:
            import chinese_calendar

            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            if day.year not in self._warned:
                self._warned.add(day.year)
                _log.warning(
                    "%s 年的法定节假日尚未收录（chinesecalendar 不含该年），按周一至周五计算；"
                    "公布后请写入 holidays.yaml",
                    day.year,
                )
            return day.weekday() < 5


def _read_overrides(path: Path) -> tuple[set[date], set[date]]:
    if not path.exists():
        return set(), set()
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {date.fromisoformat(str(d)) for d in raw.get("holidays") or []}, {
        date.fromisoformat(str(d)) for d in raw.get("workdays") or []
    }


@cache
def default_calendar() -> BusinessCalendar:
    holidays: set[date] = set()
    workdays: set[date] = set()
    for path in (Path(__file__).parent / "holidays.yaml", home_dir() / "holidays.yaml"):
        off, on = _read_overrides(path)
        holidays |= off
        workdays |= on
    return BusinessCalendar(frozenset(holidays - workdays), frozenset(workdays))


def is_working_day(day: date, calendar: BusinessCalendar | None = None) -> bool:
    return (calendar or default_calendar()).is_working_day(day)


def add_working_days(start: date, working_days: int, calendar: BusinessCalendar | None = None) -> date:
    """The date `working_days` working days after `start` (start itself does not count)."""
    return shift_working_days(start, working_days, calendar)


def shift_working_days(start: date, working_days: int, calendar: BusinessCalendar | None = None) -> date:
    """Move by whole working days, forwards (positive) or backwards (negative)."""
    step = 1 if working_days >= 0 else -1
    day, remaining = start, abs(working_days)
    while remaining > 0:
        day += timedelta(days=step)
        if is_working_day(day, calendar):
            remaining -= 1
    return day


def due_at(
    start: datetime, working_days: int, end_hour: int = 18, calendar: BusinessCalendar | None = None
) -> datetime:
    """Due time: the end of the working day `working_days` working days after `start`."""
    local = start.astimezone(SHANGHAI).date()
    return datetime.combine(add_working_days(local, working_days, calendar), time(end_hour), SHANGHAI)


def next_working_morning(
    moment: datetime, start_hour: int = 9, end_hour: int = 18, calendar: BusinessCalendar | None = None
) -> datetime:
    """`moment` itself inside working hours, else the start of the next working morning."""
    local = moment.astimezone(SHANGHAI)
    if is_working_day(local.date(), calendar) and start_hour <= local.hour < end_hour:
        return moment
    day = local.date() if local.hour < start_hour else local.date() + timedelta(days=1)
    while not is_working_day(day, calendar):
        day += timedelta(days=1)
    return datetime.combine(day, time(start_hour), SHANGHAI)
