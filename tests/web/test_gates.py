"""Deciding a gate on the gate page, signed in, as supervisors do it: approve, return, reject, claim,
hand it to a colleague; every refusal is a sentence on the page. The link tests' helpers live here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from swflow import domain
from swflow.forms_spec import MASK

from ..unit._support import NOW, SUPERVISOR, WORKER
from ..unit.test_gate_acts import CERTIFICATE, _add_person, _assessment_gate, template_like  # noqa: F401
from .conftest import DESKTOP, PASSWORD, PHONE, sign_in

OTHER_SUPERVISOR = "sun.supervisor"  # qualified, not on the team
SECRET_CASE = "赵某某"  # in the sample assessment's sensitive key_cases


def events(kind: str) -> list[dict[str, Any]]:
    from swflow.db import read_session
    from swflow.db.tables import Event

    with read_session() as session:
        rows = session.query(Event).filter_by(kind=kind).order_by(Event.id)
        return [{"actor": e.actor, "payload": e.payload, "via": e.via} for e in rows]


def decisions(project: str) -> list[tuple[int, str, str, list[Any] | None]]:
    from swflow.db import read_session
    from swflow.db.tables import GateDecision

    with read_session() as session:
        rows = session.query(GateDecision).filter_by(project_id=project).order_by(GateDecision.id)
        return [(d.round, d.outcome, d.decided_by, d.redo_forms) for d in rows]


def decide_links(project: str, person: str = SUPERVISOR) -> list[str]:
    """The one-tap links the person was sent for the project, oldest first (from the outbox)."""
    from swflow.db import read_session
    from swflow.db.tables import OutboxMessage

    with read_session() as session:
        rows = session.query(OutboxMessage).filter_by(
            project_id=project, template="approval_requested", recipient_id=person
        )
        return [str(m.context["decide_link"]) for m in rows.order_by(OutboxMessage.id)]


def token_of(link: str) -> str:
    return link.rsplit("/", 1)[1]


def hidden(page: str, name: str) -> str:
    return page.split(f'name="{name}" value="', 1)[1].split('"', 1)[0]


@contextmanager
def signed_in_client(web: str, person: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web) as client:
        assert client.post("/login", data={"person_id": person, "password": PASSWORD}).status_code == 303
        yield client


def post_link(client: httpx.Client, link: str, **data: Any) -> httpx.Response:
    """Open the link's page (as a person does), then press one of its buttons."""
    path = f"/l/{token_of(link)}"
    opened = client.get(path)
    assert opened.status_code == 200, opened.text
    return client.post(path, data={"page": hidden(opened.text, "page"), **data})


def refusals() -> list[str]:
    return [e["payload"]["reason"] for e in events("link.refused")]


# --- the gate page, signed in ----------------------------------------------------------------------------------


def supervisor_at_the_gate(web: str, project: str, give_password: Callable[[str], str], browser: Any) -> Any:
    """The supervisor, signed in on a phone, on the project's assessment gate page."""
    give_password(SUPERVISOR)
    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, SUPERVISOR)
    page.goto(f"{web}/gates/{project}/assessment")
    return page


@pytest.mark.browser
def test_supervisor_reads_the_forms_and_approves_on_a_phone(
    web: str, awaiting_assessment: str, give_password: Callable[[str], str], browser: Any, shots: Callable[..., Path]
) -> None:
    page = supervisor_at_the_gate(web, awaiting_assessment, give_password, browser)
    assert page.locator("h1").inner_text() == "审核：需求评估"
    body = page.inner_text("body")
    assert "第 1 轮" in body and "第 1/1 步" in body and "2026-03" in body  # round, step, due date in Beijing time
    assert "独居老人社会交往少" in body and SECRET_CASE in body  # the team's supervisor reads every field
    shots(page, "gate-phone")
    page.set_viewport_size(DESKTOP)
    shots(page, "gate-desktop")

    page.click("#approve")

    assert "已记录：通过" in page.inner_text(".notice")
    assert decisions(awaiting_assessment) == [(1, "approve", SUPERVISOR, None)]
    [decided] = events("gate.decided")
    assert decided["actor"] == SUPERVISOR and decided["via"]["door"] == "web"
    assert page.locator("#approve").count() == 0  # decided: no more buttons


