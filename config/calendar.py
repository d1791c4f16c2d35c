"""Working days in Asia/Shanghai: statutory holidays and make-up days where the package knows them."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

from .clock import SHANGHAI

__all__ = ["is_working_day", "add_working_days", "due_at"]

_log = logging.getLogger("swflow.calendar")
_warned_years: set[int] = set()


def is_working_day(day: date) -> bool:
    """chinesecalendar's verdict where it covers the year, else Monday to Friday (warned once)."""
    try:
        import chinese_calendar

        return bool(chinese_calendar.is_workday(day))
    except (ImportError, NotImplementedError):
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            _log.warning("%s 年的法定节假日未收录，按周一至周五计算工作日", day.year)
        return day.weekday() < 5


def add_working_days(start: date, working_days: int) -> date:
    """The date `working_days` working days after `start` (start itself does not count)."""
    day = start
    remaining = working_days
    while remaining > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day


def due_at(start: datetime, working_days: int, end_hour: int = 18) -> datetime:
    """Due time: the end of the working day `working_days` working days after `start`."""
    local = start.astimezone(SHANGHAI).date()
    return datetime.combine(add_working_days(local, working_days), time(end_hour), SHANGHAI)
