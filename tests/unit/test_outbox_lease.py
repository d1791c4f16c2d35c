"""The outbox lease on SQLite, in one process: a dispatcher that dies after its claim (a sender raising
SystemExit) holds the message until the lease ends; attempts are counted before the send."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from swflow import domain
from swflow.config.clock import fixed_clock
from swflow.config.settings import get_settings
from swflow.db.engine import unit_of_work
from swflow.db.tables import OutboxMessage, Person
from swflow.domain.outbox.records import claim_next, enqueue, message_id, record_delivery, resend, retry_delay
from swflow.notifications import DispatchReport, dispatch_once
from swflow.notifications.dispatcher import DEFAULT_LEASE_SECONDS, lease_duration

from ._support import NOW, WORKER

LEASE = timedelta(seconds=DEFAULT_LEASE_SECONDS)
CONTEXT = {
    "project_id": "P-1A2B3C",
    "project_name": "幸福社区独居老人关爱",
    "community": "幸福社区",
    "stage": "需求评估",
    "round": 1,
    "tasks": ["需求评估表"],
    "due": "2026-03-16 18:00",
    "note": "",
    "link": "http://127.0.0.1:4200",
}


class RecordingSender:
    """Keeps what it is given, and what the outbox said about the message while it was being sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.outbox_during_send: list[list[dict[str, object]]] = []

    def send(self, url: str, title: str, body: str) -> tuple[bool, str | None]:
        self.outbox_during_send.append(domain.list_messages())
        self.sent.append((url, title, body))
        return True, None


class DyingSender(RecordingSender):
    """Dies as a dispatcher killed mid-send would: after the claim, before any result is recorded."""

    def send(self, url: str, title: str, body: str) -> tuple[bool, str | None]:
        super().send(url, title, body)
        raise SystemExit(137)


@pytest.fixture
def queued(people: list[domain.PersonRecord]) -> int:
    """One message to the lead worker, due at NOW; returns its outbox id."""
    with unit_of_work() as session:
        person = session.get(Person, WORKER)
        assert person is not None
        enqueue(session, key="lease-test", recipient=person, template="stage_opened", context=CONTEXT, now=NOW)
    with unit_of_work() as session:
        return session.query(OutboxMessage.id).one()[0]


def _row(message_id: int) -> OutboxMessage:
    with unit_of_work() as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        return row


def test_the_attempt_is_counted_before_the_message_is_sent(queued: int) -> None:
    sender = RecordingSender()

    assert dispatch_once(sender, clock=fixed_clock(NOW)) == DispatchReport(sent=1)

    [[during]] = sender.outbox_during_send
    assert (during["status"], during["attempts"]) == ("pending", 1)
    row = _row(queued)
    assert (row.status, row.attempts, row.claimed_until) == ("sent", 1, None) and row.claimed_by


def test_a_dispatcher_that_dies_after_the_claim_holds_the_message_until_the_lease_ends(queued: int) -> None:
    dying, after = DyingSender(), RecordingSender()
    with pytest.raises(SystemExit):
        dispatch_once(dying, clock=fixed_clock(NOW), dispatcher="host:101:dead")
    assert (_row(queued).attempts, _row(queued).claimed_until) == (1, NOW + LEASE)
    [listed] = domain.list_messages(failed_only=True)  # an attempt made, not yet sent: listed
    assert (listed["status"], listed["attempts"]) == ("pending", 1)

    assert dispatch_once(after, clock=fixed_clock(NOW + LEASE)) == DispatchReport()  # the lease's last moment
    assert after.sent == []

    assert dispatch_once(after, clock=fixed_clock(NOW + LEASE + timedelta(seconds=1))) == DispatchReport(sent=1)
    assert after.sent == dying.sent  # the same URL (with the id), title and body: the same message id
    assert after.sent[0][2].endswith(f"消息编号：{message_id(queued, _row(queued).key)}")
    [[resent]] = after.outbox_during_send
    assert resent["attempts"] == 2 and "host:101:dead" in str(resent["last_error"])
    row = _row(queued)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)