@pytest.mark.browser
def test_supervisor_returns_the_assessment_naming_the_form_to_redo(
    web: str, awaiting_assessment: str, give_password: Callable[[str], str], browser: Any
) -> None:
    page = supervisor_at_the_gate(web, awaiting_assessment, give_password, browser)

    page.fill("#return-comment", "请补充社区资源")
    page.check("input[name=redo][value=needs-assessment]")
    page.click("#return")

    assert "已记录：退回修改" in page.inner_text(".notice")
    assert decisions(awaiting_assessment) == [(1, "return", SUPERVISOR, ["needs-assessment"])]


@pytest.mark.browser
def test_supervisor_rejects_only_after_confirming(
    web: str, awaiting_assessment: str, give_password: Callable[[str], str], browser: Any
) -> None:
    page = supervisor_at_the_gate(web, awaiting_assessment, give_password, browser)

    page.fill("#reject-comment", "服务对象已迁出本社区")
    page.click("#reject")
    assert page.locator("h1").inner_text() == "确认否决"
    assert decisions(awaiting_assessment) == []  # not yet
    page.click("#confirm-reject")

    assert "已记录：否决" in page.inner_text(".notice")
    assert decisions(awaiting_assessment) == [(1, "reject", SUPERVISOR, None)]


def test_a_return_without_a_comment_is_refused_on_the_page(
    web: str, awaiting_assessment: str, give_password: Callable[[str], str]
) -> None:
    give_password(SUPERVISOR)
    with signed_in_client(web, SUPERVISOR) as client:
        csrf = hidden(client.get(f"/gates/{awaiting_assessment}/assessment").text, "csrf")
        refused = client.post(
            f"/gates/{awaiting_assessment}/assessment/decide", data={"csrf": csrf, "outcome": "return"}
        )
    assert refused.status_code == 400 and "必须填写意见" in refused.text
    assert decisions(awaiting_assessment) == []


def test_a_decision_without_the_csrf_token_is_refused(
    web: str, awaiting_assessment: str, give_password: Callable[[str], str]
) -> None:
    give_password(SUPERVISOR)
    with signed_in_client(web, SUPERVISOR) as client:
        refused = client.post(f"/gates/{awaiting_assessment}/assessment/decide", data={"outcome": "approve"})
    assert refused.status_code == 403 and "安全令牌" in refused.text
    assert decisions(awaiting_assessment) == []


def test_the_worker_is_told_they_cannot_decide_their_own_stage(
    web: str, awaiting_assessment: str, give_password: Callable[[str], str]
) -> None:
    give_password(WORKER)
    with signed_in_client(web, WORKER) as client:
        page = client.get(f"/gates/{awaiting_assessment}/assessment")
        assert "您现在不能审核" in page.text and 'id="approve"' not in page.text
        refused = client.post(
            f"/gates/{awaiting_assessment}/assessment/decide",
            data={"csrf": hidden(page.text, "csrf"), "outcome": "approve", "person_id": SUPERVISOR},
        )
    assert refused.status_code == 403 and "wang.worker 不是本阶段的审核人" in refused.text
    assert decisions(awaiting_assessment) == []


def test_four_eyes_a_supervisor_who_filled_the_form_is_refused_on_the_page(
    web: str,
    launch: Callable[..., str],
    template_like: Callable[..., str],  # noqa: F811
    sample_forms: dict[str, Any],
    give_password: Callable[[str], str],
) -> None:
    _add_person("wu.both", ["worker", "supervisor"], [CERTIFICATE])
    project = launch(
        template_id=template_like("group-care", _assessment_gate(steps=["supervisors"])), worker_ids=["wu.both"]
    )
    domain.open_stage(project, "assessment", NOW)
    domain.submit_form(project, "needs-assessment", "wu.both", sample_forms["needs-assessment"], NOW)
    give_password("wu.both")
    with signed_in_client(web, "wu.both") as client:
        page = client.get(f"/gates/{project}/assessment")
        assert "四眼原则" in page.text and 'id="claim"' not in page.text
        refused = client.post(
            f"/gates/{project}/assessment/decide", data={"csrf": hidden(page.text, "csrf"), "outcome": "approve"}
        )
    assert refused.status_code == 403 and "四眼原则：wu.both 提交过本阶段的表单" in refused.text
    assert decisions(project) == []


