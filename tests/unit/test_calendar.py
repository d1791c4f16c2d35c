"""Deadlines in working days: weekends, statutory holidays and make-up days (Asia/Shanghai)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from swflow.config.calendar import add_working_days, due_at, is_working_day
from swflow.config.clock import SHANGHAI


def test_a_working_day_after_friday_is_monday() -> None:
    assert add_working_days(date(2026, 3, 6), 1) == date(2026, 3, 9)


def test_ten_working_days_span_two_weekends() -> None:
    assert add_working_days(date(2026, 3, 2), 10) == date(2026, 3, 16)


def test_start_day_itself_does_not_count() -> None:
    assert add_working_days(date(2026, 3, 2), 0) == date(2026, 3, 2)
    assert add_working_days(date(2026, 3, 2), 1) == date(2026, 3, 3)


def test_national_day_week_is_skipped() -> None:
    # 2026: 10月1日至7日放假，10月10日（周六）上班
    assert add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert all(not is_working_day(date(2026, 10, d)) for d in range(1, 8))


def test_make_up_saturday_after_national_day_counts() -> None:
    assert is_working_day(date(2026, 10, 10))
    assert add_working_days(date(2026, 10, 9), 1) == date(2026, 10, 10)
    assert add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)


def test_make_up_sunday_before_national_day_counts() -> None:
    assert add_working_days(date(2026, 9, 19), 1) == date(2026, 9, 20)


def test_mid_autumn_friday_is_skipped() -> None:
    assert not is_working_day(date(2026, 9, 25))
    assert add_working_days(date(2026, 9, 24), 1) == date(2026, 9, 28)


def test_year_without_holiday_data_falls_back_to_monday_to_friday() -> None:
    monday = date(2099, 1, 5)
    assert monday.weekday() == 0
    assert [is_working_day(monday + timedelta(days=i)) for i in range(7)] == [
        True,
        True,
        True,
        True,
        True,
        False,
        False,
    ]


def test_due_at_is_six_in_the_evening_shanghai_time() -> None:
    due = due_at(datetime(2026, 3, 2, 9, 30, tzinfo=SHANGHAI), 10)

    assert due == datetime(2026, 3, 16, 18, 0, tzinfo=SHANGHAI)
    assert due.utcoffset() == timedelta(hours=8)


def test_due_at_counts_from_the_shanghai_date_not_the_utc_date() -> None:
    thursday_evening_utc = datetime(2026, 3, 5, 17, 0, tzinfo=UTC)  # Friday 01:00 in Shanghai
    assert due_at(thursday_evening_utc, 1) == datetime(2026, 3, 9, 18, 0, tzinfo=SHANGHAI)


def test_due_at_honours_the_configured_end_of_day() -> None:
    assert due_at(datetime(2026, 9, 30, 10, tzinfo=SHANGHAI), 1, end_hour=17) == datetime(
        2026, 10, 8, 17, 0, tzinfo=SHANGHAI
    )