def test_a_message_whose_last_attempt_died_is_failed_and_can_be_resent(
    queued: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWFLOW_MAX_SEND_ATTEMPTS", "1")
    get_settings.cache_clear()
    with pytest.raises(SystemExit):
        dispatch_once(DyingSender(), clock=fixed_clock(NOW))
    later, sender = NOW + LEASE + timedelta(seconds=1), RecordingSender()

    assert dispatch_once(sender, clock=fixed_clock(later)) == DispatchReport()
    [failed] = domain.list_messages(failed_only=True)
    assert failed["status"] == "failed" and "已达最多尝试次数" in str(failed["last_error"])
    assert sender.sent == []

    assert resend([queued], later) == 1
    assert dispatch_once(sender, clock=fixed_clock(later)) == DispatchReport(sent=1)
    assert (_row(queued).status, _row(queued).attempts) == ("sent", 1)


def test_a_dispatcher_that_lost_its_lease_leaves_a_failure_to_the_new_holder(queued: int) -> None:
    assert claim_next(NOW, by="a", lease=LEASE) is not None
    assert claim_next(NOW + LEASE - timedelta(seconds=1), by="b", lease=LEASE) is None  # a still holds it
    late = NOW + LEASE + timedelta(seconds=1)
    assert claim_next(late, by="b", lease=LEASE) is not None

    assert record_delivery(queued, by="a", ok=False, error="超时", now=late) == "pending"
    row = _row(queued)
    assert (row.claimed_by, row.claimed_until, row.attempts, row.next_attempt_at) == ("b", late + LEASE, 2, NOW)

    assert record_delivery(queued, by="b", ok=True, now=late) == "sent"


def test_a_late_success_of_a_lost_lease_marks_the_message_sent(queued: int) -> None:
    late = NOW + LEASE + timedelta(seconds=1)
    assert claim_next(NOW, by="a", lease=LEASE) is not None
    assert claim_next(late, by="b", lease=LEASE) is not None

    assert record_delivery(queued, by="a", ok=True, now=late) == "sent"
    assert record_delivery(queued, by="b", ok=False, error="超时", now=late) == "sent"
    assert (_row(queued).status, _row(queued).attempts) == ("sent", 2)


def test_a_failed_attempt_is_not_claimed_again_before_its_back_off(queued: int) -> None:
    claimed = claim_next(NOW, by="a", lease=LEASE)
    assert claimed is not None
    assert record_delivery(queued, by="a", ok=False, error="503", now=NOW) == "pending"
    assert _row(queued).claimed_until is None

    assert claim_next(NOW + retry_delay(1) - timedelta(seconds=1), by="b", lease=LEASE) is None
    again = claim_next(NOW + retry_delay(1), by="b", lease=LEASE)
    assert again is not None and again.message_id == claimed.message_id and again.attempts == 2


def test_a_message_held_for_working_hours_is_not_claimed_before_the_morning(
    people: list[domain.PersonRecord],
) -> None:
    evening = NOW.replace(hour=21)
    with unit_of_work() as session:
        person = session.get(Person, WORKER)
        assert person is not None
        enqueue(session, key="evening", recipient=person, template="stage_opened", context=CONTEXT, now=evening)

    assert claim_next(evening, by="a", lease=LEASE) is None
    assert claim_next((NOW + timedelta(days=1)).replace(hour=9), by="a", lease=LEASE) is not None


def test_the_lease_is_read_from_swflow_outbox_lease_seconds(
    archive_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert lease_duration() == timedelta(seconds=120)
    monkeypatch.setenv("SWFLOW_OUTBOX_LEASE_SECONDS", "45")
    get_settings.cache_clear()
    assert lease_duration() == timedelta(seconds=45)
    monkeypatch.setenv("SWFLOW_OUTBOX_LEASE_SECONDS", "0")
    get_settings.cache_clear()
    with pytest.raises(ValueError, match="outbox_lease_seconds"):
        lease_duration()
    get_settings.cache_clear()
