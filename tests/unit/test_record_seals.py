"""The agency's records against their seals (issue 20, part 1): a complaint, its actions, a person
served with their consents, a referral, a volunteer's training — changed behind the acts' back —
are named by `archive verify`; acts that move rows between records (a merge) keep every seal true."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, text

from swflow import db
from swflow.app.cli import main
from swflow.archive.integrity import verify_records
from swflow.db.seals import SEAL_KEY
from swflow.db.tables import Event
from swflow.domain import registry
from swflow.domain.quality import add_complaint_action, open_complaint

from ._registry import execution_project, person, volunteer
from ._support import DIRECTOR, MANAGER, NOW, WORKER


def _breaks() -> list[str]:
    with db.read_session() as session:
        return [str(b) for b in verify_records(session)]


def _execute(sql: str, **params: Any) -> None:
    with db.unit_of_work() as session:  # seals only what the acts change: a raw UPDATE is not an act
        session.execute(text(sql), params)


def _events(stream: str) -> list[Event]:
    with db.read_session() as session:
        return list(session.execute(select(Event).where(Event.stream == stream).order_by(Event.seq)).scalars())


@pytest.fixture
def complaint(project_id: str) -> int:
    intake = {
        "channel": "phone",
        "content": "活动临时取消未通知",
        "contact": "张先生 13912345678",
        "project": project_id,
    }
    complaint_id = int(open_complaint(intake, DIRECTOR, NOW)["id"])
    action = {"text": "活动变更提前两天电话通知", "owner": MANAGER, "due": "2026-03-20"}
    add_complaint_action(complaint_id, MANAGER, "corrective", action, NOW)
    return complaint_id


def test_each_act_leaves_its_record_sealed_and_the_seal_is_what_the_rows_say(complaint: int) -> None:
    opened, added = _events(f"complaint:{complaint}")
    assert SEAL_KEY in opened.payload and SEAL_KEY in added.payload
    assert opened.payload[SEAL_KEY] != added.payload[SEAL_KEY]  # the action belongs to the complaint's seal
    assert _breaks() == []


@pytest.mark.tampers
@pytest.mark.parametrize(
    ("sql", "what"),
    [
        ("UPDATE complaints SET content = '投诉已撤回' WHERE id = :id", "content"),
        ("UPDATE complaints SET handler_id = 'chen.director' WHERE id = :id", "handler"),
        ("UPDATE complaints SET status = 'closed' WHERE id = :id", "status"),
        ("UPDATE quality_actions SET status = 'done' WHERE source_id = :id", "an action's status"),
        ("UPDATE quality_actions SET description = '无' WHERE source_id = :id", "an action's text"),
        ("DELETE FROM quality_actions WHERE source_id = :id", "an action deleted"),
    ],
    ids=lambda v: v if " " not in v[:7] else None,
)
def test_a_complaint_changed_behind_the_acts_back_is_named(complaint: int, sql: str, what: str) -> None:
    _execute(sql, id=complaint)
    [found] = _breaks()
    assert f"投诉 #{complaint}" in found and "封存" in found, what


@pytest.mark.tampers
def test_the_sweeps_bookkeeping_is_not_part_of_a_seal(complaint: int) -> None:
    _execute("UPDATE complaints SET escalation_step = 3, next_escalation_at = NULL WHERE id = :id", id=complaint)
    assert _breaks() == []


@pytest.mark.tampers
def test_a_consent_added_or_a_referral_redirected_is_named(
    launch: Callable[..., str], sample_forms: dict[str, Any]
) -> None:
    project = execution_project(launch, sample_forms)
    served = person(project=project, consents=("referral",))
    referral = registry.open_referral(
        served, {"service": "心理咨询", "agency": "心理中心", "urgency": "normal", "reason": "情绪低落"}, WORKER, NOW
    )["id"]
    assert _breaks() == []
    _execute("UPDATE consents SET purpose = 'publicity' WHERE person_id = :id", id=served)
    _execute("UPDATE referrals SET owner_id = 'qian.worker' WHERE id = :id", id=referral)
    found = _breaks()
    assert any(f"服务对象 #{served}" in f for f in found) and any(f"转介 #{referral}" in f for f in found), found


@pytest.mark.tampers
def test_a_volunteers_hours_raised_is_named(people: Any) -> None:
    helper = volunteer()
    registry.record_training(helper, "急救培训", NOW.date(), 2, WORKER, NOW)
    assert _breaks() == []
    _execute("UPDATE volunteer_trainings SET hours = 20 WHERE volunteer_id = :id", id=helper)
    [found] = _breaks()
    assert f"#{helper}" in found


def test_a_merge_moves_rows_between_records_and_every_seal_stays_true(
    launch: Callable[..., str], sample_forms: dict[str, Any]
) -> None:
    project = execution_project(launch, sample_forms)
    keep = person(project=project)
    other = person(phone="13800000001", project=project, consents=("referral",))
    referral = registry.open_referral(
        other, {"service": "心理咨询", "agency": "心理中心", "urgency": "normal", "reason": "情绪低落"}, WORKER, NOW
    )["id"]
    registry.merge_people(keep, other, WORKER, NOW)
    # the referral moved to `keep` without an act of its own: it gets one, naming the merge that moved it
    updated = _events(f"referral:{referral}")[-1]
    assert updated.kind == "record.updated" and updated.actor == WORKER
    assert updated.payload["cause"].startswith("person:") and SEAL_KEY in updated.payload
    assert _breaks() == []


@pytest.mark.tampers
def test_archive_verify_names_a_changed_record_in_chinese_with_exit_3(
    complaint: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["archive", "verify"]) == 0
    capsys.readouterr()
    _execute("UPDATE complaints SET answer = '已答复' WHERE id = :id", id=complaint)
    assert main(["archive", "verify"]) == 3
    said = capsys.readouterr()
    assert f"投诉 #{complaint}" in said.out + said.err and "Traceback" not in said.err
