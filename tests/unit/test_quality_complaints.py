"""§7.5 complaints: acknowledged within 2 working days and answered within 10 (config/quality.yaml),
escalated when late; corrective actions; closure with feedback; the history in the archive."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from swflow import db, domain
from swflow.config.errors import FormError, RefusedError
from swflow.db.tables import Event
from swflow.domain.agency import sweep
from swflow.domain.quality import (
    acknowledge_complaint,
    add_complaint_action,
    answer_complaint,
    close_complaint,
    list_complaints,
    open_complaint,
    show_complaint,
)

from ._quality import at, messages, rendered, sent_steps
from ._support import DIRECTOR, MANAGER, NOW, SECOND_WORKER, SUPERVISOR, WORKER

CONTACT = "张建国 13912345678"
CONTENT = "三月二日的长者生日会临时取消，没有提前通知我母亲，她白等了一上午"


@pytest.fixture
def complaint(project_id: str) -> int:
    """A phone complaint about the project, received Monday 2 March 09:00: acknowledge by Wednesday
    4 March 18:00, answer by Monday 16 March 18:00. The project manager handles it."""
    intake = {"channel": "phone", "content": CONTENT, "contact": CONTACT, "project": project_id}
    return int(open_complaint(intake, DIRECTOR, NOW)["id"])


def test_intake_sets_both_deadlines_in_working_days_and_tells_the_handler(complaint: int) -> None:
    [row] = list_complaints(NOW)
    assert (row["handler"], row["status"]) == (MANAGER, "open")
    assert datetime.fromisoformat(row["ack_due_at"]) == at("2026-03-04", 18)
    assert datetime.fromisoformat(row["answer_due_at"]) == at("2026-03-16", 18)
    assert row["ack_due_at"].endswith("+00:00")  # `--json` times are UTC, as everywhere in swflow
    [message] = messages("complaint_received")
    assert message.recipient_id == MANAGER
    assert "2026-03-04 18:00" in rendered(message)
    assert CONTACT not in rendered(message) and "生日会" not in rendered(message)


def test_a_late_acknowledgement_escalates_then_the_answer_deadline_takes_over(complaint: int) -> None:
    sweep(at("2026-03-03", 10))  # the day before: the handler
    sweep(at("2026-03-06", 10))  # two working days late: the project's supervisor
    acknowledge_complaint(complaint, MANAGER, "已电话联系投诉人", at("2026-03-06", 11))
    assert sweep(at("2026-03-06", 12)).escalated == 0
    sweep(at("2026-03-13", 10))  # the working day before the answer is due
    answer_complaint(complaint, MANAGER, "已向家属致歉，今后活动变更提前两天电话通知", at("2026-03-13", 15))
    assert sweep(at("2026-03-30", 10)).escalated == 0

    assert [(r, step, who) for _, r, step, who in sent_steps("complaint")] == [
        (1, "reminder", [MANAGER]),
        (1, "overdue_2", [SUPERVISOR]),
        (2, "reminder", [MANAGER]),
    ]
    [row] = list_complaints(at("2026-03-30"))
    assert (row["ack_late"], row["answer_late"], row["status"]) == (True, False, "answered")


def test_an_unanswered_complaint_reaches_the_director(complaint: int) -> None:
    acknowledge_complaint(complaint, MANAGER, "", at("2026-03-02", 15))
    sweep(at("2026-03-04", 10))
    assert sent_steps("complaint") == []  # acknowledged in time: nothing about the acknowledgement
    sweep(at("2026-03-23", 10))  # five working days after the answer was due
    assert [(r, step, who) for _, r, step, who in sent_steps("complaint")] == [(2, "overdue_5", [DIRECTOR])]
    [digest] = messages("quality_due", DIRECTOR)
    text = rendered(digest)
    assert f"投诉 #{complaint}" in text and "答复投诉人" in text
    assert CONTACT not in text and "生日会" not in text


def test_corrective_actions_have_owners_and_due_dates_and_closure_needs_feedback(complaint: int) -> None:
    answer_complaint(complaint, MANAGER, "已致歉", at("2026-03-03", 10))
    action_id = add_complaint_action(
        complaint, MANAGER, "corrective", {"owner": WORKER, "due": "2026-03-20", "text": "活动变更电话通知流程"}, NOW
    )
    with pytest.raises(FormError):
        close_complaint(complaint, MANAGER, " ", None, at("2026-03-05"))
    close_complaint(complaint, MANAGER, "家属表示接受", True, at("2026-03-05"))
    with pytest.raises(RefusedError, match="现在不能答复"):
        answer_complaint(complaint, MANAGER, "再答复", at("2026-03-06"))
    with pytest.raises(RefusedError, match="已结案"):
        add_complaint_action(complaint, MANAGER, "preventive", {"owner": WORKER, "due": "2026-03-30", "text": "x"}, NOW)

    record = show_complaint(complaint, MANAGER, at("2026-03-05"))
    assert record["satisfied"] is True and record["actions"][0]["id"] == action_id
    assert record["acknowledged_at"] == record["answered_at"]  # the answer acknowledged it too


def test_a_complaint_is_refused_to_people_outside_its_circle(complaint: int) -> None:
    for reader in (MANAGER, SUPERVISOR, DIRECTOR):
        assert show_complaint(complaint, reader, NOW)["contact"] == CONTACT
    with pytest.raises(RefusedError, match="知悉范围"):
        show_complaint(complaint, WORKER, NOW)  # on the project's team, yet not the complaint's circle
    [listed] = list_complaints(NOW)
    assert "contact" not in listed and "content" not in listed


def test_only_the_handler_its_manager_or_a_director_act_on_a_complaint(complaint: int) -> None:
    with pytest.raises(RefusedError, match="处理人"):
        acknowledge_complaint(complaint, SECOND_WORKER, "", NOW)
    with pytest.raises(RefusedError, match="现在不能结案"):
        close_complaint(complaint, MANAGER, "满意", True, NOW)


def test_a_complaint_without_a_project_goes_to_the_director(people: Any) -> None:
    with pytest.raises(FormError) as caught:
        open_complaint({"channel": "fax", "content": "x"}, MANAGER, NOW)
    assert {f for f, _ in caught.value.problems} == {"channel", "service"}  # unknown channel; nothing concerned
    opened = open_complaint({"channel": "letter", "content": CONTENT, "service": "长者饭堂"}, MANAGER, NOW)
    assert opened["handler"] == DIRECTOR


def test_the_complaints_history_is_a_verified_chain_in_the_archive(complaint: int, project_id: str) -> None:
    sweep(at("2026-03-03", 10))
    acknowledge_complaint(complaint, MANAGER, "", at("2026-03-03", 11))
    answer_complaint(complaint, MANAGER, "已致歉", at("2026-03-04", 11))
    close_complaint(complaint, MANAGER, "接受", None, at("2026-03-05", 11))

    with db.read_session() as session:
        stream = f"complaint:{complaint}"
        events = session.execute(select(Event).where(Event.stream == stream).order_by(Event.seq)).scalars().all()
        assert db.verify_stream(session, stream) is None
    assert [e.kind for e in events] == [
        "complaint.opened",
        "deadline.escalated",
        "complaint.acknowledged",
        "complaint.answered",
        "complaint.closed",
    ]
    assert CONTACT not in str([e.payload for e in events])
    shown = show_complaint(complaint, DIRECTOR, at("2026-03-05", 12))
    assert [h["kind"] for h in shown["history"]] == [e.kind for e in events] and shown["history_intact"]
    assert "complaint.opened" in [e["kind"] for e in domain.project_events(project_id)]
