"""Deadlines in working days, and escalations sent exactly once (the clock is always given)."""

from __future__ import annotations

import logging
import multiprocessing
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from swflow import db, domain
from swflow.config.calendar import BusinessCalendar, add_working_days, due_at, next_working_morning
from swflow.config.clock import SHANGHAI
from swflow.config.settings import get_settings
from swflow.db import engine_for
from swflow.db.tables import Escalation, OutboxMessage, Stage
from swflow.domain.agency import sweep
from tests.unit._support import DIRECTOR, MANAGER, NOW, SUPERVISOR, WORKER


def at(day: str, hour: int = 9) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), SHANGHAI).replace(hour=hour)


def outbox(**where: Any) -> list[OutboxMessage]:
    with db.read_session() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        for key, value in where.items():
            query = query.where(getattr(OutboxMessage, key) == value)
        return list(session.execute(query).scalars())


def deadline_messages(recipient: str | None = None) -> list[OutboxMessage]:
    rows = outbox(template="deadline_digest")
    return [r for r in rows if recipient is None or r.recipient_id == recipient]


# --- the calendar -----------------------------------------------------------------------------


def test_duration_across_national_day_skips_the_holiday_and_counts_the_make_up_saturday() -> None:
    # 2026: 1–7 October off, Saturday 10 October a make-up working day
    assert add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert due_at(at("2026-09-30"), 10) == at("2026-10-20", 18)


def test_uncovered_year_falls_back_to_weekdays_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    calendar = BusinessCalendar()
    with caplog.at_level(logging.WARNING, logger="swflow.calendar"):
        assert add_working_days(date(2031, 1, 2), 2, calendar) == date(2031, 1, 6)  # Thu → Mon
        add_working_days(date(2031, 3, 2), 5, calendar)
    warnings = [r for r in caplog.records if "2031" in r.getMessage()]
    assert len(warnings) == 1


def test_overrides_add_next_years_holidays_and_make_up_days() -> None:
    calendar = BusinessCalendar(holidays=frozenset({date(2031, 1, 3)}), workdays=frozenset({date(2031, 1, 4)}))
    assert add_working_days(date(2031, 1, 2), 1, calendar) == date(2031, 1, 4)  # Fri off, Sat worked


def test_holidays_yaml_in_swflow_home_is_read(archive_home: Path) -> None:
    from swflow.config.calendar import default_calendar

    (archive_home / "holidays.yaml").write_text("holidays: [2031-01-03]\nworkdays: []\n", encoding="utf-8")
    default_calendar.cache_clear()
    try:
        assert add_working_days(date(2031, 1, 2), 1) == date(2031, 1, 6)
    finally:
        default_calendar.cache_clear()


def test_outside_working_hours_waits_for_the_next_working_morning() -> None:
    assert next_working_morning(at("2026-03-02", 20)) == at("2026-03-03")
    assert next_working_morning(at("2026-03-06", 19)) == at("2026-03-09")  # Friday evening → Monday
    assert next_working_morning(at("2026-03-03", 11)) == at("2026-03-03", 11)
    assert next_working_morning(at("2026-09-30", 18)) == at("2026-10-08")  # across National Day


# --- the sweep --------------------------------------------------------------------------------


@pytest.fixture
def open_assessment(project_id: str) -> str:
    """Elderly-care assessment opened Monday 2 March 2026: ten working days, due 16 March 18:00."""
    domain.open_stage(project_id, "assessment", NOW)
    return project_id


def test_nothing_is_sent_before_the_first_step(open_assessment: str) -> None:
    assert sweep(at("2026-03-12", 17)).escalated == 0
    assert deadline_messages() == []


def test_reminder_is_sent_once_per_step(open_assessment: str) -> None:
    first = sweep(at("2026-03-13", 10))  # the working day before the due date
    again = sweep(at("2026-03-13", 11))
    assert (first.escalated, again.escalated) == (1, 0)
    assert [m.recipient_id for m in deadline_messages()] == [WORKER]
    from swflow.notifications import render_message

    [reminder] = deadline_messages()
    body = render_message("deadline_digest", {**reminder.context, "recipient_name": "王", "recipient_id": WORKER}).body
    assert "期限 2026-03-16 18:00" in body  # Beijing time, as people read it (the archive keeps UTC)
    due_day = sweep(at("2026-03-16", 10))
    assert due_day.escalated == 1
    assert sorted(m.recipient_id for m in deadline_messages()) == sorted([MANAGER, WORKER, WORKER])


def test_after_downtime_missed_steps_are_caught_up_once(open_assessment: str) -> None:
    report = sweep(at("2026-03-24", 10))  # six working days after the due date: every step has passed
    assert (report.escalated, report.skipped_steps) == (1, 3)
    assert [m.recipient_id for m in deadline_messages()] == [DIRECTOR]
    with db.read_session() as session:
        rows = session.execute(select(Escalation.step, Escalation.skipped).order_by(Escalation.id)).all()
        assert sorted(rows) == [("due", True), ("overdue_2", True), ("overdue_5", False), ("reminder", True)]
        stage = session.execute(select(Stage).where(Stage.key == "assessment")).scalar_one()
        assert stage.at_risk  # the default policy's last step marks the stage at risk
    assert sweep(at("2026-03-30", 10)).escalated == 0


