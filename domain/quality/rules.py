"""Pure rules of quality management: who may read what, which state a record may move to, when
supervision is due, who hears of an escalation. No SQLAlchemy here."""

from __future__ import annotations

import calendar as _months
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from swflow.config.calendar import BusinessCalendar, is_working_day
from swflow.config.clock import SHANGHAI
from swflow.domain.deadlines.rules import Audience, audience

__all__ = [
    "Circle",
    "why_not_read",
    "session_problems",
    "ComplaintStatus",
    "why_not_move_complaint",
    "supervision_due_at",
    "end_of_day",
    "add_months",
    "coverage_state",
    "Audience",
    "audience",
    "working_days_between",
    "staffing_flag",
]


@dataclass(frozen=True)
class Circle:
    """Who may read a confidential or sensitive record: named people, and people with a role."""

    what: str  # the record, as a person reads it: "督导记录 #3"
    people: frozenset[str]
    roles: frozenset[str] = frozenset({"director"})


def why_not_read(circle: Circle, viewer: str, viewer_roles: Collection[str], viewer_active: bool = True) -> str | None:
    if not viewer_active:
        return f"{viewer} 已停用，不能查看{circle.what}"
    if viewer in circle.people or circle.roles.intersection(viewer_roles):
        return None
    return f"{viewer} 不在{circle.what}的知悉范围内（保密或敏感记录：仅限相关人员和机构负责人）"


def session_problems(
    supervisor: str,
    supervisor_roles: Collection[str],
    supervisees: Mapping[str, bool],
    mode: str,
    held_on: date,
    today: date,
) -> list[str]:
    """§7.3: a supervisor supervises others; individual is one supervisee, group at least two.
    `supervisees` maps each id to whether they are an active person."""
    problems = []
    if "supervisor" not in supervisor_roles:
        problems.append(f"{supervisor} 没有「督导」角色，不能记录督导")
    if supervisor in supervisees:
        problems.append(f"{supervisor} 不能督导自己")
    problems += [f"{p} 已停用" for p, active in supervisees.items() if not active]
    if mode == "individual" and len(supervisees) != 1:
        problems.append(f"个别督导只有一位被督导者（现有 {len(supervisees)} 位）；多人请用 group")
    if mode == "group" and len(supervisees) < 2:
        problems.append("小组督导至少有两位被督导者；一人请用 individual")
    if held_on > today:
        problems.append(f"督导日期 {held_on} 在今天（{today}）之后：只记录已进行的督导")
    return problems


class ComplaintStatus:
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    ANSWERED = "answered"
    CLOSED = "closed"


_MOVES = {
    "ack": (ComplaintStatus.OPEN,),
    "answer": (ComplaintStatus.OPEN, ComplaintStatus.ACKNOWLEDGED),  # an answer also acknowledges
    "close": (ComplaintStatus.ANSWERED,),
}
_WORDS = {"ack": "确认受理", "answer": "答复", "close": "结案"}


def why_not_move_complaint(status: str, act: str, complaint_id: int) -> str | None:
    if status in _MOVES[act]:
        return None
    return f"投诉 #{complaint_id} 现在不能{_WORDS[act]}（状态：{status}）"


def end_of_day(day: date, end_hour: int) -> datetime:
    return datetime.combine(day, time(end_hour), SHANGHAI)


def supervision_due_at(
    since: date, every_days: int, end_hour: int = 18, calendar: BusinessCalendar | None = None
) -> datetime:
    """The end of the working day on or after `since` + `every_days` calendar days."""
    day = since + timedelta(days=every_days)
    while not is_working_day(day, calendar):
        day += timedelta(days=1)
    return end_of_day(day, end_hour)


def add_months(day: date, months: int) -> date:
    """The same day `months` later; the month's last day when it has no such day (29 Feb → 28 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, _months.monthrange(year, month)[1]))


def coverage_state(due: datetime, now: datetime, soon_days: int = 7) -> str:
    if now > due:
        return "overdue"
    return "due_soon" if due - now <= timedelta(days=soon_days) else "ok"


def working_days_between(start: date, end: date, calendar: BusinessCalendar | None = None) -> int:
    """Working days after `start` up to and including `end` (0 when handled the same day)."""
    days, day = 0, start
    while day < end:
        day += timedelta(days=1)
        days += is_working_day(day, calendar)
    return days


def staffing_flag(kind: str, qualified: int) -> str | None:
    """§8.1.3: each urban community at least one community social worker; each rural one should."""
    if qualified:
        return None
    if kind == "urban":
        return "城市社区没有持证或具备学历的社区社会工作者（§8.1.3：至少配备一名）"
    return "农村社区尚未配备社区社会工作者（§8.1.3：宜配备一名）"