def test_a_group_step_is_claimed_on_the_page(
    web: str,
    launch: Callable[..., str],
    template_like: Callable[..., str],  # noqa: F811
    sample_forms: dict[str, Any],
    give_password: Callable[[str], str],
) -> None:
    project = launch(template_id=template_like("group-care", _assessment_gate(steps=["supervisors"])))
    domain.open_stage(project, "assessment", NOW)
    domain.submit_form(project, "needs-assessment", WORKER, sample_forms["needs-assessment"], NOW)
    give_password(OTHER_SUPERVISOR)
    with signed_in_client(web, OTHER_SUPERVISOR) as client:
        csrf = hidden(client.get(f"/gates/{project}/assessment").text, "csrf")
        claimed = client.post(f"/gates/{project}/assessment/claim", data={"csrf": csrf}, follow_redirects=True)
    assert "您已认领本步审核" in claimed.text and "sun.supervisor（已认领或受托）" in claimed.text
    assert [e["actor"] for e in events("gate.claimed")] == [OTHER_SUPERVISOR]


def test_supervisor_hands_the_gate_to_a_qualified_colleague_and_never_to_an_unqualified_one(
    web: str, awaiting_assessment: str, give_password: Callable[[str], str]
) -> None:
    expired = [{"kind": "certificate", "level": "社会工作师", "number": "SW-2010-0001", "valid_until": "2025-01-31"}]
    _add_person("wei.supervisor", ["supervisor"], expired)
    give_password(SUPERVISOR)
    with signed_in_client(web, SUPERVISOR) as client:
        page = client.get(f"/gates/{awaiting_assessment}/assessment").text
        offered = page.split('id="delegate-to"', 1)[1].split("</select>", 1)[0]
        assert OTHER_SUPERVISOR in offered and "wei.supervisor" not in offered
        url = f"/gates/{awaiting_assessment}/assessment/delegate"
        refused = client.post(url, data={"csrf": hidden(page, "csrf"), "to": "wei.supervisor"})
        assert refused.status_code == 403 and "资格证书已过期" in refused.text
        assert events("gate.delegated") == []
        handed = client.post(url, data={"csrf": hidden(page, "csrf"), "to": OTHER_SUPERVISOR}, follow_redirects=True)
    assert "已转交" in handed.text
    assert [e["payload"]["to"] for e in events("gate.delegated")] == [OTHER_SUPERVISOR]


def test_someone_outside_the_team_sees_the_forms_masked(
    web: str, awaiting_assessment: str, give_password: Callable[[str], str]
) -> None:
    give_password(OTHER_SUPERVISOR)
    with signed_in_client(web, OTHER_SUPERVISOR) as client:
        page = client.get(f"/gates/{awaiting_assessment}/assessment").text
    assert SECRET_CASE not in page and MASK in page and "敏感信息已隐藏" in page
    assert "独居老人社会交往少" in page  # what is not sensitive is shown


def test_the_gate_page_shows_earlier_rounds_with_their_comments_to_the_team_only(
    web: str, awaiting_assessment: str, sample_forms: dict[str, Any], give_password: Callable[[str], str]
) -> None:
    decided = domain.record_decision(awaiting_assessment, "assessment", SUPERVISOR, "return", "请补充独居老人名册", NOW)
    attempt = domain.read_gate(awaiting_assessment, "assessment").attempt
    domain.apply_gate_reply(awaiting_assessment, "assessment", attempt, decided.decision_id, NOW)
    domain.submit_form(awaiting_assessment, "needs-assessment", WORKER, sample_forms["needs-assessment"], NOW)
    give_password(SUPERVISOR)
    give_password(OTHER_SUPERVISOR)
    with signed_in_client(web, SUPERVISOR) as client:
        team = client.get(f"/gates/{awaiting_assessment}/assessment").text
    with signed_in_client(web, OTHER_SUPERVISOR) as client:
        outside = client.get(f"/gates/{awaiting_assessment}/assessment").text
    assert "第 2 轮" in team and "第 1 轮 第 1 步：退回修改" in team and "请补充独居老人名册" in team
    assert "第 1 轮 第 1 步：退回修改" in outside and "请补充独居老人名册" not in outside
    assert "意见只有项目团队可见" in outside
