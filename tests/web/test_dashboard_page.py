"""机构看板 as a director reads it: an agency built with the acts the CLI uses (projects of three service areas
in every stage, a late form, a late gate, escalations by the deadline sweep, late and timely complaints and
incidents, a worker overdue for supervision, communities below the staffing rule, certificates expiring);
every figure on the page equals what the test works out row by row from the archive's tables; the charts
are there with their labels escaped; a worker and a project manager are refused (403), not shown less; a
page view costs the same few queries however many projects. In Chromium at phone and desktop sizes."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from swflow import domain
from swflow.config.clock import SHANGHAI
from swflow.config.errors import RefusedError
from swflow.config.quality import quality_settings
from swflow.config.settings import get_settings
from swflow.db import read_session
from swflow.db.quality_tables import Complaint, Incident, SupervisionDue
from swflow.db.tables import Escalation, Person, Project, Stage, WorkItem
from swflow.domain.agency import sweep
from swflow.domain.agency.dashboard import ESCALATION_SUBJECTS, agency_dashboard, why_not_dashboard
from swflow.domain.quality import answer_complaint, open_complaint, record_session, report_incident

from ..unit._registry import execution_project
from ..unit._support import DIRECTOR, MANAGER, NOW, SUPERVISOR, WORKER, pass_up_to_evaluation
from .conftest import DESKTOP, PASSWORD, PHONE, sign_in

ODD_COMMUNITY = "河西<新>社区 & 里"  # drawn in a chart: must arrive escaped
ODD_NAME = "<b>逾期</b>项目 & 关爱"
PHASE_WORDS = {"needs_assessment": "需求评估", "planning": "服务策划", "execution": "服务执行与过程评估"}
PHASE_WORDS |= {"evaluation": "服务评估与改进"}
LIVE = ("open", "awaiting_decision")


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


CLOCK = at("2026-03-20", 10)  # a Friday morning, three weeks after the launches


def person(**record: Any) -> None:
    defaults = {"roles": ["worker"], "notify": [f"json://127.0.0.1:9/{record['id']}"]}
    domain.import_people([domain.PersonRecord.model_validate(defaults | record)], actor="test", now=NOW)


@pytest.fixture
def agency(
    launch: Callable[..., str],
    pass_stage: Callable[..., Any],
    sample_forms: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    """Six projects; the door's clock at CLOCK."""
    cert = {"kind": "certificate", "level": "助理社会工作师"}
    person(id=WORKER, name="王社工", community="幸福社区", qualifications=[cert | {"valid_until": "2026-04-30"}])
    person(id="qian.worker", name="钱社工", community="阳光社区", qualifications=[cert | {"valid_until": "2025-12-31"}])
    late_item = launch(name=ODD_NAME, community=ODD_COMMUNITY)
    domain.open_stage(late_item, "assessment", NOW)  # due 16 March
    late_gate = launch(name="幸福社区助老餐桌", community="幸福社区")
    pass_stage(late_gate, "assessment", "needs-assessment")
    domain.open_stage(late_gate, "planning", NOW)
    domain.submit_form(late_gate, "service-plan", WORKER, sample_forms["service-plan"], NOW)  # gate due 5 March
    executing = execution_project(launch, sample_forms, name="阳光社区居民议事会", community="阳光社区")
    launched = launch(template_id="community-development", name="杨柳村发展规划", community="杨柳村")
    evaluating = launch(name="阳光社区长者学堂", community="阳光社区")
    pass_up_to_evaluation(pass_stage, evaluating)
    domain.open_stage(evaluating, "evaluation", at("2026-03-19"))  # due in April
    done = launch(name="已结项目", community="幸福社区")
    assert domain.close_project(done, NOW) == "completed"

    topics = {"mode": "individual", "topics": ["个案中的哀伤反应"]}
    record_session({"supervisees": [WORKER], "held_on": "2026-01-20", **topics}, SUPERVISOR, NOW)  # due 19 Feb
    open_complaint({"channel": "phone", "content": "活动取消未通知", "project": late_gate}, DIRECTOR, NOW)
    answered = open_complaint({"channel": "visit", "content": "排队太久", "service": "社区食堂"}, DIRECTOR, NOW)
    answer_complaint(answered["id"], DIRECTOR, "已调整开餐时间", at("2026-03-03"))
    open_complaint({"channel": "letter", "content": "希望增加探访", "service": "探访"}, DIRECTOR, at("2026-03-19"))
    incident = {
        "kind": "accident",
        "place": "活动室",
        "people_involved": "某某",
        "description": "跌倒",
        "handling": "送医",
    }
    severe = incident | {"severity": "severe", "occurred_at": "2026-03-03T10:00:00", "project": late_gate}
    report_incident(severe, WORKER, at("2026-03-03", 11))  # to be closed within 3 working days
    report_incident(incident | {"severity": "low", "occurred_at": "2026-03-19T08:00:00"}, WORKER, at("2026-03-19"))

    sweep(at("2026-03-05", 10))  # escalations more than a week before CLOCK
    sweep(at("2026-03-17", 10))  # and within the week
    monkeypatch.setenv("SWFLOW_NOW", CLOCK.isoformat())
    get_settings.cache_clear()
    names = ("late_item", "late_gate", "executing", "launched", "evaluating", "done")
    return dict(zip(names, (late_item, late_gate, executing, launched, evaluating, done), strict=True))


