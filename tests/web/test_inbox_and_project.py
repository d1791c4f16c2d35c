"""我的待办 and the project page, as the people who use them: a worker sees what is late first and how
many working days are left, narrows the list to one project; a supervisor reads the comment
history; someone off the team is refused, or reads a masked dossier."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from swflow import domain
from swflow.config.clock import SHANGHAI
from swflow.config.settings import get_settings
from swflow.forms_spec.validate import MASK

from ..unit._registry import execution_project
from ..unit._support import NOW, SECOND_WORKER, SUPERVISOR, WORKER
from .conftest import DESKTOP, PASSWORD, PHONE, sign_in

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "templates" / "elderly-care-brief.yaml"
OTHER_SUPERVISOR = "sun.supervisor"  # a supervisor on no team of these tests
STRANGER = "qian.worker"  # a worker on no team of these tests
SENSITIVE_VALUE = "赵某某"  # in the sample assessment's key_cases, a sensitive field


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


def move_clock(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    monkeypatch.setenv("SWFLOW_NOW", moment.isoformat())
    get_settings.cache_clear()


@contextmanager
def signed_in_as(web: str, person_id: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web) as client:
        answer = client.post("/login", data={"person_id": person_id, "password": PASSWORD})
        assert answer.status_code == 303, answer.text
        yield client


def cards(page: str) -> list[str]:
    """The worklist's cards, in the order the page shows them."""
    return page.split('<li class="card task')[1:]


def project_of(card: str) -> str:
    found = re.search(r'href="/projects/([^"]+)"', card)
    assert found is not None
    return found.group(1)


def due_of(card: str) -> str:
    found = re.search(r'<span class="due-words">([^<]*)</span>', card)
    assert found is not None
    return found.group(1)


def counts(page: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"<span[^>]*>(待填写|待审核|已逾期) <strong>(\d+)</strong>", page)}


def exports(project_id: str) -> list[dict[str, Any]]:
    return [e for e in domain.project_events(project_id) if e["kind"] == "archive.exported"]


@pytest.fixture
def three_projects(launch: Callable[..., str]) -> dict[str, str]:
    """The lead worker's assessments in three projects, opened on 16, 4 and 2 March (in that order):
    due on 30, 18 and 16 March at 18:00."""
    late_opened = launch(name="晚开项目")
    domain.open_stage(late_opened, "assessment", at("2026-03-16"))
    middle = launch(name="中间项目")
    domain.open_stage(middle, "assessment", at("2026-03-04"))
    first = launch(name="最早项目")
    domain.open_stage(first, "assessment", NOW)
    return {"overdue": first, "today": middle, "later": late_opened}


@pytest.fixture
def group_gate(
    launch: Callable[..., str], monkeypatch: pytest.MonkeyPatch, sample_forms: dict[str, Any], tmp_path: Path
) -> str:
    """A project whose assessment is decided by any supervisor who claims it (a role-group step)."""
    from swflow.config.templates import load_template
    from swflow.domain.projects import launch as launching

    raw = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    raw["id"], raw["stages"][0]["gate"] = "group-care", {"steps": ["supervisors"]}
    path = tmp_path / "group-care.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    template, real = load_template(path), launching.get_template
    monkeypatch.setattr(launching, "get_template", lambda wanted: template if wanted == template.id else real(wanted))
    project_id = launch(template_id="group-care")
    domain.open_stage(project_id, "assessment", NOW)
    domain.submit_form(project_id, "needs-assessment", WORKER, sample_forms["needs-assessment"], NOW)
    return project_id


def _return_assessment(project_id: str) -> None:
    """The supervisor returns the assessment with a comment; the run applies it: round 2 opens."""
    returned = domain.record_decision(project_id, "assessment", SUPERVISOR, "return", "请补充独居老人名册", NOW)
    attempt = domain.read_gate(project_id, "assessment").attempt
    domain.apply_gate_reply(project_id, "assessment", attempt, returned.decision_id, NOW)


# 我的待办


