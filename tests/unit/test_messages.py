"""Messages: every template renders from the restricted context; no form data ever leaves."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jinja2 import UndefinedError

from swflow import domain
from swflow.config.clock import fixed_clock
from swflow.config.settings import get_settings
from swflow.notifications import dispatch_once, render_message

from ._support import NOW, SUPERVISOR, WORKER

TEMPLATES = Path(__file__).resolve().parents[2] / "notifications" / "templates"


def _status_context(**changes: Any) -> dict[str, Any]:
    """What archive.messages.message_context and the dispatcher put together for one message."""
    return {
        "project_id": "P-1A2B3C",
        "project_name": "幸福社区独居老人关爱",
        "community": "幸福社区",
        "link": "http://127.0.0.1:8400/projects/P-1A2B3C",
        "stage": "需求评估",
        "stage_key": "assessment",
        "round": 1,
        "tasks": ["需求评估表"],
        "due": "2026-03-16 18:00",
        "note": "",
        "recipient_id": "li.supervisor",
        "recipient_name": "李督导",
        # quality messages (swflow.domain.quality): codes, kinds and due dates only
        "incident_id": 7,
        "kind": "意外伤害",
        "severity": "严重",
        "occurred": "2026-03-02 10:30",
        "complaint_id": 3,
        "channel": "电话",
        "ack_due": "2026-03-04 18:00",
        "answer_due": "2026-03-16 18:00",
        "action_id": 5,
        "action_kind": "纠正行动",
        "source_title": "投诉 #3",
        # a recovered run (flows.recovery): why, in a sentence without case details
        "reason": "流程运行已在项目进行中结束（Crashed）",
        "link_hours": 72,  # an account invitation (domain.agency.invites)
        # the daily checkpoint digest (archive.checkpoints): numbers and hashes only
        "number": 12,
        "signed_at": "2026-03-02 09:00",
        "key": "0123456789abcdef",
        "sha256": "f" * 64,
        "streams": 3,
        "events": 40,
        "person": "sun.supervisor",  # a deciding role asked for (domain.agency.grants)
        "roles": "督导",
        "requested_by": "cli:root",
        "items": [
            {
                "project_id": "P-1A2B3C",
                "project_name": "幸福社区独居老人关爱",
                "stage": "需求评估",
                "task": "需求评估表",
                "due": "2026-03-16 18:00",
                "step": "今日截止",
            }
        ],
        **changes,
    }


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.j2")), ids=lambda p: p.stem)
def test_every_message_template_renders_a_title_and_a_body(path: Path) -> None:
    message = render_message(path.stem, _status_context())

    assert message.title.startswith("【swflow】")
    assert "\n" not in message.title
    assert message.body.startswith("您好，李督导：")
    if path.stem not in (
        "account_invite",
        "checkpoint_digest",
        "roles_grant_requested",
    ):  # the person's account, the whole archive
        assert "幸福社区独居老人关爱" in message.body
    assert message.body.endswith("查看：http://127.0.0.1:8400/projects/P-1A2B3C")
    assert "{{" not in message.body and "{%" not in message.body


def test_approval_request_gives_the_supervisor_a_one_tap_link_and_the_gate_page() -> None:
    link = "http://127.0.0.1:8400/l/eyJsIjoiYWJjIn0.sig"
    gate_page = "http://127.0.0.1:8400/gates/P-1A2B3C/assessment"
    body = render_message(
        "approval_requested", _status_context(decide_link=link, link=gate_page, step="第 1/1 步（项目督导）")
    ).body

    assert f"一键审核：{link}" in body
    assert "72 小时内有效" in body and "只能使用一次" in body
    assert body.endswith(f"查看：{gate_page}")
    assert "swflow approve" not in body and "--by" not in body  # a supervisor types no command


def test_approval_request_without_a_link_still_names_the_gate_page() -> None:
    """A home whose signing key is not made yet (never served) has no one-tap link to give."""
    body = render_message("approval_requested", _status_context(decide_link="")).body

    assert "一键审核" not in body
    assert body.endswith("查看：http://127.0.0.1:8400/projects/P-1A2B3C")


def test_reopened_stage_names_the_round_and_the_supervisors_note() -> None:
    first = render_message("stage_opened", _status_context(round=1))
    second = render_message("stage_opened", _status_context(round=2, note="请补充独居老人名册"))

    assert "轮" not in first.title and "督导意见" not in first.body
    assert "（第 2 轮修改）" in second.title
    assert "督导意见：请补充独居老人名册" in second.body
    assert "请在 2026-03-16 18:00 前完成以下表单：\n  - 需求评估表" in second.body


def test_missing_context_value_is_an_error_not_a_blank() -> None:
    context = _status_context()
    del context["due"]
    with pytest.raises(UndefinedError, match="due"):
        render_message("stage_opened", context)


class RecordingSender:
    """A hand-written fake of the apprise adapter: keeps what would have been sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, url: str, title: str, body: str) -> tuple[bool, str | None]:
        self.sent.append((url, title, body))
        return True, None


SECRETS = {
    "key_cases": "赵秀英，82 岁，独居，身份证 110101194401010022，患阿尔茨海默病，子女失联",
    "incidents": "钱桂兰 3 月 14 日夜间跌倒，送市第一医院急诊，家属电话 13800138000",
}


