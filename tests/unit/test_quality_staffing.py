"""§8.1 staffing and certificates, and the quality report that brings §7 and §8 together."""

from __future__ import annotations

from typing import Any

from swflow import domain
from swflow.domain.agency import sweep
from swflow.domain.quality import (
    open_complaint,
    quality_report,
    record_session,
    render_quality_html,
    report_incident,
    staffing_report,
)

from ._quality import at, messages, rendered, sent_steps
from ._support import DIRECTOR, MANAGER, NOW, SECOND_WORKER, SUPERVISOR, WORKER


def import_person(**record: Any) -> None:
    defaults = {"roles": ["worker"], "notify": [f"json://127.0.0.1:9/{record['id']}"]}
    domain.import_people([domain.PersonRecord.model_validate(defaults | record)], actor="test", now=NOW)


def by_community(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["community"]: row for row in report["communities"]}


def test_an_urban_community_without_a_qualified_worker_is_flagged(people: Any) -> None:
    cert = {"kind": "certificate", "level": "助理社会工作师", "number": "ASW-1"}
    import_person(id=WORKER, name="王社工", community="幸福社区", qualifications=[cert])
    import_person(id=SECOND_WORKER, name="赵社工", community="阳光社区")  # no certificate, no degree
    expired = cert | {"number": "ASW-2", "valid_until": "2025-12-31"}
    import_person(id="qian.worker", name="钱社工", community="阳光社区", qualifications=[expired])
    import_person(id="wu.worker", name="吴社工", community="杨柳村", qualifications=[cert | {"number": "ASW-3"}])

    rows = by_community(staffing_report(NOW))
    assert rows["幸福社区"]["qualified"] == [WORKER] and rows["幸福社区"]["flag"] is None
    assert rows["阳光社区"]["workers"] == ["qian.worker", SECOND_WORKER] and rows["阳光社区"]["qualified"] == []
    assert "至少配备一名" in rows["阳光社区"]["flag"]
    assert rows["杨柳村"]["kind"] == "rural" and rows["杨柳村"]["flag"] is None


def test_a_rural_community_without_one_is_advised_not_required(people: Any) -> None:
    rows = by_community(staffing_report(NOW))  # nobody on record in 杨柳村 (config/quality.yaml: rural)
    assert "宜配备" in rows["杨柳村"]["flag"] and "至少" in rows["阳光社区"]["flag"]


def test_a_certificate_about_to_expire_is_reminded_until_it_is_renewed(project_id: str) -> None:
    cert = {"kind": "certificate", "level": "助理社会工作师", "number": "ASW-9", "valid_until": "2026-03-20"}
    import_person(id=WORKER, name="王社工", community="幸福社区", qualifications=[cert])

    sweep(at("2026-03-05", 10))
    assert sent_steps("certificate") == []
    sweep(at("2026-03-06", 10))  # ten working days before it expires: the holder
    sweep(at("2026-03-17", 10))  # three: the holder and the manager of their project
    assert [(step, who) for _, _, step, who in sent_steps("certificate")] == [
        ("expiring_10", [WORKER]),
        ("expiring_3", [WORKER, MANAGER]),
    ]
    assert "助理社会工作师证书于 2026-03-20 到期" in rendered(messages("quality_due", WORKER)[0])
    assert [c["person"] for c in staffing_report(NOW)["certificates"]] == ["qian.worker", WORKER]  # expired first

    import_person(id=WORKER, name="王社工", community="幸福社区", qualifications=[cert | {"valid_until": "2029-03-20"}])
    sweep(at("2026-03-20", 10))  # the old certificate is no longer watched
    assert len(sent_steps("certificate")) == 2


def test_the_quality_report_sums_up_without_confidential_or_sensitive_text(project_id: str) -> None:
    record_session(
        {"supervisees": [WORKER], "held_on": "2026-03-02", "mode": "individual", "topics": ["机密的督导主题"]},
        SUPERVISOR,
        at("2026-03-02", 15),
    )
    report_incident(
        {
            "kind": "accident",
            "severity": "severe",
            "occurred_at": "2026-03-03T10:00:00",
            "place": "活动室",
            "people_involved": "李秀英 13600000000",
            "description": "老人在活动中跌倒",
            "handling": "送医",
            "project": project_id,
        },
        WORKER,
        at("2026-03-03", 11),
    )
    late = open_complaint(
        {"channel": "phone", "content": "生日会取消", "contact": "张建国 13912345678", "project": project_id},
        DIRECTOR,
        NOW,
    )
    sweep(at("2026-03-11", 10))  # the complaint's acknowledgement is five working days late

    report = quality_report(at("2026-03-11", 12), None, None)
    supervision = {r["person"]: r["state"] for r in report["supervision"]["rows"]}
    assert supervision[WORKER] == "ok" and report["supervision"]["sessions_in_period"] == 1
    assert {b["severity"]: b["count"] for b in report["incidents"]["by_severity"]}["severe"] == 1
    assert report["complaints"]["ack_overdue"] == 1 and report["complaints"]["rows"][0]["id"] == late["id"]
    [risky] = report["projects_at_risk"]
    assert risky["project"] == project_id
    assert any("严重事件" in r for r in risky["reasons"]) and any("逾期未确认受理" in r for r in risky["reasons"])

    html = render_quality_html(report)
    assert "服务质量报告" in html and project_id in html and "逾期未确认受理" in html
    assert "截至 2026-03-11 12:00" in html  # Beijing time on the page; the JSON keeps UTC
    assert report["period"]["as_of"] == "2026-03-11T04:00:00+00:00"
    for secret in ("机密的督导主题", "李秀英", "13600000000", "张建国", "13912345678", "生日会"):
        assert secret not in html and secret not in str(report)


def test_the_report_of_a_past_period_judges_lateness_at_its_end(project_id: str) -> None:
    open_complaint({"channel": "visit", "content": "x", "project": project_id}, DIRECTOR, NOW)
    march = quality_report(at("2026-06-01"), None, at("2026-03-03").date())
    assert march["period"]["to"] == "2026-03-03"
    assert march["complaints"]["ack_overdue"] == 0  # on 3 March it was not yet late
    assert quality_report(at("2026-06-01"), at("2026-03-04").date(), None)["complaints"]["total"] == 0
