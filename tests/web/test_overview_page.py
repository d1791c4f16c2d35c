"""项目总览 as a director and a manager use it: every project they may see, the most overdue first, the
counts at the top agreeing with what the domain says of each project, narrowed by community and
service area, one click to a project's page; a worker is refused with a sentence. In Chromium, at
phone and desktop sizes; the odd query string and the pages through httpx; the query count through
the domain act."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import event
from sqlalchemy.engine import Engine

from swflow import domain
from swflow.config.calendar import shift_working_days
from swflow.config.clock import SHANGHAI
from swflow.config.settings import get_settings
from swflow.domain.projects import overview as overview_module
from swflow.domain.projects import visibility
from swflow.domain.projects.overview import OverviewFilters, projects_overview
from swflow.domain.projects.project_view import project_view, why_not_see

from ..unit._support import DIRECTOR, MANAGER, NOW, SUPERVISOR, UP_TO_EVALUATION, WORKER
from .conftest import DESKTOP, PASSWORD, PHONE, sign_in

CLOCK = datetime(2026, 4, 15, 9, 0, tzinfo=SHANGHAI)  # a Wednesday morning, six weeks after the launches
OTHER_MANAGER = "wu.pm"
BRIEF = Path(__file__).resolve().parents[2] / "config" / "templates" / "elderly-care-brief.yaml"
LIVE = ("open", "awaiting_decision")


def opened_to_be_due(day: date, working_days: int) -> datetime:
    """When to open a stage of `working_days` so that it is due at the end of `day`."""
    return datetime.combine(shift_working_days(day, -working_days), time(9), SHANGHAI)


@pytest.fixture
def portfolio(
    launch: Callable[..., str],
    pass_stage: Callable[..., Any],
    sample_forms: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    """Five projects in two communities and three service areas, the clock at CLOCK: a gate waiting
    since 2 March (due 5 March), an assessment due 10 April (overdue), one due tomorrow (at risk), one
    of another manager due in May, and one completed."""
    other = {
        "id": OTHER_MANAGER,
        "name": "吴主管",
        "roles": ["manager"],
        "qualifications": [{"kind": "certificate", "level": "社会工作师", "number": "SW-2020-0010"}],
        "notify": ["json://127.0.0.1:9/wu"],
    }
    domain.import_people([domain.PersonRecord.model_validate(other)], actor="test", now=NOW)
    gate = launch(name="幸福社区独居老人关爱", community="幸福社区")
    domain.open_stage(gate, "assessment", NOW)
    domain.submit_form(gate, "needs-assessment", WORKER, sample_forms["needs-assessment"], NOW)
    late = launch(template_id="community-participation", name="和平社区居民议事会", community="和平社区")
    domain.open_stage(late, "assessment", opened_to_be_due(date(2026, 4, 10), 20))
    risk = launch(name="和平社区助老餐桌", community="和平社区")
    domain.open_stage(risk, "assessment", opened_to_be_due(date(2026, 4, 16), 10))
    later = launch(
        template_id="community-integration", name="新市民融入计划", community="幸福社区", manager_id=OTHER_MANAGER
    )
    domain.open_stage(later, "assessment", datetime(2026, 4, 14, 9, 0, tzinfo=SHANGHAI))
    done = launch(name="幸福社区长者学堂", community="幸福社区")
    for stage, form in (*UP_TO_EVALUATION, ("evaluation", "outcome-evaluation")):
        assert pass_stage(done, stage, form).kind == "approved"
    assert domain.close_project(done, NOW) == "completed"
    monkeypatch.setenv("SWFLOW_NOW", CLOCK.isoformat())
    get_settings.cache_clear()
    found = {"gate": gate, "late": late, "risk": risk, "later": later, "done": done}
    states = {key: (_current(pid) or {}).get("due", {}).get("state") for key, pid in found.items()}
    assert states == {"gate": "overdue", "late": "overdue", "risk": "soon", "later": "later", "done": None}
    return found


def _current(project_id: str) -> dict[str, Any] | None:
    current: dict[str, Any] | None = project_view(project_id, DIRECTOR, CLOCK)["current"]
    return current


def expected_counts(project_ids: list[str]) -> dict[str, int]:
    """The counts at the top, worked out project by project from the domain's own read models."""
    counts = {"total": 0, "running": 0, "overdue": 0, "at_risk": 0, "awaiting_decision": 0}
    for pid in project_ids:
        status = domain.project_status(pid)
        counts["total"] += 1
        if status["status"] != "running":
            continue
        counts["running"] += 1
        stage = next((s for s in status["stages"] if s["status"] in LIVE), None)
        counts["awaiting_decision"] += stage is not None and stage["status"] == "awaiting_decision"
        state = (_current(pid) or {}).get("due", {}).get("state")
        counts["overdue"] += state == "overdue"
        counts["at_risk"] += state in ("today", "soon")  # due within 2 working days
    return counts


