"""The pure helpers of the web pages: a deadline worded in working days, the order and the counts of
a worklist, and who may open a project's page."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from swflow.config.calendar import BusinessCalendar
from swflow.config.clock import SHANGHAI
from swflow.domain.projects.project_view import count_kinds, due_words, working_days_after, worklist_order
from swflow.domain.projects.visibility import why_not_see_project

from ._support import DIRECTOR, MANAGER, NOW, SUPERVISOR, WORKER

# NOW is Monday 2 March 2026, 09:00 in Shanghai; no holiday falls in March 2026


def at(day: str, hour: int = 18, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=SHANGHAI)


def test_working_days_after_counts_the_end_not_the_start() -> None:
    assert working_days_after(date(2026, 3, 2), date(2026, 3, 4)) == 2  # Tue, Wed
    assert working_days_after(date(2026, 3, 6), date(2026, 3, 9)) == 1  # over a weekend: Mon only
    assert working_days_after(date(2026, 3, 4), date(2026, 3, 4)) == 0
    assert working_days_after(date(2026, 3, 9), date(2026, 3, 2)) == 0


def test_a_deadline_two_working_days_ahead_says_so_and_is_soon() -> None:
    words = due_words(at("2026-03-04"), NOW)
    assert (words.state, words.text, words.days, words.overdue) == ("soon", "还剩 2 个工作日", 2, False)


def test_a_weekend_is_not_counted_in_the_days_left() -> None:
    words = due_words(at("2026-03-09"), NOW)  # next Monday: Tue, Wed, Thu, Fri, Mon
    assert (words.state, words.text) == ("later", "还剩 5 个工作日")


def test_a_holiday_of_the_calendar_is_not_counted() -> None:
    day_off = BusinessCalendar(holidays=frozenset({date(2026, 3, 3)}))
    assert due_words(at("2026-03-04"), NOW, day_off).text == "还剩 1 个工作日"


def test_a_deadline_later_today_says_today_with_its_time() -> None:
    words = due_words(at("2026-03-02"), NOW)
    assert (words.state, words.text, words.overdue) == ("today", "今天截止（18:00）", False)


def test_a_deadline_passed_three_working_days_ago_is_overdue_by_three() -> None:
    monday = at("2026-03-09", 9)
    words = due_words(at("2026-03-04"), monday)  # Thu, Fri, Mon have passed since
    assert (words.state, words.text, words.days, words.overdue) == ("overdue", "已逾期 3 个工作日", 3, True)


def test_a_deadline_passed_earlier_today_is_overdue_today() -> None:
    words = due_words(at("2026-03-02", 8), NOW)
    assert (words.state, words.text, words.overdue) == ("overdue", "已逾期（今天 08:00 截止）", True)


def test_a_deadline_in_utc_is_read_in_beijing_time() -> None:
    evening = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai
    assert due_words(evening, NOW).text == "今天截止（18:00）"
    assert due_words(evening, datetime(2026, 3, 2, 10, 1, tzinfo=UTC)).state == "overdue"


def test_a_deadline_on_a_coming_day_off_names_the_day() -> None:
    friday_evening = at("2026-03-06", 19)
    words = due_words(at("2026-03-07"), friday_evening)  # a Saturday
    assert (words.state, words.text) == ("soon", "3月7日 截止（此前没有工作日）")


def test_no_deadline_is_worded_and_never_overdue() -> None:
    words = due_words(None, NOW)
    assert (words.state, words.text, words.overdue) == ("none", "无期限", False)
    assert words.as_dict() == {"state": "none", "text": "无期限", "days": 0, "overdue": False}


def row(kind: str, title: str, due_at: str | None, overdue: bool = False, project: str = "P-1") -> dict[str, Any]:
    return {"kind": kind, "title": title, "due_at": due_at, "project": project, "due": {"overdue": overdue}}


def test_worklist_puts_overdue_first_then_by_due_time_and_no_deadline_last() -> None:
    rows = [
        row("work", "没有期限", None),
        row("decision", "审核：服务策划", "2026-03-10T10:00:00+00:00"),
        row("work", "活动记录：健康讲座", "2026-03-04T10:00:00+00:00"),
        row("work", "需求评估表", "2026-02-27T10:00:00+00:00", overdue=True),
        row("decision", "审核：需求评估", "2026-03-01T10:00:00+00:00", overdue=True),
    ]
    ordered = [r["title"] for r in sorted(rows, key=worklist_order)]
    assert ordered == ["需求评估表", "审核：需求评估", "活动记录：健康讲座", "审核：服务策划", "没有期限"]


def test_worklist_puts_an_overdue_row_first_whatever_its_due_time() -> None:
    rows = [row("work", "按期", "2026-03-01T10:00:00+00:00"), row("work", "逾期", "2026-03-05T10:00:00+00:00", True)]
    assert [r["title"] for r in sorted(rows, key=worklist_order)] == ["逾期", "按期"]


def test_worklist_ties_go_by_project_then_work_before_decision_then_title() -> None:
    due = "2026-03-04T10:00:00+00:00"
    rows = [
        row("decision", "审核", due, project="P-1"),
        row("work", "乙", due, project="P-2"),
        row("work", "活动 a2", due, project="P-1"),
        row("work", "活动 a1", due, project="P-1"),
    ]
    assert [(r["project"], r["title"]) for r in sorted(rows, key=worklist_order)] == [
        ("P-1", "活动 a1"),
        ("P-1", "活动 a2"),
        ("P-1", "审核"),
        ("P-2", "乙"),
    ]


def test_counts_are_per_kind_with_the_overdue_among_them() -> None:
    rows = [row("work", "a", None, True), row("work", "b", None), row("decision", "c", None, True)]
    assert count_kinds(rows) == {"work": 2, "decision": 1, "overdue": 2}
    assert count_kinds([]) == {"work": 0, "decision": 0, "overdue": 0}


TEAM = {MANAGER, SUPERVISOR, WORKER}


def test_the_team_directors_managers_and_deciders_may_see_a_project() -> None:
    assert why_not_see_project("P-1", WORKER, ["worker"], True, TEAM, set()) is None
    assert why_not_see_project("P-1", SUPERVISOR, ["supervisor"], True, TEAM, set()) is None
    assert why_not_see_project("P-1", DIRECTOR, ["director"], True, TEAM, set()) is None
    assert why_not_see_project("P-1", "wu.pm", ["manager"], True, TEAM, set()) is None
    assert why_not_see_project("P-1", "sun.supervisor", ["supervisor"], True, TEAM, {"sun.supervisor"}) is None


def test_a_stranger_is_refused_with_a_sentence() -> None:
    why = why_not_see_project("P-1", "qian.worker", ["worker"], True, TEAM, {"sun.supervisor"})
    assert why is not None and why.startswith("qian.worker 不是项目 P-1 的团队成员或审核人")
    other_supervisor = why_not_see_project("P-1", "sun.supervisor", ["supervisor"], True, TEAM, set())
    assert other_supervisor is not None  # being a supervisor is not enough: another project's is a stranger


def test_a_deactivated_team_member_is_refused() -> None:
    assert why_not_see_project("P-1", WORKER, ["worker"], False, TEAM, set()) == f"{WORKER} 已停用，不能查看项目 P-1"