def archive_figures(now: datetime) -> dict[str, Any]:
    """The dashboard's figures worked out row by row from the archive's tables, not by its queries."""
    today, rules = now.astimezone(SHANGHAI).date(), quality_settings()
    with read_session() as s:
        projects = list(s.scalars(select(Project)))
        stages = list(s.scalars(select(Stage).order_by(Stage.seq)))
        items = list(s.scalars(select(WorkItem)))
        people = [p for p in s.scalars(select(Person)) if p.active]
        fired = list(s.scalars(select(Escalation)))
        complaints = list(s.scalars(select(Complaint)))
        incidents = list(s.scalars(select(Incident)))
        dues = {d.person_id: d.due_at for d in s.scalars(select(SupervisionDue))}
    running = {p.id: p for p in projects if p.status == "running"}
    by_id = {st.id: st for st in stages}
    phases: Counter[str] = Counter()
    for p in running.values():
        live = [st for st in stages if st.project_id == p.id and st.status in LIVE]
        pinned = {spec["key"]: spec["phase"] for spec in p.template_snapshot["stages"]}
        phases[PHASE_WORDS[pinned[live[0].key]] if live else "暂无进行中的阶段"] += 1
    late_items = [
        w
        for w in items
        if w.status == "open" and w.project_id in running and w.round == by_id[w.stage_id].round and w.due_at < now
    ]
    late_gates = [
        st
        for st in stages
        if st.status == "awaiting_decision" and st.project_id in running and st.gate_due_at and st.gate_due_at < now
    ]
    week = [e for e in fired if now - timedelta(days=7) < e.fired_at <= now and not e.skipped]
    supervised = [p.id for p in people if set(rules.supervision.roles) & set(p.roles)]
    open_complaints = [c for c in complaints if c.status != "closed"]
    open_incidents = [i for i in incidents if i.status == "open"]

    def valid(q: dict[str, Any]) -> bool:
        return q.get("valid_until") is None or date.fromisoformat(q["valid_until"]) >= today

    communities = set(rules.staffing.communities) | {p.community for p in running.values()}
    communities |= {p.community for p in people if p.community}
    qualified = {p.community for p in people if "worker" in p.roles and any(valid(q) for q in p.qualifications)}
    window = today + timedelta(days=rules.certificates.report_within_days)
    until = [
        date.fromisoformat(q["valid_until"])
        for p in people
        for q in p.qualifications
        if q.get("kind") == "certificate" and q.get("valid_until")
    ]
    overdue_by_community = Counter(running[w.project_id].community for w in late_items)
    gates_by_community = Counter(running[st.project_id].community for st in late_gates)
    counts = {
        "running": len(running),
        "overdue_items": len(late_items),
        "overdue_gates": len(late_gates),
        "escalations": len(week),
        "supervision_required": len(supervised),
        "supervision_overdue": sum(dues[pid] < now for pid in supervised),
        "complaints_open": len(open_complaints),
        "complaints_late": sum(
            (c.acknowledged_at is None and c.ack_due_at < now) or (c.answered_at is None and c.answer_due_at < now)
            for c in open_complaints
        ),
        "incidents_open": len(open_incidents),
        "incidents_late": sum(bool(i.close_due_at and i.close_due_at < now) for i in open_incidents),
        "staffing_gaps": len(communities - qualified),
        "certificates_expiring": sum(today <= u <= window for u in until),
        "certificates_expired": sum(u < today for u in until),
    }
    return {
        "counts": counts,
        "stage": dict(phases),
        "area": dict(Counter(p.template_snapshot["clause"] for p in running.values())),
        "overdue": {
            c: (overdue_by_community[c], gates_by_community[c]) for c in overdue_by_community | gates_by_community
        },
        "escalations": dict(Counter(ESCALATION_SUBJECTS[e.subject] for e in week)),
        "total_escalations": sum(not e.skipped for e in fired),
        "below": communities - qualified,
        "supervision_late": sorted(pid for pid in supervised if dues[pid] < now),
    }