def most_overdue(project_ids: list[str]) -> str:
    overdue = [(c["due_at"], pid) for pid in project_ids if (c := _current(pid)) and c["due"]["state"] == "overdue"]
    return min(overdue)[1]


def shown_counts(page: Any) -> dict[str, int]:
    cards = page.locator(".overview-counts [data-count]")
    return {
        cards.nth(i).get_attribute("data-count"): int(cards.nth(i).locator("strong").inner_text())
        for i in range(cards.count())
    }


def shown_rows(page: Any) -> list[str]:
    return [r.get_attribute("data-project") for r in page.locator("table.overview tbody tr").all()]


def follow(page: Any, selector: str) -> None:
    """Click a link or a button and wait for the page it leads to."""
    with page.expect_navigation():
        page.click(selector)


def html_rows(html: str) -> list[str]:
    return re.findall(r'<tr class="row-[a-z_]+" data-project="([^"]+)">', html)


@contextmanager
def signed_in_as(web: str, person_id: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web) as client:
        answer = client.post("/login", data={"person_id": person_id, "password": PASSWORD})
        assert answer.status_code == 303, answer.text
        yield client


# in a browser


@pytest.mark.browser
def test_director_sees_every_project_most_overdue_first_and_narrows_the_list(
    web: str,
    portfolio: dict[str, str],
    give_password: Callable[[str], str],
    browser: Any,
    shots: Callable[..., Path],
) -> None:
    every = list(portfolio.values())
    give_password(DIRECTOR)
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = browser.new_page(viewport=viewport)
        sign_in(page, web, DIRECTOR)
        page.goto(f"{web}/projects")
        assert page.locator("h1").inner_text() == "项目总览"
        assert shown_counts(page) == expected_counts(every)
        rows = shown_rows(page)
        assert sorted(rows) == sorted(every) and rows[0] == most_overdue(every)
        # overdue (the longest first), at risk, the rest by due time, the closed
        assert rows == [portfolio[k] for k in ("gate", "late", "risk", "later", "done")]
        first = page.locator("table.overview tbody tr").first
        assert "逾期" in first.inner_text() and "李督导" in first.inner_text()  # the flag in words, who is waited on
        assert "等待审核（第 1/1 步（项目督导））" in first.inner_text()
        risky = page.locator(f"tr[data-project='{portfolio['risk']}']").inner_text()
        assert "临近期限" in risky and "还剩 1 个工作日" in risky and "王社工" in risky
        assert "已结束" in page.locator(f"tr[data-project='{portfolio['done']}']").inner_text()
        shots(page, f"overview-{name}")
        page.close()

    page = browser.new_page(viewport=DESKTOP)
    sign_in(page, web, DIRECTOR)
    page.goto(f"{web}/projects")
    page.select_option("#f-community", "和平社区")
    follow(page, "text=筛选")
    peace = [portfolio["late"], portfolio["risk"]]
    assert "community=%E5%92%8C%E5%B9%B3%E7%A4%BE%E5%8C%BA" in page.url
    assert shown_rows(page) == peace and shown_counts(page) == expected_counts(peace)
    assert page.locator("#f-area option").all_inner_texts() == [
        "全部服务领域",
        "5.1 统筹社区照顾（3）",
        "5.2 扩大社区参与（1）",
        "5.3 促进社区融合（1）",
    ]  # the choices are those of every project the director may see
    page.select_option("#f-area", "5.1")
    follow(page, "text=筛选")
    assert shown_rows(page) == [portfolio["risk"]] and shown_counts(page) == expected_counts([portfolio["risk"]])
    follow(page, "text=清除筛选")
    page.select_option("#f-area", "5.1")
    follow(page, "text=筛选")
    care = [portfolio["gate"], portfolio["risk"], portfolio["done"]]
    assert shown_rows(page) == care and shown_counts(page) == expected_counts(care)
    follow(page, f"a[href='/projects/{portfolio['risk']}']")  # one click to the project page
    assert page.url == f"{web}/projects/{portfolio['risk']}"
    assert page.locator("h1").inner_text() == "和平社区助老餐桌"
    page.close()