def test_a_person_with_several_due_items_gets_one_digest(launch: Any) -> None:
    first, second = launch(), launch(name="第二个项目")
    for project in (first, second):
        domain.open_stage(project, "assessment", NOW)
    report = sweep(at("2026-03-13", 10))
    assert report.escalated == 2
    digests = deadline_messages(WORKER)
    assert len(digests) == 1 and len(digests[0].context["items"]) == 2


def test_without_digest_each_item_gets_its_own_message(launch: Any) -> None:
    for project in (launch(), launch(name="第二个项目")):
        domain.open_stage(project, "assessment", NOW)
    sweep(at("2026-03-13", 10), digest=False)
    assert len(deadline_messages(WORKER)) == 2


def test_a_message_made_in_the_evening_waits_for_the_morning(open_assessment: str) -> None:
    sweep(at("2026-03-13", 20))
    [message] = deadline_messages()
    assert message.next_attempt_at == at("2026-03-16")
    assert all(m.template != "deadline_digest" for m in domain.due_messages(at("2026-03-13", 21)))
    assert any(m.template == "deadline_digest" for m in domain.due_messages(at("2026-03-16", 9)))


def test_an_urgent_message_is_not_held(people: Any) -> None:
    from swflow.db.tables import Person
    from swflow.domain.outbox.records import enqueue

    evening = at("2026-03-13", 20)
    with db.unit_of_work() as session:
        person = session.get_one(Person, DIRECTOR)
        enqueue(
            session,
            key="urgent-test",
            recipient=person,
            template="deadline_digest",
            context={},
            now=evening,
            urgent=True,
        )
        enqueue(session, key="calm-test", recipient=person, template="deadline_digest", context={}, now=evening)
    times = {m.key.split(":")[0]: m.next_attempt_at for m in outbox(recipient_id=DIRECTOR)}
    assert times == {"urgent-test": evening, "calm-test": at("2026-03-16")}


def test_a_supervisor_silent_for_five_working_days_reaches_the_director(awaiting_assessment: str) -> None:
    # the gate waits from Monday 2 March; the supervisor has 3 working days: due Thursday 5 March
    sweep(at("2026-03-04", 10))
    assert [m.recipient_id for m in deadline_messages()] == [SUPERVISOR]  # reminder to the decider
    sweep(at("2026-03-05", 10))
    assert {m.recipient_id for m in deadline_messages()} == {SUPERVISOR, MANAGER}
    sweep(at("2026-03-09", 10))  # two working days overdue
    sweep(at("2026-03-12", 10))  # five working days overdue
    assert DIRECTOR in {m.recipient_id for m in deadline_messages()}
    decided = domain.record_decision(awaiting_assessment, "assessment", SUPERVISOR, "approve", "", at("2026-03-12"))
    assert decided.final
    assert sweep(at("2026-03-30", 10)).escalated == 0  # a decided gate stops escalating


def test_escalations_carry_no_sensitive_form_data(awaiting_assessment: str, sample_forms: dict[str, Any]) -> None:
    sweep(at("2026-03-12", 10))
    secret = sample_forms["needs-assessment"]["key_cases"]
    from swflow.notifications import render_message

    for message in deadline_messages():
        rendered = render_message(message.template, {**message.context, "recipient_name": "x", "recipient_id": "x"})
        assert secret not in rendered.title + rendered.body
        assert secret[:8] not in str(message.context)


def test_sweep_reads_due_rows_through_the_escalation_index(open_assessment: str) -> None:
    engine = engine_for(get_settings().archive_url)
    with engine.connect() as connection:
        plan = connection.execute(
            text("EXPLAIN QUERY PLAN SELECT id FROM work_items WHERE status = 'open' AND next_escalation_at <= :now"),
            {"now": "2026-03-13 02:00:00"},
        ).all()
    assert "ix_work_items_escalation" in " ".join(str(row) for row in plan)


def _sweep_in_child(barrier: Any, moment: datetime, results: Any) -> None:
    from swflow.db.engine import after_fork

    after_fork()
    get_settings.cache_clear()
    barrier.wait()
    results.put(sweep(moment).escalated)


def test_two_sweeps_at_once_send_each_message_once(launch: Any) -> None:
    for index in range(5):
        domain.open_stage(launch(name=f"项目 {index}"), "assessment", NOW)
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_sweep_in_child, args=(barrier, at("2026-03-13", 10), results)) for _ in "ab"]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert sorted(results.get(timeout=5) for _ in workers) == [0, 5]
    with db.read_session() as session:
        assert session.execute(select(Escalation)).scalars().all().__len__() == 5
    assert len(deadline_messages(WORKER)) == 1  # one digest: five items
