"""从模板启动项目 on the web, as a manager does it: pick a template and read its stages, forms, gates and
deadlines first; name the project, choose the team from lists that show roles and qualifications;
launch and land on the project page. The launch refusals of today (a manager as supervisor, an
unqualified supervisor) are shown at the supervisor field, nothing recorded, what was typed kept; a
worker is refused the page and the act. No orchestration server runs here: the project is recorded and
waits for its run, which `swflow serve`'s reconciler creates; the tests drive the first stage open as
the run does, and say so."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from swflow import domain
from swflow.config.errors import NotFoundError, RefusedError
from swflow.config.settings import get_settings
from swflow.domain.projects.launch_view import launch_choices, place_launch_refusal, why_not_launch
from swflow.forms_spec import get_form

from ..unit._support import DIRECTOR, MANAGER, NOW, SECOND_WORKER, SUPERVISOR, WORKER
from ..unit.test_gate_acts import CERTIFICATE, _add_person
from .conftest import DESKTOP, PASSWORD, PHONE, sign_in

TEMPLATE = "elderly-care-brief"
LEAD = "ma.lead"  # a manager who also holds the supervisor role
LAPSED = "wu.supervisor"  # a supervisor whose certificate ran out before NOW (2026-03-02)
LAPSED_SAYS = f"{LAPSED} 的资格证书已过期（有效期至 2025-06-30），没有有效的证书或学历（§8.1.1）"
STAGE_FORMS = ["needs-assessment", "service-plan", "activity-record", "outcome-evaluation"]


@pytest.fixture
def no_orchestrator(web: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The Prefect API points at a closed port: asking for the run fails at once, as with serve stopped."""
    monkeypatch.setenv("SWFLOW_PREFECT_API_URL", "http://127.0.0.1:9/api")
    get_settings.cache_clear()
    return web


@pytest.fixture
def more_supervisors(web_home: Path) -> None:
    _add_person(LEAD, ["manager", "supervisor"], [CERTIFICATE])
    _add_person(LAPSED, ["supervisor"], [{**CERTIFICATE, "number": "SW-2019-0200", "valid_until": "2025-06-30"}])


def project_ids() -> list[str]:
    return sorted(p["id"] for p in domain.list_projects())


def launched_event(project_id: str) -> dict[str, Any]:
    from swflow.db import read_session
    from swflow.db.tables import Event

    with read_session() as session:
        [event] = session.query(Event).filter_by(stream=f"project:{project_id}", kind="project.launched").all()
        return {"actor": event.actor, "payload": event.payload, "via": event.via}


@contextmanager
def signed_in_as(web: str, person_id: str) -> Iterator[tuple[httpx.Client, str]]:
    """A client signed in, and its session's CSRF token (from the sign-out form every page carries)."""
    with httpx.Client(base_url=web) as client:
        answer = client.post("/login", data={"person_id": person_id, "password": PASSWORD})
        assert answer.status_code == 303, answer.text
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text)
        assert token is not None
        yield client, token.group(1)


def fill(page: Any, supervisor: str, workers: tuple[str, ...] = ()) -> None:
    page.fill("#name", "阳光社区长者关爱")
    page.fill("#community", "阳光社区")
    page.select_option("#supervisor", supervisor)
    page.select_option("#lead", WORKER)
    for worker in workers:
        page.check(f"input[name=workers][value='{worker}']")


def valid_post(token: str, **changes: Any) -> dict[str, Any]:
    return {
        "csrf": token,
        "template_id": TEMPLATE,
        "name": "阳光社区长者关爱",
        "community": "阳光社区",
        "supervisor": SUPERVISOR,
        "lead": WORKER,
        **changes,
    }


# in a browser


