"""Referrals (§8.3.4): only with the person's consent; follow-ups due in working days and escalated
once per step when late (explicit clocks); a follow-up starts a new round; closure stops it all."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from swflow import domain
from swflow.config.errors import FormError, RefusedError
from swflow.domain import registry
from swflow.domain.agency import sweep
from swflow.forms_spec import MASK
from swflow.notifications import render_message

from ._registry import OUTSIDER, all_streams_intact, at, escalations, execution_project, outbox, person
from ._support import DIRECTOR, MANAGER, NOW, SUPERVISOR, WORKER

pytestmark = pytest.mark.usefixtures("people")

REASON = "演示敏感信息：独居，近期跌倒两次，需要上门照料"


def _open(person_id: int, **changes: Any) -> dict[str, Any]:
    data = {"service": "居家养老上门服务", "agency": "颐养服务中心", "urgency": "normal", "reason": REASON}
    return registry.open_referral(person_id, data, WORKER, changes.pop("now", NOW), **changes)


def fired(now: Any) -> list[str]:
    """Run one sweep at `now`; the referral steps it sent (other deadlines of the archive aside)."""
    before = len(escalations("referral"))
    sweep(now)
    return [step for _, _, step, skipped, _ in escalations("referral")[before:] if not skipped]


@pytest.fixture
def project(launch: Callable[..., str], sample_forms: dict[str, Any]) -> str:
    return execution_project(launch, sample_forms)


def test_no_referral_without_the_persons_consent() -> None:
    served = person(consents=("registration",))
    with pytest.raises(RefusedError, match="没有有效的「转介"):
        _open(served)
    registry.record_consent(served, registry.ConsentGiven(purpose="referral", given_on=NOW.date()), WORKER, NOW)
    assert _open(served)["consent"] > 0


def test_a_withdrawn_consent_stops_new_referrals() -> None:
    served = person(consents=("referral",))
    registry.withdraw_consent(served, "referral", NOW.date(), WORKER, NOW)
    with pytest.raises(RefusedError, match="没有有效的"):
        _open(served)


def test_a_referral_names_its_agency_and_only_the_circle_refers() -> None:
    served = person(consents=("referral",))
    with pytest.raises(FormError, match="接收机构"):
        registry.open_referral(served, {"service": "心理咨询", "urgency": "normal", "reason": REASON}, WORKER, NOW)
    with pytest.raises(RefusedError, match="知悉范围"):
        registry.open_referral(
            served, {"service": "心理咨询", "agency": "心理中心", "urgency": "normal", "reason": REASON}, OUTSIDER, NOW
        )


def test_the_first_follow_up_is_due_in_working_days(project: str) -> None:
    served = person(consents=("referral",), project=project)
    opened = _open(served, project_id=project)
    assert datetime.fromisoformat(opened["follow_up_due_at"]) == at("2026-03-09", 18)  # five working days from Monday


def test_a_late_follow_up_escalates_once_per_step(project: str) -> None:
    served = person(consents=("referral",), project=project)
    referral = _open(served, project_id=project)["id"]

    assert fired(at("2026-03-05", 17)) == []
    assert fired(at("2026-03-06", 9)) == ["reminder"]  # the working morning before: the worker is reminded
    assert fired(at("2026-03-06", 10)) == []  # each step once
    assert fired(at("2026-03-11", 9)) == ["overdue_2"]  # two working days late: only the latest is sent
    assert escalations("referral") == [
        (referral, 1, "reminder", False, [WORKER]),
        (referral, 1, "due", True, []),
        (referral, 1, "overdue_2", False, [SUPERVISOR, WORKER]),
    ]
    assert fired(at("2026-03-16", 9)) == ["overdue_5"]
    assert escalations("referral")[-1] == (referral, 1, "overdue_5", False, [DIRECTOR, MANAGER])
    assert registry.list_referrals(WORKER, at("2026-03-16", 9))[0]["late"] is True
    assert all(all_streams_intact().values())


def test_escalation_messages_carry_no_personal_data(project: str) -> None:
    served = person(consents=("referral",), project=project, address="幸福路 1 号")
    _open(served, project_id=project)
    sweep(at("2026-03-11", 9))

    messages = outbox("referral_due")
    assert sorted(m.recipient_id for m in messages) == [SUPERVISOR, WORKER]
    for message in messages:
        text = json.dumps(message.context, ensure_ascii=False)
        rendered = render_message(
            message.template, {**message.context, "recipient_id": message.recipient_id, "recipient_name": "收件人"}
        )
        for secret in ("王秀英", "13800138000", "幸福路", "颐养服务中心", "跌倒", "居家养老"):
            assert secret not in text and secret not in rendered.title + rendered.body
        assert "转介 #1 第 1 次跟进" in rendered.body and "swflow referral update" in rendered.body


def test_a_follow_up_starts_a_new_round_and_closure_stops_escalation(project: str) -> None:
    served = person(consents=("referral",), project=project)
    referral = _open(served, project_id=project)["id"]
    sweep(at("2026-03-11", 9))

    done = registry.update_referral(
        referral, WORKER, "演示敏感信息：机构已接收，下周上门评估", at("2026-03-11", 10), status="accepted"
    )
    assert done["late"] is True and datetime.fromisoformat(done["follow_up_due_at"]) == at("2026-03-25", 18)
    assert fired(at("2026-03-12", 9)) == []
    assert fired(at("2026-03-24", 9)) == ["reminder"]  # round 2 has its own reminder
    assert escalations("referral")[-1][:3] == (referral, 2, "reminder")

    registry.close_referral(referral, WORKER, "resolved", "演示敏感信息：已获上门照料", at("2026-03-24", 15))
    assert fired(at("2026-04-30", 9)) == []
    with pytest.raises(RefusedError, match="已结案"):
        registry.update_referral(referral, WORKER, "再跟进", at("2026-04-30", 9))


def test_a_referral_without_a_project_escalates_to_the_directors() -> None:
    served = person(consents=("referral",))
    _open(served)
    sweep(at("2026-03-11", 9))
    assert escalations("referral")[-1][2:] == ("overdue_2", False, sorted([WORKER, DIRECTOR]))


def test_an_outsider_sees_referrals_masked(project: str) -> None:
    served = person(consents=("referral",), project=project)
    referral = _open(served, project_id=project)["id"]
    registry.update_referral(referral, WORKER, "演示敏感信息：机构已接收", NOW, status="accepted")

    outside = registry.show_referral(referral, OUTSIDER, NOW)
    assert outside["masked"] is True and outside["data"]["reason"] == MASK
    assert [f["note"] for f in outside["follow_ups"]] == [MASK]
    inside = registry.show_referral(referral, SUPERVISOR, NOW)
    assert inside["data"]["reason"] == REASON and inside["follow_ups"][0]["note"] == "演示敏感信息：机构已接收"
    assert [r["id"] for r in registry.list_referrals(OUTSIDER, NOW, status="open")] == [referral]


def test_the_next_follow_up_date_must_be_ahead(project: str) -> None:
    served = person(consents=("referral",), project=project)
    referral = _open(served, project_id=project)["id"]
    with pytest.raises(FormError, match="--next"):
        registry.update_referral(referral, WORKER, "电话联系", NOW, next_on=NOW.date())
    done = registry.update_referral(referral, WORKER, "电话联系", NOW, next_on=at("2026-03-20").date())
    assert datetime.fromisoformat(done["follow_up_due_at"]) == at("2026-03-20", 18)


@pytest.mark.parametrize("digest", [True, False])
def test_late_follow_ups_for_one_worker_come_in_one_digest(project: str, digest: bool) -> None:
    """SWFLOW_DIGEST applies to referral follow-ups as to every other deadline."""
    first = _open(person(consents=("referral",), project=project), project_id=project)["id"]
    second = _open(
        person(consents=("referral",), project=project, name="李桂兰", phone="13800138001"), project_id=project
    )["id"]

    sweep(at("2026-03-11", 9), digest=digest)

    to_worker = [m for m in outbox("referral_due") if m.recipient_id == WORKER]
    tasks = sorted(item["task"] for m in to_worker for item in m.context["items"])
    assert tasks == [f"转介 #{first} 第 1 次跟进", f"转介 #{second} 第 1 次跟进"]
    assert len(to_worker) == (1 if digest else 2)
    rendered = render_message("referral_due", {**to_worker[0].context, "recipient_id": WORKER, "recipient_name": "王"})
    assert rendered.title.startswith("【swflow】转介跟进提醒：" + ("2 项" if digest else "1 项"))
    project_events = [e for e in domain.project_events(project) if e["kind"] == "referral.escalated"]
    assert sorted(e["payload"]["id"] for e in project_events) == [first, second]