@pytest.mark.browser
def test_manager_sees_what_the_project_page_lets_them_and_narrows_to_their_own(
    web: str,
    portfolio: dict[str, str],
    give_password: Callable[[str], str],
    browser: Any,
    shots: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    every = list(portfolio.values())
    give_password(MANAGER)
    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, MANAGER)
    page.goto(f"{web}/projects")
    seen = [pid for pid in every if why_not_see(pid, MANAGER) is None]  # the manager role oversees every project
    assert sorted(shown_rows(page)) == sorted(seen) and shown_counts(page) == expected_counts(seen)
    follow(page, "text=只看我负责的项目")
    mine = [pid for pid in every if domain.project_status(pid)["team"][0] == {"person": MANAGER, "role": "manager"}]
    assert portfolio["later"] not in mine and len(mine) == 4
    assert sorted(shown_rows(page)) == sorted(mine) and shown_counts(page) == expected_counts(mine)
    shots(page, "overview-manager-phone")

    # the project page's rule is the overview's: were managers to see only their teams' projects there,
    # they would here too
    monkeypatch.setattr(visibility, "ROLES_SEEING_EVERY_PROJECT", frozenset({"director"}))
    teams = [pid for pid in every if why_not_see(pid, MANAGER) is None]
    assert sorted(teams) == sorted(mine)
    page.goto(f"{web}/projects")
    assert sorted(shown_rows(page)) == sorted(teams) and shown_counts(page) == expected_counts(teams)
    page.close()


@pytest.mark.browser
def test_a_worker_opening_the_overview_is_refused_with_a_sentence(
    web: str, portfolio: dict[str, str], give_password: Callable[[str], str], browser: Any, shots: Callable[..., Path]
) -> None:
    give_password(WORKER)
    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, WORKER)
    answer = page.goto(f"{web}/projects")
    assert answer is not None and answer.status == 403
    assert page.locator("h1").inner_text() == "不能这样做"
    refusal = page.locator("p.refusal").inner_text()
    assert "wang.worker 不能查看项目总览：项目总览只供项目主管和机构负责人使用" in refusal
    assert page.locator("table.overview").count() == 0
    shots(page, "overview-refused-phone")
    page.close()


# the query string, the pages, the queries


def test_odd_query_strings_are_set_aside_with_a_sentence(
    web: str, portfolio: dict[str, str], give_password: Callable[[str], str]
) -> None:
    give_password(DIRECTOR)
    with signed_in_as(web, DIRECTOR) as client:
        bad = client.get("/projects", params={"status": "paused", "area": "<b>5</b>", "page": "二"})
        nobody = client.get("/projects", params={"community": "不存在社区"})
        beyond = client.get("/projects", params={"page": "99"})
        odd_pages = [client.get("/projects", params={"page": p}) for p in ("²", "0", "-1", "9" * 5000)]

    assert bad.status_code == 200 and len(html_rows(bad.text)) == 5
    assert "项目状态「paused」不是可选的状态（进行中、已结项、已终止），已忽略" in bad.text
    assert "服务领域「&lt;b&gt;5&lt;/b&gt;」不是条款编号（例如 5.1），已忽略" in bad.text  # escaped, never markup
    assert "页码「二」无效，显示的是第 1 页" in bad.text
    assert nobody.status_code == 200 and html_rows(nobody.text) == []
    assert "按当前筛选条件没有项目（您可查看的项目共 5 个）" in nobody.text
    assert beyond.status_code == 200 and "没有第 99 页（共 1 页），显示的是最后一页" in beyond.text
    assert len(html_rows(beyond.text)) == 5
    assert [(a.status_code, len(html_rows(a.text)), "无效，显示的是第 1 页" in a.text) for a in odd_pages] == [
        (200, 5, True)
    ] * 4