@pytest.mark.browser
def test_a_manager_reads_the_template_then_launches_and_lands_on_the_project(
    no_orchestrator: str, give_password: Callable[[str], str], browser: Any, shots: Callable[..., Path]
) -> None:
    web = no_orchestrator
    give_password(MANAGER)
    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, MANAGER)
    page.goto(f"{web}/projects/new")
    page.select_option("#template", TEMPLATE)
    page.click("text=查看模板")
    assert page.url.endswith(f"/projects/new?template={TEMPLATE}")

    detail = page.locator("section.template-detail").inner_text()
    assert "§5.1 社区老年人照顾服务（简版）" in detail and "4 个阶段，共 65 个工作日" in detail
    for n, (title, days) in enumerate((("需求评估", 10), ("服务策划", 5), ("服务执行与过程评估", 40)), start=1):
        stage = page.locator("li.stage-spec").nth(n - 1).inner_text()
        assert f"第 {n} 阶段：{title}" in stage and f"开放后 {days} 个工作日" in stage
        assert "项目督导" in stage and "每步 3 个工作日内决定" in stage  # the gate: who, and how long
        assert f"{get_form(STAGE_FORMS[n - 1]).title} （必填）" in stage
    assert "若今天开放：2026-03-16 18:00 截止" in detail  # 10 working days after Monday 2 March
    assert "周主管（zhou.pm）：您本人" in page.locator("#w-manager").inner_text()  # not a choice: the signed-in one
    supervisor = page.locator("#supervisor option[value='li.supervisor']").inner_text()
    assert supervisor == "李督导（li.supervisor） · 督导 · 高级社会工作师（证书 SW-2015-0002）"
    lapsed_worker = page.locator("#w-workers label:has(input[value='qian.worker'])").inner_text()
    assert "有效期至 2025-12-31，已过期" in lapsed_worker and "§8.1.1" in lapsed_worker
    shots(page, "launch-template-phone")

    before = project_ids()
    fill(page, SUPERVISOR, (SECOND_WORKER,))
    page.click("button:has-text('启动项目')")
    page.wait_for_url(re.compile(r"/projects/P-[0-9A-F]{6}\?launched=waiting$"))
    project = page.url.split("/projects/", 1)[1].split("?", 1)[0]
    assert page.locator("h1").inner_text() == "阳光社区长者关爱"
    assert "周主管" in page.locator("ul.team").inner_text()
    assert "项目已启动并记入档案；编排服务暂时不可用" in page.locator("p.notice").inner_text()
    shots(page, "launched-project-phone")
    page.close()

    assert project_ids() == sorted([*before, project])
    status = domain.project_status(project)
    assert (status["name"], status["community"], status["template"]["id"]) == ("阳光社区长者关爱", "阳光社区", TEMPLATE)
    assert status["team"] == [
        {"person": MANAGER, "role": "manager"},
        {"person": SUPERVISOR, "role": "supervisor"},
        {"person": WORKER, "role": "worker"},
        {"person": SECOND_WORKER, "role": "worker"},
    ]
    event = launched_event(project)
    assert event["actor"] == MANAGER and event["via"]["door"] == "web" and event["via"]["session"]
    # no orchestration server: the project is recorded and waits for its run; no stage is open yet
    assert (status["flow_run_id"], status["run_state"]) == (None, "Waiting")
    assert {s["status"] for s in status["stages"]} == {"pending"}
    assert domain.inbox(WORKER)["tasks"] == []

    domain.open_stage(project, "assessment", NOW)  # what the run does first, once serve has made it
    give_password(WORKER)
    worker = browser.new_page(viewport=PHONE)
    sign_in(worker, web, WORKER)
    task = worker.locator("li.task").first.inner_text()
    assert "阳光社区长者关爱" in task and get_form("needs-assessment").title in task
    worker.close()


@pytest.mark.browser
def test_refusals_are_shown_at_the_supervisor_field_with_what_was_typed_kept(
    no_orchestrator: str, more_supervisors: None, give_password: Callable[[str], str], browser: Any
) -> None:
    web = no_orchestrator
    before = project_ids()
    cases = [
        (LEAD, LEAD, f"{LEAD} 不能同时是本项目的项目主管和督导（四眼原则）"),  # the manager as supervisor
        (MANAGER, LAPSED, LAPSED_SAYS),  # a supervisor without a valid certificate
    ]
    for manager, supervisor, refusal in cases:
        give_password(manager)
        page = browser.new_page(viewport=PHONE)
        sign_in(page, web, manager)
        page.goto(f"{web}/projects/new?template={TEMPLATE}")
        fill(page, supervisor, (SECOND_WORKER,))
        page.click("button:has-text('启动项目')")

        assert page.url.endswith("/projects/new")
        assert page.locator("#w-supervisor .field-error").all_inner_texts() == [refusal]
        assert page.locator("#w-supervisor").get_attribute("class") == "field has-error"
        assert f"督导：{refusal}" in page.locator("div.refusal").inner_text()
        assert page.locator(".field-error").count() == 1  # nowhere else
        assert page.input_value("#name") == "阳光社区长者关爱" and page.input_value("#community") == "阳光社区"
        assert page.input_value("#supervisor") == supervisor
        assert page.input_value("#lead") == WORKER
        assert page.is_checked(f"input[name=workers][value='{SECOND_WORKER}']")
        assert not page.is_checked("input[name=workers][value='qian.worker']")
        page.close()
    assert project_ids() == before  # nothing recorded


