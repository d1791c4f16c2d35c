"""Issue 15: a message held overnight whose subject was meanwhile decided is not sent in the morning.
The sender here only records what the outbox hands it (the channels themselves are tested against
real receivers in tests/integration/test_channels.py); what is under test is the outbox's choice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from swflow import db, domain
from swflow.app.cli.main import main
from swflow.config.clock import fixed_clock
from swflow.db.tables import Event, OutboxMessage
from swflow.notifications import dispatch_once

from ._support import NOW, SUPERVISOR, WORKER
from .test_outbox_lease import RecordingSender


def _rows(template: str) -> list[OutboxMessage]:
    with db.read_session() as session:
        query = select(OutboxMessage).where(OutboxMessage.template == template).order_by(OutboxMessage.id)
        return list(session.execute(query).scalars())


def _kinds(project: str) -> list[str]:
    with db.read_session() as session:
        stream = db.project_stream(project)
        return list(session.execute(select(Event.kind).where(Event.stream == stream).order_by(Event.seq)).scalars())


def test_an_approval_request_for_a_gate_decided_meanwhile_is_superseded(awaiting_assessment: str) -> None:
    [request] = _rows("approval_requested")
    assert request.recipient_id == SUPERVISOR and request.status == "pending"
    decided = domain.record_decision(awaiting_assessment, "assessment", SUPERVISOR, "approve", "同意", NOW)
    gate = domain.read_gate(awaiting_assessment, "assessment")
    domain.apply_gate_reply(awaiting_assessment, "assessment", gate.attempt, decided.decision_id, NOW)

    sender = RecordingSender()
    dispatch_once(sender, clock=fixed_clock(NOW + timedelta(days=1)))

    [request] = _rows("approval_requested")
    assert request.status == "superseded" and request.attempts == 0 and "已处理" in (request.last_error or "")
    assert not any(SUPERVISOR in url for url, _, _ in sender.sent)  # the supervisor heard nothing more
    assert "message.superseded" in _kinds(awaiting_assessment)


def test_a_message_whose_subject_is_still_waiting_is_sent(awaiting_assessment: str) -> None:
    sender = RecordingSender()
    dispatch_once(sender, clock=fixed_clock(NOW + timedelta(days=1)))
    [request] = _rows("approval_requested")
    assert request.status == "sent" and any(SUPERVISOR in url for url, _, _ in sender.sent)


def test_a_stage_opened_message_is_superseded_once_every_form_of_the_round_is_in(
    project_id: str, sample_forms: dict[str, Any]
) -> None:
    domain.open_stage(project_id, "assessment", NOW)
    [opened] = _rows("stage_opened")
    assert opened.recipient_id == WORKER
    domain.submit_form(project_id, "needs-assessment", WORKER, sample_forms["needs-assessment"], NOW)

    dispatch_once(RecordingSender(), clock=fixed_clock(NOW + timedelta(hours=1)))
    [opened] = _rows("stage_opened")
    assert opened.status == "superseded"


def test_a_held_message_says_when_it_will_be_sent(awaiting_assessment: str, capsys: Any, monkeypatch: Any) -> None:
    """A message queued in the evening waits for the next working morning (SWFLOW_HOLD_OUTSIDE_WORKING_HOURS): the list
    says so, in Beijing time."""
    from swflow.config.calendar import next_working_morning

    evening = NOW.replace(hour=22)
    with db.unit_of_work() as session:
        for row in session.execute(select(OutboxMessage)).scalars():
            row.next_attempt_at = next_working_morning(evening, 9, 18)
    monkeypatch.setenv("SWFLOW_NOW", evening.isoformat())
    from swflow.config.settings import get_settings

    get_settings.cache_clear()
    capsys.readouterr()
    assert main(["notifications", "list"]) == 0
    out = capsys.readouterr().out
    assert "待发送（" in out and "09:00 发送）" in out