def test_pages_keep_the_filters_and_the_counts_of_the_whole_list(
    web: str, portfolio: dict[str, str], give_password: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(overview_module, "PER_PAGE", 2)
    give_password(DIRECTOR)
    with signed_in_as(web, DIRECTOR) as client:
        pages = [client.get("/projects", params={"community": "幸福社区", "page": n}).text for n in (1, 2)]

    happy = [portfolio[k] for k in ("gate", "later", "done")]
    assert [html_rows(p) for p in pages] == [happy[:2], happy[2:]]
    for page in pages:
        found = re.findall(r'data-count="([a-z_]+)"><span>[^<]+</span><strong>(\d+)</strong>', page)
        assert {k: int(v) for k, v in found} == expected_counts(happy)
    assert 'href="/projects?community=%E5%B9%B8%E7%A6%8F%E7%A4%BE%E5%8C%BA&amp;page=2" rel="next"' in pages[0]
    assert 'href="/projects?community=%E5%B9%B8%E7%A6%8F%E7%A4%BE%E5%8C%BA" rel="prev"' in pages[1]


@pytest.fixture
def queries() -> Iterator[list[str]]:
    seen: list[str] = []

    def _count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("SELECT"):
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", _count)
    yield seen
    event.remove(Engine, "before_cursor_execute", _count)


def test_a_page_costs_a_few_queries_however_many_projects(
    portfolio: dict[str, str], launch: Callable[..., str], sample_forms: dict[str, Any], queries: list[str]
) -> None:
    projects_overview(DIRECTOR, OverviewFilters(), CLOCK)
    few = len(queries)
    for n in range(6):
        more = launch(name=f"加开项目{n}", community="幸福社区")
        domain.open_stage(more, "assessment", NOW)
        if n % 2:
            domain.submit_form(more, "needs-assessment", WORKER, sample_forms["needs-assessment"], NOW)
    queries.clear()
    view = projects_overview(DIRECTOR, OverviewFilters(), CLOCK)

    assert view.counts["total"] == 11 and view.counts["awaiting_decision"] == 4
    # people, projects, live stages; for the page: open items, pinned gates, submitters, earlier deciders
    assert len(queries) == few <= 7, queries
    assert {r.id: r.waiting_on for r in view.rows}[portfolio["gate"]] == [SUPERVISOR]


@pytest.fixture
def group_gate(
    launch: Callable[..., str], monkeypatch: pytest.MonkeyPatch, sample_forms: dict[str, Any], tmp_path: Path
) -> str:
    """A project whose assessment any supervisor may claim and decide (a role-group step)."""
    from swflow.config.templates import load_template
    from swflow.domain.projects import launch as launching

    raw = yaml.safe_load(BRIEF.read_text(encoding="utf-8"))
    raw["id"], raw["stages"][0]["gate"] = "group-care", {"steps": ["supervisors"]}
    path = tmp_path / "group-care.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    template, real = load_template(path), launching.get_template
    monkeypatch.setattr(launching, "get_template", lambda wanted: template if wanted == template.id else real(wanted))
    project_id = launch(template_id="group-care", name="睦邻互助小组", community="和平社区")
    domain.open_stage(project_id, "assessment", NOW)
    domain.submit_form(project_id, "needs-assessment", WORKER, sample_forms["needs-assessment"], NOW)
    return project_id


def test_who_is_waited_on_is_what_the_project_status_says(portfolio: dict[str, str], group_gate: str) -> None:
    view = projects_overview(MANAGER, OverviewFilters(community="和平社区"), CLOCK)

    assert {r.id for r in view.rows} == {portfolio["late"], portfolio["risk"], group_gate}
    for row in view.rows:
        stage = next(s for s in domain.project_status(row.id)["stages"] if s["status"] in LIVE)
        assert row.waiting_on == stage["waiting_on"] and row.stage is not None and row.stage.key == stage["key"]
    [group] = [r for r in view.rows if r.id == group_gate]
    assert group.stage is not None and group.stage.group and group.waiting_on == [SUPERVISOR, "sun.supervisor"]
    assert view.names[SUPERVISOR] == "李督导" and view.names["sun.supervisor"] == "孙督导"