@pytest.mark.browser
def test_a_worker_is_refused_the_page_and_the_act(
    no_orchestrator: str, give_password: Callable[[str], str], browser: Any
) -> None:
    web = no_orchestrator
    before = project_ids()
    give_password(WORKER)
    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, WORKER)
    answer = page.goto(f"{web}/projects/new?template={TEMPLATE}")
    assert answer is not None and answer.status == 403
    assert page.locator("h1").inner_text() == "不能这样做"
    assert page.locator("main p").first.inner_text() == (
        f"{WORKER} 不能启动项目：只有项目主管或机构负责人可以从模板启动项目（现有角色：社工）"
    )
    assert page.locator("form.launch-form").count() == 0
    page.close()

    with signed_in_as(web, WORKER) as (client, token):  # the form posted anyway, with a valid session
        posted = client.post("/projects/new", data=valid_post(token, manager=MANAGER))
    assert posted.status_code == 403 and "只有项目主管或机构负责人可以从模板启动项目" in posted.text
    assert project_ids() == before


@pytest.mark.browser
def test_the_launch_page_at_phone_and_desktop_sizes(
    no_orchestrator: str,
    more_supervisors: None,
    give_password: Callable[[str], str],
    browser: Any,
    shots: Callable[..., Path],
) -> None:
    web = no_orchestrator
    give_password(MANAGER)
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = browser.new_page(viewport=viewport)
        sign_in(page, web, MANAGER)
        page.goto(f"{web}/projects/new")
        assert page.locator("ul.template-list li").count() == len(launch_choices(MANAGER, NOW).templates)
        shots(page, f"launch-templates-{name}")
        page.click(f"a[href='/projects/new?template={TEMPLATE}']")
        fill(page, LAPSED)
        page.click("button:has-text('启动项目')")
        assert page.locator("#w-supervisor .field-error").inner_text() == LAPSED_SAYS
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{name}: the page scrolls sideways ({width} px)"
        shots(page, f"launch-refused-{name}")
        page.close()


# the door without a browser


def test_fields_are_checked_before_the_launch_and_nothing_is_recorded(
    no_orchestrator: str, give_password: Callable[[str], str]
) -> None:
    give_password(MANAGER)
    before = project_ids()
    with signed_in_as(no_orchestrator, MANAGER) as (client, token):
        empty = client.post("/projects/new", data=valid_post(token, name="  ", community="", supervisor="", lead=""))
        long = client.post("/projects/new", data=valid_post(token, name="长" * 201))
        forged = client.post("/projects/new", data=valid_post("not-the-token"))
        unknown = client.get("/projects/new?template=no-such-template")
    assert empty.status_code == 400
    missing = {"name": "必填", "community": "必填", "supervisor": "请选择督导", "lead": "请选择主责社工"}
    for field, rule in missing.items():
        assert re.search(rf'id="w-{field}">.*?<div class="field-error" role="alert">{rule}</div>', empty.text, re.S)
    assert long.status_code == 400 and '<div class="field-error" role="alert">最多 200 个字</div>' in long.text
    assert "长" * 201 in long.text  # kept as typed
    assert forged.status_code == 403 and "安全令牌" in forged.text
    assert unknown.status_code == 404
    assert '<div class="field-error" role="alert">没有模板 no-such-template</div>' in unknown.text
    assert project_ids() == before


def test_a_manager_launches_as_themself_and_a_director_for_a_manager(
    no_orchestrator: str, more_supervisors: None, give_password: Callable[[str], str]
) -> None:
    give_password(MANAGER)
    give_password(DIRECTOR)
    with signed_in_as(no_orchestrator, MANAGER) as (client, token):
        own = client.post("/projects/new", data=valid_post(token, manager=LEAD))  # a manager field is ignored
    with signed_in_as(no_orchestrator, DIRECTOR) as (client, token):
        page = client.get(f"/projects/new?template={TEMPLATE}").text
        for_lead = client.post(
            "/projects/new",
            data=valid_post(token, manager=LEAD, name="助餐点", lead=SECOND_WORKER, workers=[WORKER, SECOND_WORKER]),
        )
    assert own.status_code == 303 and for_lead.status_code == 303
    assert '<select id="manager" name="manager">' in page  # a director chooses the manager
    [mine] = [p for p in domain.list_projects() if p["name"] == "阳光社区长者关爱"]
    [theirs] = [p for p in domain.list_projects() if p["name"] == "助餐点"]
    assert domain.project_status(mine["id"])["team"][0] == {"person": MANAGER, "role": "manager"}
    assert [(m["person"], m["role"]) for m in domain.project_status(theirs["id"])["team"]] == [
        (LEAD, "manager"),
        (SUPERVISOR, "supervisor"),
        (SECOND_WORKER, "worker"),  # the lead chosen first: their work items
        (WORKER, "worker"),
    ]
    launched = launched_event(theirs["id"])
    assert launched["via"]["door"] == "web" and launched["actor"] == DIRECTOR  # who launched, not the manager named
    assert launched_event(mine["id"])["actor"] == MANAGER


