"""质量管理 on the web, as the agency's people use it: a complaint from intake to closure with its
working-day deadlines, an incident reported and closed with its follow-up, a confidential supervision
session, the quality report. Every act is the signed-in person's through the web door; visibility and
refusals are the domain's; bad input is named at its fields with nothing written and what was typed kept."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from swflow.config.clock import local_text
from swflow.domain.projects.project_view import due_words
from swflow.domain.quality import list_complaints, list_incidents, open_complaint, record_session, report_incident

from ..unit._quality import at
from ..unit._support import DIRECTOR, MANAGER, NOW, SECOND_WORKER, SUPERVISOR, WORKER
from .conftest import DESKTOP, PHONE, sign_in
from .test_gates import events, signed_in_client

CONTENT = "三月二日的长者生日会临时取消，没有提前通知我母亲，她白等了一上午"
CONTACT = "张建国 13912345678"
TOPICS = "独居老人个案中的哀伤反应"
DECISIONS = "下周起每周与李阿姨的女儿通一次电话"
INCIDENT = {"kind": "health", "severity": "severe", "occurred_at": "2026-03-02T08:00", "place": "活动室"}
INCIDENT |= {"people_involved": "—", "description": "突发头晕", "handling": "送医"}


def all_events() -> int:
    from swflow.db import read_session
    from swflow.db.tables import Event

    with read_session() as session:
        return session.query(Event).count()


def by_web(kind: str, actor: str, **about: Any) -> list[dict[str, Any]]:
    """The events of `kind` (about this record, when given), each checked to be the act of `actor`
    through the web door."""
    found = [e for e in events(kind) if all(e["payload"].get(k) == v for k, v in about.items())]
    assert found, f"no {kind} event"
    for event in found:
        assert event["actor"] == actor and event["via"]["door"] == "web" and event["via"]["session"], event
    return found


def field_errors(page: Any, field: str) -> list[str]:
    return [t.strip() for t in page.locator(f"#w-{field} .field-error").all_inner_texts()]


def fill(page: Any, **fields: str) -> None:
    """Type into each field (`open_content` is `#open-content`)."""
    for name, value in fields.items():
        page.fill("#" + name.replace("_", "-", 1), value)


def words(due: str | None, now: datetime) -> str:
    return due_words(datetime.fromisoformat(due) if due else None, now).text


# a complaint's whole life


@pytest.mark.browser
def test_a_complaint_is_opened_acknowledged_answered_acted_on_and_closed_on_the_pages(
    web: str,
    project_id: str,
    give_password: Callable[[str], str],
    browser: Any,
    shots: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    give_password(MANAGER)
    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, MANAGER)
    page.goto(f"{web}/quality")
    page.click("#new-complaint")
    page.check("input[name=channel][value=phone]")
    fill(page, open_content=CONTENT, open_contact=CONTACT, open_project=project_id)
    page.click("#open-submit")
    assert page.url.endswith("/quality/complaints/1?done=opened"), page.url
    [row] = list_complaints(NOW)
    assert (row["handler"], row["status"]) == (MANAGER, "open")  # the project's manager handles it
    facts = page.locator(".complaint-facts").inner_text()
    assert f"期限 {local_text(row['ack_due_at'])} {words(row['ack_due_at'], NOW)}" in facts  # 2026-03-04 18:00
    assert f"期限 {local_text(row['answer_due_at'])} {words(row['answer_due_at'], NOW)}" in facts
    assert "2026-03-04 18:00 还剩 2 个工作日" in facts and "2026-03-16 18:00" in facts
    assert page.inner_text("#complaint-contact") == CONTACT
    shots(page, "complaint-phone")

    later = at("2026-03-05", 10)  # the acknowledgement is a working day late
    monkeypatch.setenv("SWFLOW_NOW", later.isoformat())
    sign_in(page, web, MANAGER)  # three days idle: signed out
    page.goto(f"{web}/quality")
    first = page.locator("#open-complaints tbody tr").first
    assert first.get_attribute("data-id") == "1" and "已逾期 1 个工作日" in first.inner_text()
    assert words(row["ack_due_at"], later) == "已逾期 1 个工作日"
    shots(page, "quality-overview-phone")
    page.set_viewport_size(DESKTOP)
    shots(page, "quality-overview-desktop")
    page.set_viewport_size(PHONE)
    page.click("text=投诉 #1")
    page.fill("#ack-note", "已电话联系投诉人")
    page.click("#ack-submit")
    assert "已记录：确认受理" in page.inner_text(".notice")
    page.fill("#answer-answer", "已向家属致歉，今后活动变更提前两天电话通知")
    page.click("#answer-submit")
    page.check("input[name=kind][value=corrective]")
    page.select_option("#action-owner", WORKER)
    fill(page, action_due="2026-03-20", action_text="建立活动变更电话通知流程")
    page.click("#action-submit")
    assert "行动已布置" in page.inner_text(".notice")
    assert "纠正行动 #1 · 负责人 王社工（wang.worker）\n期限 2026-03-20 18:00" in page.inner_text(".quality-actions")
    page.fill("#close-feedback", "家属表示接受")
    page.check("input[name=satisfied][value=yes]")
    page.click("#close-submit")
    assert "投诉已结案" in page.inner_text(".notice") and "已结案" in page.inner_text("h1")
    assert page.locator("#form-answer, #form-close, #form-ack").count() == 0

    assert len(by_web("complaint.opened", MANAGER)) == 2  # the complaint's stream and the project's
    [acked] = by_web("complaint.acknowledged", MANAGER)
    assert acked["payload"]["late"] is True
    by_web("complaint.answered", MANAGER)
    [added] = by_web("action.added", MANAGER)
    assert added["payload"]["owner"] == WORKER
    [closed] = by_web("complaint.closed", MANAGER)
    assert closed["payload"]["satisfied"] is True and closed["payload"]["open_actions"] == 1
    history = page.locator(".quality-history").inner_text()
    assert [w in history for w in ("登记投诉", "确认受理", "答复投诉人", "布置行动", "记录反馈并结案")] == [True] * 5
    assert "哈希链完整" in page.inner_text("body")
    page.set_viewport_size(DESKTOP)
    shots(page, "complaint-closed-desktop")


@pytest.mark.browser
def test_bad_input_is_named_at_its_fields_nothing_is_written_and_what_was_typed_is_kept(
    web: str, project_id: str, give_password: Callable[[str], str], browser: Any, shots: Callable[..., Path]
) -> None:
    give_password(MANAGER)
    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, MANAGER)
    before = all_events()
    page.goto(f"{web}/quality/complaints/new")
    fill(page, open_contact=CONTACT)  # no content, no project, no service
    page.click("#open-submit")
    assert field_errors(page, "open-content") == ["必填"]
    assert field_errors(page, "open-service") == ["投诉不涉及某个项目（project）时，须写明涉及的服务"]
    assert "有 2 处需要修改，投诉尚未记录" in page.inner_text("#problems")
    assert page.input_value("#open-contact") == CONTACT
    fill(page, open_project="P-NOSUCH", open_service="长者饭堂")  # still no content: both at once
    page.click("#open-submit")
    assert field_errors(page, "open-project") == ["没有项目 P-NOSUCH"] and field_errors(page, "open-content") == [
        "必填"
    ]
    assert page.input_value("#open-service") == "长者饭堂" and field_errors(page, "open-service") == []
    shots(page, "complaint-refused-phone")
    assert all_events() == before and list_complaints(NOW) == []

    complaint = open_complaint({"channel": "visit", "content": CONTENT, "project": project_id}, MANAGER, NOW)["id"]
    before = all_events()
    page.goto(f"{web}/quality/complaints/{complaint}")
    page.click("#action-submit")  # nothing filled in
    assert [field_errors(page, f"action-{f}") for f in ("owner", "due", "text")] == [["必填"]] * 3
    page.select_option("#action-owner", WORKER)
    fill(page, action_due="2026-02-27", action_text="电话通知流程")
    page.click("#action-submit")
    assert field_errors(page, "action-due") == ["行动期限 2026-02-27 已过：期限不能早于今天"]
    assert page.input_value("#action-text") == "电话通知流程" and page.input_value("#action-owner") == WORKER
    assert page.locator("#form-close").count() == 0  # not answered yet: its state allows no closure
    assert all_events() == before


@pytest.mark.browser
def test_an_incident_is_reported_followed_up_and_closed_with_its_deadline(
    web: str, project_id: str, give_password: Callable[[str], str], browser: Any, shots: Callable[..., Path]
) -> None:
    give_password(WORKER)
    give_password(MANAGER)
    lost = {**INCIDENT, "kind": "property", "severity": "low", "occurred_at": "2026-02-09T10:00"}
    early = report_incident(lost, DIRECTOR, at("2026-02-09", 11))  # three weeks ago, never closed: past its deadline
    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, WORKER)
    page.goto(f"{web}/quality/incidents/new")
    page.select_option("#report-kind", "accident")
    page.check("input[name=severity][value=severe]")
    page.fill("#report-occurred_at", "2026-03-02T08:30")
    fill(page, report_place="幸福社区长者食堂", report_people_involved="李阿姨（82 岁），右手腕擦伤")
    fill(page, report_project="P-NOSUCH")
    page.click("#report-submit")  # description and handling missing, no such project: all at once
    assert field_errors(page, "report-description") == ["必填"] and field_errors(page, "report-handling") == ["必填"]
    assert field_errors(page, "report-project") == ["没有项目 P-NOSUCH"]
    assert page.input_value("#report-place") == "幸福社区长者食堂"
    fill(page, report_description="用餐后起身时滑倒", report_handling="现场冰敷，联系家属陪同就医")
    fill(page, report_project=project_id)
    page.click("#report-submit")
    assert "事件已登记" in page.inner_text(".notice") and "已立即通知督导和机构负责人" in page.inner_text(".notice")
    [old, new] = list_incidents()
    assert new["close_due_at"] == "2026-03-05T10:00:00+00:00"  # severe: 3 working days, 18:00 Beijing time
    assert f"期限 {local_text(new['close_due_at'])} {words(new['close_due_at'], NOW)}" in page.inner_text("#close-due")
    assert [e["payload"]["severity"] for e in by_web("incident.reported", WORKER, incident=new["id"])] == ["severe"] * 2

    page.goto(f"{web}/quality")
    rows = page.locator("#open-incidents tbody tr")
    assert [rows.nth(n).get_attribute("data-id") for n in range(2)] == [str(early["id"]), str(new["id"])]
    assert words(old["close_due_at"], NOW) in rows.first.inner_text() and "已逾期" in rows.first.inner_text()
    page.goto(f"{web}/quality/incidents/{new['id']}")
    page.fill("#close-follow_up", "已回访，家属满意")
    page.click("#close-submit")  # a worker may not close it: the act says so, on the page
    assert "不能结束事件记录" in page.inner_text("#problems")
    assert page.input_value("#close-follow_up") == "已回访，家属满意"

    page = browser.new_page(viewport=DESKTOP)
    sign_in(page, web, MANAGER)
    page.goto(f"{web}/quality/incidents/{new['id']}")
    page.click("#close-submit")
    assert field_errors(page, "close-follow_up") == ["必填"]
    page.fill("#close-follow_up", "已回访，家属满意；食堂地面加防滑垫")
    page.click("#close-submit")
    assert "事件已结束" in page.inner_text(".notice") and "已回访" in page.inner_text("#follow-up")
    by_web("incident.closed", MANAGER, incident=new["id"])
    assert list_incidents()[1]["status"] == "closed"
    shots(page, "incident-closed-desktop")


# supervision


@pytest.mark.browser
def test_a_confidential_session_is_recorded_and_refused_to_a_worker_outside_its_circle(
    web: str, give_password: Callable[[str], str], browser: Any, shots: Callable[..., Path]
) -> None:
    for person in (SUPERVISOR, SECOND_WORKER, WORKER):
        give_password(person)
    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, SUPERVISOR)
    page.goto(f"{web}/quality/supervision/new")
    page.check(f"input[name=supervisees][value='{WORKER}']")
    page.check("input[name=mode][value=group]")
    page.fill("#session-held_on", "2026-03-03")
    page.click("#session-submit")  # group of one, tomorrow, no topic: all at once, at their fields
    assert field_errors(page, "session-mode") == ["小组督导至少有两位被督导者；一人请用 individual"]
    assert field_errors(page, "session-held_on") == ["督导日期 2026-03-03 在今天（2026-03-02）之后：只记录已进行的督导"]
    assert field_errors(page, "session-topics") == ["至少 1 项"]
    shots(page, "session-refused-fields-phone")
    assert events("supervision.recorded") == []
    page.check("input[name=mode][value=individual]")
    fill(page, session_held_on="2026-03-02", session_topics=TOPICS, session_decisions=DECISIONS)
    page.select_option("#session-actions-0-owner", WORKER)
    page.fill("#session-actions-0-due", "2026-03-09")
    page.fill("#session-actions-0-text", "整理李阿姨的个案记录")
    page.click("#session-submit")
    assert page.url.endswith("/quality/supervision/1?done=recorded")
    assert TOPICS in page.inner_text("#session-topics") and "2026-03-09 18:00" in page.inner_text(".quality-actions")
    [recorded] = by_web("supervision.recorded", SUPERVISOR)
    assert recorded["payload"]["supervisees"] == [WORKER] and TOPICS not in json.dumps(recorded, ensure_ascii=False)
    by_web("action.added", SUPERVISOR)
    shots(page, "session-phone")

    outsider = browser.new_page(viewport=PHONE)
    sign_in(outsider, web, SECOND_WORKER)
    outsider.goto(f"{web}/quality/supervision")
    assert outsider.locator("#sessions tbody tr[data-id='1']").count() == 0  # not even when, to a worker
    assert TOPICS not in outsider.inner_text("body") and DECISIONS not in outsider.content()
    answer = outsider.goto(f"{web}/quality/supervision/1")  # opened by its address: refused by the act
    assert answer is not None and answer.status == 403
    assert "不在督导记录 #1的知悉范围内" in outsider.inner_text("main") and TOPICS not in outsider.content()
    answer = outsider.goto(f"{web}/quality/supervision/new")
    assert answer is not None and answer.status == 403 and "没有「督导」角色" in outsider.inner_text("main")
    shots(outsider, "session-refused-phone")

    supervisee = browser.new_page(viewport=DESKTOP)
    sign_in(supervisee, web, WORKER)
    supervisee.goto(f"{web}/quality/supervision")
    supervisee.click("text=督导 #1")
    assert DECISIONS in supervisee.inner_text("#session-decisions")
    supervisee.click("#done-1")  # the follow-up's owner marks it done
    assert "行动已标记完成" in supervisee.inner_text(".notice")
    by_web("action.done", WORKER)


# the report


def figures(page: Any) -> dict[str, str]:
    return dict(
        page.eval_on_selector_all("[data-figure]", "els => els.map(e => [e.dataset.figure, e.textContent.trim()])")
    )


def expected(report: dict[str, Any]) -> dict[str, str]:
    """The figures of `swflow quality report --json` the page shows, as it shows them."""
    s, i, c, a = report["supervision"], report["incidents"], report["complaints"], report["actions"]
    found = {f"supervision.{k}": s[k] for k in ("covered", "required", "sessions_in_period")}
    found |= {"supervision.overdue": len(s["overdue"]), "projects_at_risk": len(report["projects_at_risk"])}
    found |= {"incidents.total": i["total"], "incidents.open": i["open"]}
    found |= {f"incidents.by_severity.{b['severity']}": b["count"] for b in i["by_severity"]}
    found |= {f"complaints.{k}": v for k, v in c.items() if k != "rows"}
    found |= {f"actions.{k}": v for k, v in a.items()}
    for row in c["rows"]:
        for key, none in (("ack_working_days", "未确认"), ("answer_working_days", "未答复")):
            found[f"complaints.rows.{row['id']}.{key}"] = none if row[key] is None else row[key]
    for row in report["staffing"]["communities"]:
        found |= {f"staffing.{row['community']}.{k}": len(row[k]) for k in ("workers", "qualified")}
    return {k: str(v) for k, v in found.items()}


@pytest.mark.browser
def test_the_report_page_shows_the_figures_the_cli_reports(
    web: str,
    project_id: str,
    give_password: Callable[[str], str],
    browser: Any,
    shots: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    from swflow.app.cli.main import main
    from swflow.domain.quality import acknowledge_complaint

    late = open_complaint({"channel": "letter", "content": CONTENT, "service": "长者饭堂"}, MANAGER, at("2026-02-02"))
    acknowledge_complaint(late["id"], DIRECTOR, "", at("2026-02-06", 10))
    open_complaint({"channel": "phone", "content": CONTENT, "project": project_id}, MANAGER, NOW)
    report_incident({**INCIDENT, "project": project_id}, WORKER, NOW)
    data = {"supervisees": [WORKER], "held_on": "2026-03-02", "mode": "individual", "topics": [TOPICS]}
    record_session(data, SUPERVISOR, NOW)
    assert main(["quality", "report", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)

    give_password(DIRECTOR)
    page = browser.new_page(viewport=DESKTOP)
    sign_in(page, web, DIRECTOR)
    page.goto(f"{web}/quality/report")
    assert figures(page) == expected(report)
    assert expected(report)["complaints.acknowledged_late"] == "1" and expected(report)["incidents.open"] == "1"
    shots(page, "report-desktop")
    page.set_viewport_size(PHONE)
    shots(page, "report-phone")

    page.fill("#period-from", "2026-03-01")
    page.click("#period-submit")
    assert main(["quality", "report", "--from", "2026-03-01", "--json"]) == 0
    assert figures(page) == expected(json.loads(capsys.readouterr().out))
    page.goto(f"{web}/quality/report?from=2026-13-01")
    assert field_errors(page, "period-from") == ["必须是日期（YYYY-MM-DD）"]
    assert page.get_attribute("#period-from", "value") == "2026-13-01"  # kept (a date input shows no bad date)


# through the door without a browser


def test_identity_is_the_session_and_a_post_needs_its_csrf_token(
    web: str, project_id: str, give_password: Callable[[str], str]
) -> None:
    give_password(MANAGER)
    with signed_in_client(web, MANAGER) as client:
        page = client.get("/quality/complaints/new")
        token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        intake = {"channel": "online", "content": CONTENT, "project": project_id}
        refused = client.post("/quality/complaints/new", data=intake)
        assert refused.status_code == 403 and list_complaints(NOW) == []
        made = client.post(
            "/quality/complaints/new", data={**intake, "csrf": token, "by": DIRECTOR, "received_by": DIRECTOR}
        )
        assert made.status_code == 303
        saved = client.get("/quality/report.html?to=2026-03-02")
        assert saved.status_code == 200 and "服务质量报告" in saved.text
        assert saved.headers["content-disposition"] == 'attachment; filename="quality-report-2026-03-02.html"'
        assert client.get("/quality/complaints/99").status_code == 404
    [opened, _] = by_web("complaint.opened", MANAGER)  # the signed-in one, whatever the form says
    assert opened["payload"]["channel"] == "online"
    with httpx.Client(base_url=web) as anonymous:
        assert anonymous.get("/quality").status_code == 303  # to sign in


def test_a_complaint_is_refused_to_people_outside_its_circle_and_its_acts_to_those_who_may_not_handle_it(
    web: str, project_id: str, give_password: Callable[[str], str]
) -> None:
    complaint = open_complaint(
        {"channel": "phone", "content": CONTENT, "contact": CONTACT, "project": project_id}, MANAGER, NOW
    )
    give_password(WORKER)
    give_password(SUPERVISOR)
    with signed_in_client(web, WORKER) as client:  # on the project's team, yet not in the complaint's circle
        shown = client.get(f"/quality/complaints/{complaint['id']}")
        assert shown.status_code == 403 and "知悉范围" in shown.text and CONTACT not in shown.text
        assert f"投诉 #{complaint['id']}" in client.get("/quality").text  # listed: deadlines and states, no content
    with signed_in_client(web, SUPERVISOR) as client:  # in its circle, not its handler
        page = client.get(f"/quality/complaints/{complaint['id']}")
        assert page.status_code == 200 and CONTACT in page.text
        token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        before = all_events()
        refused = client.post(f"/quality/complaints/{complaint['id']}/ack", data={"csrf": token, "note": "已联系"})
        assert refused.status_code == 403 and "不是投诉 #1 的处理人" in refused.text and all_events() == before
        assert 'value="已联系"' in refused.text
