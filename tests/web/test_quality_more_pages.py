"""整改措施, 风险规则复核 and the overview's period on the web: the actions page lists what `swflow quality
actions` lists (past-due ones first), each linking to its record and marked done by the existing act;
the risk rules' review is recorded as `swflow incident review-rules` records it, by the signed-in
person through the web door, and refused (nothing written) to one the act does not allow; bad input is
named at its field; the overview's complaint and incident lists take `--from/--to`'s period."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from swflow.config.clock import local_text
from swflow.config.limits import get_limits
from swflow.domain.quality import (
    add_complaint_action,
    complete_action,
    list_complaints,
    list_incidents,
    open_complaint,
    record_session,
    report_incident,
)

from ..unit._quality import at
from ..unit._support import DIRECTOR, MANAGER, NOW, SUPERVISOR, WORKER
from .conftest import DESKTOP, PHONE, sign_in
from .test_gates import events
from .test_quality_pages import CONTENT, INCIDENT, all_events, by_web, field_errors

LATER = at("2026-03-05", 10)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    from swflow.app.cli.main import main

    capsys.readouterr()
    assert main(list(args)) == 0
    return json.loads(capsys.readouterr().out)


def late(row: dict[str, Any], now: datetime) -> bool:
    return row["status"] == "open" and datetime.fromisoformat(row["due_at"]) < now


def shown_ids(page: Any) -> list[int]:
    return [int(i) for i in page.eval_on_selector_all("#actions tbody tr", "rs => rs.map(r => r.dataset.id)")]


def make_actions(project_id: str) -> int:
    """Three complaint actions (one done at once) and a supervision follow-up; returns the complaint."""
    complaint = open_complaint({"channel": "phone", "content": CONTENT, "project": project_id}, MANAGER, NOW)["id"]
    for due, text in (
        ("2026-03-02", "当天电话致歉"),
        ("2026-03-03", "电话通知流程"),
        ("2026-03-10", "修订活动通知制度"),
    ):
        add_complaint_action(complaint, MANAGER, "corrective", {"owner": WORKER, "due": due, "text": text}, NOW)
    complete_action(1, WORKER, "已致歉", NOW)
    session = {"supervisees": [WORKER], "held_on": "2026-03-02", "mode": "individual", "topics": ["个案记录"]}
    session["actions"] = [{"owner": SUPERVISOR, "due": "2026-03-04", "text": "整理个案记录"}]
    record_session(session, SUPERVISOR, NOW)
    return complaint


@pytest.mark.browser
def test_the_actions_page_lists_what_the_cli_lists_past_due_first_and_marks_one_done(
    web: str,
    project_id: str,
    give_password: Callable[[str], str],
    browser: Any,
    shots: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    complaint = make_actions(project_id)
    monkeypatch.setenv("SWFLOW_NOW", LATER.isoformat())  # two actions now past due
    rows = cli(capsys, "quality", "actions", "--as", WORKER, "--json")
    assert [r["id"] for r in rows] == [1, 2, 4, 3]  # the listing's order: by due date
    give_password(WORKER)
    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, WORKER)
    page.goto(f"{web}/quality")
    page.click("#to-actions")
    expected = [r["id"] for r in rows if late(r, LATER)] + [r["id"] for r in rows if not late(r, LATER)]
    assert shown_ids(page) == expected == [2, 4, 1, 3]
    for r in rows:
        line = page.locator(f"#actions tbody tr[data-id='{r['id']}']")
        text = line.inner_text()
        assert r["owner"] in text and local_text(r["due_at"]) in text
        assert ("已逾期" in text) == late(r, LATER) and (line.get_attribute("data-late") == "1") == late(r, LATER)
        assert ("未完成" if r["status"] == "open" else "已完成") in text
        assert (r["text"] or "（内容保密）") in text  # as the CLI shows it to this viewer
        source = {"complaint": "/quality/complaints/", "supervision": "/quality/supervision/"}[r["source"]]
        link = line.locator("a.source")  # the complaint's page is its circle's; the worker's own session is theirs
        assert (link.get_attribute("href") if link.count() else None) == (
            f"{source}{r['source_id']}" if r["source"] == "supervision" else None
        )
    assert "已逾期 2 项" in page.inner_text("#h-actions")
    shots(page, "actions-phone")

    page.click("#filter-mine")  # `--owner <me> --open`
    mine = cli(capsys, "quality", "actions", "--as", WORKER, "--owner", WORKER, "--open", "--json")
    assert sorted(shown_ids(page)) == sorted(r["id"] for r in mine) == [2, 3] and shown_ids(page) == [2, 3]
    page.fill("#filter-owner", "nobody.here")
    page.click("#filter-submit")
    assert field_errors(page, "filter-owner") and "nobody.here" in field_errors(page, "filter-owner")[0]
    assert page.input_value("#filter-owner") == "nobody.here" and page.locator("#actions").count() == 0

    page.goto(f"{web}/quality/actions")
    before = all_events()
    page.fill("#done-2-note", "流程已发到群里")
    page.click("#done-2")  # the existing act; the complaint's page is not the worker's: back to the overview
    assert page.url.endswith("/quality?done=action_done") and all_events() == before + 1
    [done] = by_web("action.done", WORKER, action=2)
    assert done["payload"]["late"] is True
    page.goto(f"{web}/quality/actions?open=1")
    assert shown_ids(page) == [r["id"] for r in cli(capsys, "quality", "actions", "--as", WORKER, "--open", "--json")]
    page.set_viewport_size(DESKTOP)
    shots(page, "actions-desktop")

    give_password(MANAGER)  # in the complaint's circle: its actions link to it, done goes back to it
    manager = browser.new_page(viewport=DESKTOP)
    sign_in(manager, web, MANAGER)
    manager.goto(f"{web}/quality/actions")
    assert (
        manager.get_attribute("#actions tbody tr[data-id='3'] a.source", "href") == f"/quality/complaints/{complaint}"
    )
    manager.click("#done-3")
    assert manager.url.endswith(f"/quality/complaints/{complaint}?done=action_done")
    assert "行动已标记完成" in manager.inner_text(".notice")
    by_web("action.done", MANAGER, action=3)


@pytest.mark.browser
def test_the_risk_rules_review_is_recorded_by_the_director_and_refused_to_others(
    web: str, give_password: Callable[[str], str], browser: Any, shots: Callable[..., Path]
) -> None:
    give_password(MANAGER)
    give_password(DIRECTOR)
    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, MANAGER)
    page.goto(f"{web}/quality/risk-review")
    due_before = page.inner_text("#review-due")
    before = all_events()
    page.fill("#review-note", "检讨了事件分级")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("#review-submit")
    assert posted.value.status == 403
    assert "不是机构负责人" in page.inner_text("#problems") and page.input_value("#review-note") == "检讨了事件分级"
    assert all_events() == before and events("risk_review.done") == []
    shots(page, "risk-review-refused-phone")

    page = browser.new_page(viewport=DESKTOP)
    sign_in(page, web, DIRECTOR)
    page.goto(f"{web}/quality/risk-review")
    assert page.inner_text("#review-due") == due_before
    before = all_events()
    most = get_limits().longtext_chars
    page.fill("#review-note", "长" * (most + 1))
    page.click("#review-submit")
    assert field_errors(page, "review-note") == [f"最多 {most} 个字符"] and all_events() == before
    page.fill("#review-note", "检讨了事件分级和通报时限，未作修订")
    page.click("#review-submit")
    assert "已记录风险管理制度检讨" in page.inner_text(".notice")
    [done] = by_web("risk_review.done", DIRECTOR)
    scheduled = [e for e in events("risk_review.scheduled") if e["actor"] == DIRECTOR]
    assert len(scheduled) == 1 and scheduled[0]["via"]["door"] == "web"
    assert local_text(scheduled[0]["payload"]["due_at"]) in page.inner_text("#next-review")
    assert "检讨了事件分级和通报时限" in page.inner_text("#reviews-done") and DIRECTOR in page.inner_text(
        "#reviews-done"
    )
    shots(page, "risk-review-desktop")


@pytest.mark.browser
def test_the_overview_lists_complaints_and_incidents_of_a_period(
    web: str, project_id: str, give_password: Callable[[str], str], browser: Any
) -> None:
    early = open_complaint({"channel": "letter", "content": CONTENT, "service": "长者饭堂"}, MANAGER, at("2026-02-02"))
    recent = open_complaint({"channel": "phone", "content": CONTENT, "project": project_id}, MANAGER, NOW)
    old = report_incident({**INCIDENT, "occurred_at": "2026-02-09T10:00"}, DIRECTOR, at("2026-02-09", 11))
    new = report_incident(INCIDENT, DIRECTOR, NOW)
    give_password(MANAGER)
    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, MANAGER)
    page.goto(f"{web}/quality")
    page.fill("#period-from", "2026-03-01")
    page.click("#period-submit")
    ids = "rs => rs.map(r => Number(r.dataset.id))"
    assert page.eval_on_selector_all("#open-complaints tbody tr", ids) == [recent["id"]]
    assert page.eval_on_selector_all("#open-incidents tbody tr", ids) == [new["id"]]
    assert [r["id"] for r in list_complaints(NOW, at("2026-03-01", 0))] == [recent["id"]]
    assert [r["id"] for r in list_incidents(at("2026-03-01", 0))] == [new["id"]]
    page.goto(f"{web}/quality/lists?from=2026-02-01&to=2026-02-28")
    assert page.eval_on_selector_all("#open-complaints tbody tr", ids) == [early["id"]]
    assert page.eval_on_selector_all("#open-incidents tbody tr", ids) == [old["id"]]
    page.goto(f"{web}/quality/lists?to=2026-02-30")
    assert field_errors(page, "period-to") == ["必须是日期（YYYY-MM-DD）"]