def test_who_may_launch_is_the_domains_rule(web_home: Path, more_supervisors: None) -> None:
    assert why_not_launch(MANAGER) is None and why_not_launch(DIRECTOR) is None
    assert why_not_launch(DIRECTOR, LEAD) is None
    assert (
        why_not_launch(MANAGER, LEAD)
        == f"{MANAGER} 只能以本人为项目主管启动项目：由其他主管负责的项目，请机构负责人启动"
    )
    assert why_not_launch(SUPERVISOR) == (
        f"{SUPERVISOR} 不能启动项目：只有项目主管或机构负责人可以从模板启动项目（现有角色：督导）"
    )
    with pytest.raises(RefusedError, match="现有角色：社工"):
        launch_choices(WORKER, NOW)
    choices = launch_choices(MANAGER, NOW)
    assert [p.id for p in choices.people["supervisor"]] == [SUPERVISOR, LEAD, "sun.supervisor", LAPSED]
    assert [p.id for p in choices.people["manager"]] == [LEAD, MANAGER]
    assert choices.people["evaluator"] == [] and not choices.may_choose_manager


def _refused(request: domain.LaunchRequest) -> tuple[list[tuple[str, str]], list[str]]:
    with pytest.raises((RefusedError, NotFoundError)) as refused:
        domain.prepare_launch(request, NOW.date())
    return place_launch_refusal(str(refused.value), request)


def test_each_line_of_a_launch_refusal_goes_to_the_field_it_names(web_home: Path, more_supervisors: None) -> None:
    def asked(**changes: Any) -> domain.LaunchRequest:
        team = {"manager_id": MANAGER, "supervisor_id": SUPERVISOR, "worker_ids": [WORKER]}
        return domain.LaunchRequest.model_validate(
            {"template_id": TEMPLATE, "name": "项目", "community": "社区", **team, **changes}
        )

    assert _refused(asked(worker_ids=[WORKER, "qian.worker"])) == (
        [("workers", "qian.worker 的资格证书已过期（有效期至 2025-12-31），没有有效的证书或学历（§8.1.1）")],
        [],
    )
    assert _refused(asked(worker_ids=["qian.worker", WORKER])) == (
        [("lead", "qian.worker 的资格证书已过期（有效期至 2025-12-31），没有有效的证书或学历（§8.1.1）")],
        [],
    )
    assert _refused(asked(worker_ids=[WORKER, SUPERVISOR])) == (
        [
            ("workers", f"{SUPERVISOR} 没有「社工」角色（现有：supervisor）"),
            ("supervisor", f"{SUPERVISOR} 不能同时是本项目的督导和社工（四眼原则）"),
        ],
        [],
    )
    assert _refused(asked(supervisor_id=WORKER)) == (
        [
            ("supervisor", f"{WORKER} 没有「督导」角色（现有：worker）"),
            ("supervisor", f"{WORKER} 不能同时是本项目的督导和社工（四眼原则）"),
        ],
        [],
    )
    not_manager = "sun.supervisor 没有「项目主管」角色（现有：supervisor）"
    assert _refused(asked(manager_id="sun.supervisor")) == ([("manager", not_manager)], [])
    assert _refused(asked(supervisor_id="nobody")) == ([("supervisor", "没有人员 nobody")], [])
    assert _refused(asked(template_id="no-such-template")) == ([("template", "没有模板 no-such-template")], [])
    [(where, line)], _ = _refused(asked(evaluator_id=DIRECTOR))  # the template wants no evaluator
    assert where == "evaluator" and line.startswith(f"模板 {TEMPLATE} 没有由评估方填写的表单")
    assert place_launch_refusal("编排服务不可用", asked()) == ([], ["编排服务不可用"])