def test_worker_sees_the_overdue_task_first_and_working_days_left(
    web: str, three_projects: dict[str, str], give_password: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    move_clock(monkeypatch, at("2026-03-18"))  # a Wednesday morning
    give_password(WORKER)
    with signed_in_as(web, WORKER) as client:
        page = client.get("/").text

    shown = [(project_of(c), due_of(c)) for c in cards(page)]
    assert shown == [
        (three_projects["overdue"], "已逾期 2 个工作日"),
        (three_projects["today"], "今天截止（18:00）"),
        (three_projects["later"], "还剩 8 个工作日"),
    ]
    assert counts(page) == {"待填写": 3, "待审核": 0, "已逾期": 1}
    assert "期限 2026-03-16 18:00（北京时间）" in cards(page)[0]  # stored in UTC, shown in Beijing time
    assert re.search(r'href="/work/\d+"', cards(page)[0])


def test_worker_narrows_the_list_to_one_project_from_a_message_link(
    web: str, three_projects: dict[str, str], give_password: Callable[[str], str]
) -> None:
    give_password(WORKER)
    wanted = three_projects["today"]
    with signed_in_as(web, WORKER) as client:
        one = client.get(f"/?project={wanted}").text
        none_in_planning = client.get(f"/?project={wanted}&stage=planning").text
        assessment = client.get("/?stage=assessment").text

    assert [project_of(c) for c in cards(one)] == [wanted]
    assert counts(one) == {"待填写": 1, "待审核": 0, "已逾期": 0}
    assert f'<option value="{wanted}" selected>' in one
    assert cards(none_in_planning) == []
    assert "按当前筛选条件没有待办事项（您共有 3 项待办）" in none_in_planning
    assert len(cards(assessment)) == 3


def test_the_empty_inbox_says_so_in_words(web: str, project_id: str, give_password: Callable[[str], str]) -> None:
    domain.open_stage(project_id, "assessment", NOW)  # the lead worker's task, not the second worker's
    give_password(SECOND_WORKER)
    with signed_in_as(web, SECOND_WORKER) as client:
        page = client.get("/").text

    assert cards(page) == []
    assert "目前没有等您处理的事项：没有待填写的表单，也没有待审核的阶段。" in page
    assert counts(page) == {"待填写": 0, "待审核": 0, "已逾期": 0}
    assert '<form method="get" action="/" class="filters">' not in page  # nothing to filter


def test_supervisor_sees_the_decision_linking_to_its_gate_without_a_claim(
    web: str, awaiting_assessment: str, give_password: Callable[[str], str]
) -> None:
    give_password(SUPERVISOR)
    with signed_in_as(web, SUPERVISOR) as client:
        page = client.get("/").text

    [card] = cards(page)
    assert f'href="/gates/{awaiting_assessment}/assessment"' in card and "审核：需求评估 第 1 轮" in card
    assert "认领" not in card  # the project's own supervisor decides: nothing to claim
    assert counts(page) == {"待填写": 0, "待审核": 1, "已逾期": 0}


def test_a_role_group_step_offers_a_claim_that_claims_it(
    web: str, group_gate: str, give_password: Callable[[str], str]
) -> None:
    give_password(OTHER_SUPERVISOR)
    with signed_in_as(web, OTHER_SUPERVISOR) as client:
        page = client.get("/").text
        [card] = cards(page)
        action = f"/gates/{group_gate}/assessment/claim"
        assert f'<form method="post" action="{action}" class="claim">' in card
        assert '<button type="submit">认领</button>' in card
        token = re.search(r'name="csrf" value="([^"]+)"', card)
        assert token is not None
        claimed = client.post(action, data={"csrf": token.group(1)})
        after = client.get("/").text

    assert claimed.status_code < 400, claimed.text
    assert [
        (e["actor"], e["payload"]["step"]) for e in domain.project_events(group_gate) if e["kind"] == "gate.claimed"
    ] == [(OTHER_SUPERVISOR, 1)]
    [card] = cards(after)
    assert "已由您认领" in card and "/claim" not in card


def test_two_activity_records_are_told_apart(
    web: str, launch: Callable[..., str], sample_forms: dict[str, Any], give_password: Callable[[str], str]
) -> None:
    project_id = execution_project(launch, sample_forms)
    give_password(WORKER)
    with signed_in_as(web, WORKER) as client:
        page = client.get(f"/?project={project_id}&stage=execution").text

    activities = [c for c in cards(page) if "活动 a" in c]
    titles = [re.search(r'class="task-title"[^>]*>([^<]+)<', c).group(1) for c in activities]  # type: ignore[union-attr]
    assert ["活动 a1" in activities[0], "活动 a2" in activities[1]] == [True, True]
    assert len(set(titles)) == 2 and all(t.startswith("服务活动记录") for t in titles)


def test_a_task_of_a_revision_round_shows_the_supervisors_return_comment(
    web: str, awaiting_assessment: str, sample_forms: dict[str, Any], give_password: Callable[[str], str]
) -> None:
    _return_assessment(awaiting_assessment)
    give_password(WORKER)
    with signed_in_as(web, WORKER) as client:
        page = client.get("/").text

    [card] = cards(page)
    assert "需求评估 第 2 轮" in card
    assert "退回意见</strong>（li.supervisor，2026-03-02 09:00）：请补充独居老人名册" in card


# the project page


def test_supervisor_reads_the_comment_history_on_the_project_page(
    web: str, awaiting_assessment: str, sample_forms: dict[str, Any], give_password: Callable[[str], str]
) -> None:
    _return_assessment(awaiting_assessment)
    domain.submit_form(awaiting_assessment, "needs-assessment", WORKER, sample_forms["needs-assessment-revised"], NOW)
    domain.record_decision(awaiting_assessment, "assessment", SUPERVISOR, "approve", "名册已补充，同意", NOW)
    give_password(SUPERVISOR)
    with signed_in_as(web, SUPERVISOR) as client:
        page = client.get(f"/projects/{awaiting_assessment}").text

    history = page.split("<h2>审核记录</h2>", 1)[1].split("<h2>", 1)[0]
    decisions = re.findall(r"第 (\d) 轮 第 1 步：<strong>([^<]+)</strong>.*?<blockquote[^>]*>([^<]*)<", history, re.S)
    assert decisions == [("1", "退回修改", "请补充独居老人名册"), ("2", "通过", "名册已补充，同意")]
    assert "李督导（li.supervisor）" in history


def test_the_project_page_shows_team_stages_gate_messages_and_indicators(
    web: str, awaiting_assessment: str, give_password: Callable[[str], str]
) -> None:
    give_password(WORKER)
    with signed_in_as(web, WORKER) as client:
        page = client.get(f"/projects/{awaiting_assessment}").text

    assert all(name in page for name in ("周主管", "李督导", "王社工", "赵社工"))
    current = page.split('id="h-current"', 1)[1].split("</section>", 1)[0]
    assert "等待审核（第 1/1 步（项目督导））" in current and "李督导（li.supervisor）" in current
    stages = page.split("<h2>阶段：计划与实际</h2>", 1)[1].split("<h2>", 1)[0]
    assert "10 个工作日" in stages and "2026-03-02 09:00" in stages and "2026-03-16 18:00" in stages
    messages = page.split("<h2>已发出的通知</h2>", 1)[1].split("<h2>", 1)[0]
    assert "待审核提醒" in messages and "李督导（li.supervisor）" in messages
    assert "json://" not in page and "127.0.0.1:9" not in page  # no address ever
    assert f'href="/projects/{awaiting_assessment}/dossier"' in page and "敏感字段完整显示" in page


def test_the_project_page_shows_indicators_baseline_then_target(
    web: str, launch: Callable[..., str], sample_forms: dict[str, Any], give_password: Callable[[str], str]
) -> None:
    project_id = execution_project(launch, sample_forms)  # baseline measured, targets planned, no post yet
    give_password(SUPERVISOR)
    with signed_in_as(web, SUPERVISOR) as client:
        page = client.get(f"/projects/{project_id}").text

    table = page.split("<h2>成效指标</h2>", 1)[1].split("</table>", 1)[0]
    rows = [re.sub(r"<[^>]+>|\s+", " ", r).split() for r in table.split("<tr>")[2:]]
    assert rows == [
        ["服务对象每周获得探访的比例", "（%）", "35", "80", "—", "—", "—"],
        ["孤独感量表平均分", "（分）", "52", "47", "—", "—", "—"],
    ]


def test_a_stranger_is_refused_the_project_page_and_its_dossier(
    web: str, awaiting_assessment: str, give_password: Callable[[str], str]
) -> None:
    give_password(STRANGER)
    with signed_in_as(web, STRANGER) as client:
        page = client.get(f"/projects/{awaiting_assessment}")
        dossier = client.get(f"/projects/{awaiting_assessment}/dossier")
        missing = client.get("/projects/P-NOPE")

    assert page.status_code == 403 and f"qian.worker 不是项目 {awaiting_assessment} 的团队成员或审核人" in page.text
    assert dossier.status_code == 403 and SENSITIVE_VALUE not in dossier.text
    assert exports(awaiting_assessment) == []
    assert missing.status_code == 404 and "没有项目 P-NOPE" in missing.text


def test_a_decider_off_the_team_reads_a_masked_dossier_and_the_export_is_recorded(
    web: str, group_gate: str, give_password: Callable[[str], str]
) -> None:
    give_password(OTHER_SUPERVISOR)
    give_password(WORKER)
    with signed_in_as(web, OTHER_SUPERVISOR) as client:
        page = client.get(f"/projects/{group_gate}").text
        masked = client.get(f"/projects/{group_gate}/dossier")
    with signed_in_as(web, WORKER) as client:
        clear = client.get(f"/projects/{group_gate}/dossier")

    assert "您不在项目团队中，敏感字段已遮盖" in page
    assert masked.status_code == 200 and MASK in masked.text and SENSITIVE_VALUE not in masked.text
    assert masked.headers["cache-control"] == "no-store"
    assert clear.status_code == 200 and SENSITIVE_VALUE in clear.text
    recorded = [(e["actor"], e["payload"]["masked"]) for e in exports(group_gate)]
    assert recorded == [(OTHER_SUPERVISOR, True), (WORKER, False)]
    assert _via(group_gate) == ["web", "web"]


def test_a_manager_off_the_team_sees_the_project_but_not_the_comments(
    web: str, awaiting_assessment: str, give_password: Callable[[str], str]
) -> None:
    manager = domain.PersonRecord.model_validate(
        {
            "id": "wu.pm",
            "name": "吴主管",
            "roles": ["manager"],
            "qualifications": [],
            "notify": ["json://127.0.0.1:9/wu"],
        }
    )
    domain.import_people([manager], actor="test", now=NOW)
    _return_assessment(awaiting_assessment)
    give_password("wu.pm")
    with signed_in_as(web, "wu.pm") as client:
        page = client.get(f"/projects/{awaiting_assessment}")

    assert page.status_code == 200 and "退回修改" in page.text
    assert "请补充独居老人名册" not in page.text and "审核意见只有项目团队和机构负责人可见" in page.text
    assert "您不在项目团队中，敏感字段已遮盖" in page.text


def _via(project_id: str) -> list[str]:
    from swflow.db import read_session
    from swflow.db.tables import Event

    with read_session() as session:
        rows = (
            session.query(Event).filter_by(stream=f"project:{project_id}", kind="archive.exported").order_by(Event.seq)
        )
        return [(e.via or {}).get("door") for e in rows]


# in a browser


@pytest.mark.browser
def test_worker_opens_the_late_task_first_on_a_phone_and_filters_by_project(
    web: str,
    three_projects: dict[str, str],
    give_password: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
    browser: Any,
    shots: Callable[..., Path],
) -> None:
    move_clock(monkeypatch, at("2026-03-18"))
    give_password(WORKER)
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = browser.new_page(viewport=viewport)
        sign_in(page, web, WORKER)
        first = page.locator("li.task").first
        assert "已逾期 2 个工作日" in first.inner_text()
        shots(page, f"inbox-{name}")
        page.select_option("#f-project", three_projects["today"])
        page.click("text=筛选")
        assert page.url.endswith(f"/?project={three_projects['today']}&stage=")
        assert page.locator("li.task").count() == 1
        page.close()


@pytest.mark.browser
def test_supervisor_reads_the_project_page_on_a_phone_and_a_desktop(
    web: str,
    awaiting_assessment: str,
    sample_forms: dict[str, Any],
    give_password: Callable[[str], str],
    browser: Any,
    shots: Callable[..., Path],
) -> None:
    _return_assessment(awaiting_assessment)
    domain.submit_form(awaiting_assessment, "needs-assessment", WORKER, sample_forms["needs-assessment-revised"], NOW)
    give_password(SUPERVISOR)
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = browser.new_page(viewport=viewport)
        sign_in(page, web, SUPERVISOR)
        page.click(f"a[href='/projects/{awaiting_assessment}']")
        assert page.locator("h1").inner_text() == "幸福社区独居老人关爱"
        assert page.locator("blockquote.comment").first.inner_text() == "请补充独居老人名册"
        shots(page, f"project-{name}")
        page.close()