def chart_words(label: str, unit: str) -> dict[str, int]:
    """A bar chart's accessible name, `标题：甲 2 个；乙 0 个`, as {甲: 2} (bars of 0 left out)."""
    parts = label.split("：", 1)[1].split("；")
    found = {m.group(1): int(m.group(2)) for p in parts if (m := re.fullmatch(rf"(.+) (\d+) {unit}", p))}
    assert len(found) == len(parts), label
    return {k: v for k, v in found.items() if v}


@contextmanager
def signed_in_as(web: str, person_id: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web) as client:
        answer = client.post("/login", data={"person_id": person_id, "password": PASSWORD})
        assert answer.status_code == 303, answer.text
        yield client


def test_only_an_active_director_may_open_the_dashboard(people: Any) -> None:
    assert why_not_dashboard(DIRECTOR) is None
    for who in (WORKER, MANAGER, SUPERVISOR):
        refused = why_not_dashboard(who)
        assert refused is not None and "只供机构负责人使用" in refused
        with pytest.raises(RefusedError, match="只供机构负责人使用"):
            agency_dashboard(who, NOW)
    director = {"id": DIRECTOR, "name": "陈主任", "roles": ["director"], "active": False}
    person(**director, qualifications=[{"kind": "degree", "level": "社会工作硕士"}])
    assert "已停用" in (why_not_dashboard(DIRECTOR) or "")


def test_a_worker_and_a_manager_are_refused_the_page(
    web: str, agency: dict[str, str], give_password: Callable[[str], str]
) -> None:
    with httpx.Client(base_url=web) as client:
        stranger = client.get("/dashboard")
    assert stranger.status_code == 303 and stranger.headers["location"] == "/login?next=/dashboard"
    for who in (WORKER, MANAGER):
        give_password(who)
        with signed_in_as(web, who) as client:
            page = client.get("/dashboard")
        assert page.status_code == 403, who
        assert "不能查看机构看板" in page.text and f"{who} 不能查看机构看板：机构看板只供机构负责人使用" in page.text
        assert "data-count" not in page.text and "<svg" not in page.text and agency["late_item"] not in page.text


def test_the_charts_are_drawn_with_their_labels_escaped(
    web: str, agency: dict[str, str], give_password: Callable[[str], str]
) -> None:
    give_password(DIRECTOR)
    with signed_in_as(web, DIRECTOR) as client:
        page = client.get("/dashboard")
    html = page.text

    assert page.status_code == 200 and html.count('<svg xmlns="http://www.w3.org/2000/svg"') == 4
    assert html.count('role="img" aria-label="') == 4
    overdue = html.split('id="h-overdue"', 1)[1].split("</section>", 1)[0]
    assert ">河西&lt;新&gt;社区 &amp; 里</text>" in overdue and "；河西&lt;新&gt;社区 &amp; 里：逾期的表单" in overdue
    assert "<新>" not in html and "<b>逾期</b>" not in html
    assert "&lt;b&gt;逾期&lt;/b&gt;项目 &amp; 关爱" in html
    assert f'href="/projects/{agency["late_item"]}"' in html and f'href="/projects/{agency["late_gate"]}"' in html


@pytest.fixture
def queries() -> Iterator[list[str]]:
    seen: list[str] = []

    def _count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("SELECT"):
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", _count)
    yield seen
    event.remove(Engine, "before_cursor_execute", _count)