def _lifecycle(project_id: str, forms: dict[str, Any], pass_stage: Callable[..., domain.GateOutcome]) -> None:
    """A whole project: one return with a note, every stage approved, the project closed."""
    assessment = {**forms["needs-assessment"], "key_cases": SECRETS["key_cases"]}
    pass_stage(project_id, "assessment", "needs-assessment", assessment, "return", "请补充名册")
    domain.submit_form(project_id, "needs-assessment", WORKER, assessment, NOW)
    decided = domain.record_decision(project_id, "assessment", SUPERVISOR, "approve", "", NOW)
    domain.apply_gate_reply(project_id, "assessment", 1, decided.decision_id, NOW)
    pass_stage(project_id, "planning", "service-plan")
    pass_stage(
        project_id, "execution", "activity-record", {**forms["activity-record"], "incidents": SECRETS["incidents"]}
    )
    pass_stage(project_id, "evaluation", "outcome-evaluation")
    domain.close_project(project_id, NOW)


def test_messages_never_carry_sensitive_form_data(
    project_id: str,
    sample_forms: dict[str, Any],
    pass_stage: Callable[..., domain.GateOutcome],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _lifecycle(project_id, sample_forms, pass_stage)
    queued = domain.due_messages(NOW, limit=1000)
    # every message is read here as it would have been sent at its time; that the ones about a stage
    # now decided are dropped at dispatch is tests/unit/test_outbox_superseded.py's to show
    monkeypatch.setattr("swflow.domain.outbox.records.still_current", lambda _session, _about: True)
    sender = RecordingSender()

    report = dispatch_once(sender, clock=fixed_clock(NOW))

    # deadline digests come from sweeps: tests/unit/test_deadlines.py checks them for leaks;
    # quality messages come from supervision, incidents and complaints: tests/unit/test_quality_*.py
    quality = {"quality_due", "incident_reported", "complaint_received", "quality_action_assigned"}
    swept = {"deadline_digest", "referral_due"}  # referral follow-ups: tests/unit/test_registry_referrals.py
    recovered = {"run_recovered"}  # only when a run is lost: tests/unit/test_recovery_acts.py
    recovered |= {"account_invite"}  # accounts: tests/unit/test_accounts.py
    recovered |= {"checkpoint_digest"}  # serve's daily anchor: tests/unit/test_checkpoints.py
    recovered |= {"roles_grant_requested"}  # deciding roles: tests/unit/test_role_grants.py
    assert {m.template for m in queued} == {p.stem for p in TEMPLATES.glob("*.j2")} - {*swept, *quality, *recovered}
    assert (report.sent, report.retrying, report.failed) == (len(queued), 0, 0)
    assert len(sender.sent) == len(queued) == 11  # 5 rounds opened, 5 approvals asked, 1 closing
    outgoing = json.dumps([m.context for m in queued], ensure_ascii=False) + "".join(
        title + body for _, title, body in sender.sent
    )
    for field, secret in SECRETS.items():
        assert secret not in outgoing, field
        assert secret[:3] not in outgoing, field  # not even the name
    assert "请补充名册" in outgoing  # the supervisor's note does travel


def test_messages_carry_no_form_answers_at_all(
    project_id: str,
    sample_forms: dict[str, Any],
    pass_stage: Callable[..., domain.GateOutcome],
) -> None:
    _lifecycle(project_id, sample_forms, pass_stage)
    sender = RecordingSender()

    dispatch_once(sender, clock=fixed_clock(NOW))

    outgoing = "".join(title + body for _, title, body in sender.sent)
    answers = [
        value
        for form in ("needs-assessment", "service-plan", "activity-record", "outcome-evaluation")
        for value in sample_forms[form].values()
        if isinstance(value, str) and len(value) > 8
    ]
    assert answers
    assert [a for a in answers if a in outgoing] == []


def test_each_message_links_the_web_page_it_is_about(
    project_id: str, sample_forms: dict[str, Any], pass_stage: Callable[..., domain.GateOutcome]
) -> None:
    _lifecycle(project_id, sample_forms, pass_stage)
    base = get_settings().link_base
    links = {(m.template, m.context["link"]) for m in domain.due_messages(NOW, limit=1000)}

    assert ("stage_opened", f"{base}/?project={project_id}") in links  # the worker's inbox of the project
    assert ("approval_requested", f"{base}/gates/{project_id}/assessment") in links  # the gate page
    assert ("project_completed", f"{base}/projects/{project_id}") in links  # the project page by default
    assert not [link for _, link in links if "/runs/" in link]  # never the Prefect UI


def test_an_approval_request_carries_a_decide_link_bound_to_the_gate_by_ids_only(
    awaiting_assessment: str, sample_forms: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from swflow.db import read_session
    from swflow.db.web_tables import PersonLink

    project = awaiting_assessment  # round 1 was asked for before the home had its signing key
    monkeypatch.setenv("SWFLOW_WEB_SECRET", "test-web-secret-" + "x" * 24)
    get_settings.cache_clear()
    decided = domain.record_decision(project, "assessment", SUPERVISOR, "return", "请补充名册", NOW)
    domain.apply_gate_reply(
        project, "assessment", domain.read_gate(project, "assessment").attempt, decided.decision_id, NOW
    )
    domain.submit_form(project, "needs-assessment", WORKER, sample_forms["needs-assessment"], NOW)

    asks = [m for m in domain.due_messages(NOW, limit=1000) if m.template == "approval_requested"]
    assert [m.context["round"] for m in asks] == [1, 2]
    assert asks[0].context["decide_link"] == ""  # no key, no link: the gate page only
    link = asks[1].context["decide_link"]
    assert link.startswith(f"{get_settings().link_base}/l/")
    payload = link.rsplit("/", 1)[1].split(".")[0]
    assert list(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))) == ["l"]  # an id only
    with read_session() as session:
        [row] = session.query(PersonLink).filter_by(purpose="decide").all()
        assert (row.person_id, row.subject) == (
            SUPERVISOR,
            {"project": project, "stage": "assessment", "round": 2, "step": 1},
        )