def test_a_view_costs_the_same_few_queries_however_many_projects(
    agency: dict[str, str], launch: Callable[..., str], sample_forms: dict[str, Any], queries: list[str]
) -> None:
    agency_dashboard(DIRECTOR, CLOCK)  # the top rows' pinned snapshots read once per process
    queries.clear()
    agency_dashboard(DIRECTOR, CLOCK)
    few = len(queries)
    for n in range(6):
        more = launch(name=f"加开项目{n}", community=f"新社区{n}")
        domain.open_stage(more, "assessment", NOW)
        if n % 2:
            domain.submit_form(more, "needs-assessment", WORKER, sample_forms["needs-assessment"], NOW)
    agency_dashboard(DIRECTOR, CLOCK)
    queries.clear()
    view = agency_dashboard(DIRECTOR, CLOCK)

    assert len(queries) == few <= 20, queries
    assert view.counts == archive_figures(CLOCK)["counts"] and view.counts["running"] == 11


# in a browser


def shown_counts(page: Any) -> dict[str, int]:
    return {el.get_attribute("data-count"): int(el.inner_text()) for el in page.locator("[data-count]").all()}


def chart_label(page: Any, section: str) -> str:
    label: str = page.locator(f"section[aria-labelledby=h-{section}] svg").get_attribute("aria-label")
    return label


@pytest.mark.browser
def test_a_director_reads_figures_that_match_the_archive(
    web: str, agency: dict[str, str], give_password: Callable[[str], str], browser: Any, shots: Callable[..., Path]
) -> None:
    expected = archive_figures(CLOCK)
    counts = expected["counts"]
    assert all(counts[k] > 0 for k in counts), counts  # every figure of this agency has something to count
    assert expected["total_escalations"] > counts["escalations"]  # the week leaves the earlier sweep out
    give_password(DIRECTOR)
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = browser.new_page(viewport=viewport)
        sign_in(page, web, DIRECTOR)
        page.goto(f"{web}/dashboard")
        assert page.locator("h1").inner_text() == "机构看板"
        assert shown_counts(page) == counts
        assert chart_words(chart_label(page, "stage"), "个") == expected["stage"]
        areas = chart_words(chart_label(page, "area"), "个")
        assert {title.split(" ", 1)[0]: n for title, n in areas.items()} == expected["area"]
        assert chart_words(chart_label(page, "escalations"), "次") == expected["escalations"]
        overdue = chart_label(page, "overdue").split("：", 1)[1]
        shown = re.findall(r"([^；]+)：逾期的表单 (\d+) 项，逾期的审核 (\d+) 项", overdue)
        assert {c: (int(i), int(g)) for c, i, g in shown} == expected["overdue"]
        assert page.locator("section[aria-labelledby=h-overdue] svg text", has_text=ODD_COMMUNITY).count() == 1

        late = [r.get_attribute("data-project") for r in page.locator("table.dash-overdue tbody tr").all()]
        assert {agency["late_item"], agency["late_gate"]} <= set(late) and agency["evaluating"] not in late
        gate_row = page.locator(f"table.dash-overdue tr.late-gate[data-project='{agency['late_gate']}']")
        assert "审核：服务策划 第 1 轮" in gate_row.inner_text() and "李督导（li.supervisor）" in gate_row.inner_text()
        supervision = page.locator("table.dash-supervision tbody tr")
        assert sorted(r.get_attribute("data-person") for r in supervision.all()) == expected["supervision_late"]
        staffing = page.locator("table.dash-staffing tbody tr")
        assert {r.get_attribute("data-community") for r in staffing.all()} == expected["below"]
        certificates = page.locator("table.dash-certificates").inner_text()
        assert "2026-04-30" in certificates and "已过期" in certificates
        shots(page, f"dashboard-{name}")
        page.close()


@pytest.mark.browser
def test_a_director_follows_an_overdue_item_to_its_project_and_a_worker_is_refused(
    web: str, agency: dict[str, str], give_password: Callable[[str], str], browser: Any, shots: Callable[..., Path]
) -> None:
    give_password(DIRECTOR)
    give_password(WORKER)
    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, DIRECTOR)
    page.goto(f"{web}/dashboard")
    with page.expect_navigation():
        page.click(f"table.dash-overdue a[href='/projects/{agency['late_item']}']")
    assert page.locator("h1").inner_text() == ODD_NAME
    page.close()

    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, WORKER)
    answer = page.goto(f"{web}/dashboard")
    assert answer is not None and answer.status == 403
    assert page.locator("h1").inner_text() == "不能查看机构看板"
    assert page.locator("[data-count]").count() == 0 and page.locator("svg").count() == 0
    shots(page, "dashboard-refused-phone")
    page.close()
