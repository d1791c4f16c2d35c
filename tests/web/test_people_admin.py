"""人员管理 on the web, as a director (机构负责人) does it (issue 17, part 6): add a person with roles,
qualifications (rows, 添加一行 without JavaScript) and channels; a deciding role asked for is held for a
director's confirmation as with the CLI; every bad field is named at once and nothing is written;
deactivating ends the person's sessions and sign-in (never oneself); an invitation goes to the person's
channels and its link is not shown to the director; anyone else is refused the pages and the acts.
Every change is the director's, through the web door."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from swflow import domain
from swflow.db import unit_of_work
from swflow.domain.people.records import write_people

from ..unit._support import DIRECTOR, NOW, SECOND_WORKER, SUPERVISOR, WORKER
from .conftest import DESKTOP, PASSWORD, PHONE, sign_in
from .test_gates import events

NEW_WORKER = "liu.worker"
SECRET = "s3cret-token-never-shown"
CHANNEL = f"json://127.0.0.1:9/liu.worker?token={SECRET}"


def event_count() -> int:
    from sqlalchemy import func, select

    from swflow.db import read_session
    from swflow.db.tables import Event

    with read_session() as session:
        return int(session.scalar(select(func.count()).select_from(Event)) or 0)


def person(person_id: str) -> dict[str, Any] | None:
    from swflow.db import read_session
    from swflow.db.tables import Person

    with read_session() as session:
        p = session.get(Person, person_id)
        if p is None:
            return None
        return {"roles": p.roles, "qualifications": p.qualifications, "notify": p.notify, "active": p.active,
                "community": p.community, "name": p.name}  # fmt: skip


def outbox(person_id: str, template: str) -> list[dict[str, Any]]:
    from swflow.db import read_session
    from swflow.db.tables import OutboxMessage

    with read_session() as session:
        rows = session.query(OutboxMessage).filter_by(recipient_id=person_id, template=template)
        return [dict(m.context) for m in rows.order_by(OutboxMessage.id)]


@contextmanager
def signed_in_as(web: str, person_id: str) -> Iterator[tuple[httpx.Client, str]]:
    """A client signed in, and its session's CSRF token (from the sign-out form every page carries)."""
    with httpx.Client(base_url=web) as client:
        answer = client.post("/login", data={"person_id": person_id, "password": PASSWORD})
        assert answer.status_code == 303, answer.text
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text)
        assert token is not None
        yield client, token.group(1)


def director_page(browser: Any, web: str, viewport: dict[str, int] = PHONE) -> Any:
    page = browser.new_page(viewport=viewport)
    sign_in(page, web, DIRECTOR)
    return page


def via(event: dict[str, Any]) -> str | None:
    return (event["via"] or {}).get("door")


@pytest.mark.browser
def test_the_director_adds_a_worker_with_a_qualification_and_a_channel(
    web: str, give_password: Callable[[str], str], browser: Any
) -> None:
    give_password(DIRECTOR)
    page = director_page(browser, web)
    page.goto(f"{web}/people")
    page.click("#add-person")
    page.fill("#id", NEW_WORKER)
    page.fill("#name", "刘社工")
    page.check("input[name=roles][value=worker]")
    page.fill("#community", "幸福社区")
    page.fill("#q-0-level", "助理社会工作师")
    page.fill("#q-0-number", "ASW-2026-0010")
    page.fill("#q-0-valid_until", "2029-12-31")
    page.click("#add-row")  # no JavaScript: the page comes back with one more row, what was typed kept
    assert page.locator("fieldset.qualification").count() == 2
    assert page.input_value("#q-0-level") == "助理社会工作师" and page.input_value("#name") == "刘社工"
    assert page.is_checked("input[name=roles][value=worker]") and person(NEW_WORKER) is None
    page.select_option("#q-1-kind", "degree")
    page.fill("#q-1-level", "社会工作学士")
    page.fill("#new_channels", CHANNEL)
    with page.expect_navigation():
        page.click("#save-person")
    assert page.url.endswith(f"/people/{NEW_WORKER}?saved=added")
    assert page.locator("#notice").inner_text() == f"已添加 刘社工（{NEW_WORKER}）。"
    assert "json://127.0.0.1:…" in page.inner_text("#w-channels") and SECRET not in page.content()
    assert page.locator("fieldset.qualification").count() == 3  # the two saved, and the draft row

    saved = person(NEW_WORKER)
    assert saved == {
        "roles": ["worker"],
        "qualifications": [
            {"kind": "certificate", "level": "助理社会工作师", "number": "ASW-2026-0010", "valid_until": "2029-12-31"},
            {"kind": "degree", "level": "社会工作学士", "number": "", "valid_until": None},
        ],
        "notify": [CHANNEL],
        "active": True,
        "community": "幸福社区",
        "name": "刘社工",
    }
    imported = events("people.imported")[-1]
    assert (imported["actor"], via(imported), imported["payload"]["ids"]) == (DIRECTOR, "web", [NEW_WORKER])

    page.goto(f"{web}/people?role=worker&active=yes")  # the list, filtered
    row = page.locator(f"tr[data-person='{NEW_WORKER}']")
    assert "助理社会工作师" in row.inner_text() and "json://127.0.0.1:…" in row.inner_text()
    assert page.locator(f"tr[data-person='{SUPERVISOR}']").count() == 0 and SECRET not in page.content()

    page.goto(f"{web}/people/{NEW_WORKER}")  # change: a channel removed, the community changed
    page.check("input[name=remove_channel]")
    page.fill("#community", "阳光社区")
    with page.expect_navigation():
        page.click("#save-person")
    assert page.locator("#notice").inner_text() == f"已保存 刘社工（{NEW_WORKER}）的信息。"
    changed = person(NEW_WORKER)
    assert changed is not None and (changed["notify"], changed["community"]) == ([], "阳光社区")
    assert len(changed["qualifications"]) == 2  # the rows kept as they were
    page.close()


@pytest.mark.browser
def test_a_supervisor_role_is_held_for_a_directors_confirmation(
    web: str, give_password: Callable[[str], str], browser: Any
) -> None:
    give_password(DIRECTOR)
    page = director_page(browser, web)
    page.goto(f"{web}/people/new")
    page.fill("#id", "zhang.supervisor")
    page.fill("#name", "张督导")
    page.check("input[name=roles][value=supervisor]")
    page.fill("#q-0-level", "社会工作师")
    page.fill("#q-0-number", "SW-2020-0300")
    page.fill("#new_channels", "json://127.0.0.1:9/zhang.supervisor")
    with page.expect_navigation():
        page.click("#save-person")
    # the only director asked for it: another director must confirm (four eyes), so no link goes to them
    assert "本机构现在没有其他在任的机构负责人，该角色暂未授予" in page.locator("p.notice").first.inner_text()
    assert not page.is_checked("input[name=roles][value=supervisor]")  # not held
    stored = person("zhang.supervisor")
    assert stored is not None and stored["roles"] == []  # the person does not hold it yet
    assert events("people.roles_granted") == []
    [asked] = events("people.grant_requested")
    assert (asked["actor"], via(asked), asked["payload"]["roles"]) == (DIRECTOR, "web", ["supervisor"])
    assert asked["payload"]["asked"] == [] and outbox(DIRECTOR, "roles_grant_requested") == []
    page.close()

    second = {"id": "he.director", "name": "何主任", "roles": ["director"], "notify": ["json://127.0.0.1:9/he"]}
    with unit_of_work() as session:  # a second director, as the agency's setup would have it (not held)
        write_people(session, [domain.PersonRecord.model_validate(second)], "test", NOW)
    page = director_page(browser, web)
    page.goto(f"{web}/people/new")
    page.fill("#id", "gao.supervisor")
    page.fill("#name", "高督导")
    page.check("input[name=roles][value=supervisor]")
    page.fill("#q-0-level", "社会工作师")
    page.fill("#new_channels", "json://127.0.0.1:9/gao.supervisor")
    with page.expect_navigation():
        page.click("#save-person")
    pending = page.locator("#pending").inner_text()
    assert pending == "督导 角色须机构负责人确认后才生效：已向 何主任 发送确认链接。确认之前，高督导 不持有该角色。"
    assert "已申请，待确认" in page.inner_text("#w-roles")
    assert outbox(DIRECTOR, "roles_grant_requested") == [] and len(outbox("he.director", "roles_grant_requested")) == 1
    page.goto(f"{web}/people?role=supervisor")
    assert "督导：待机构负责人确认" in page.inner_text("tr[data-person='gao.supervisor']")
    page.close()


@pytest.mark.browser
def test_bad_fields_are_all_named_at_their_fields_and_nothing_is_written(
    web: str, give_password: Callable[[str], str], browser: Any, shots: Callable[..., Path]
) -> None:
    give_password(DIRECTOR)
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = director_page(browser, web, viewport)
        before = event_count()
        page.goto(f"{web}/people/new")
        page.fill("#id", "Liu.Worker")
        page.fill("#name", "刘社工")
        page.fill("#q-0-number", "ASW-2026-0010")  # a row without its level
        page.fill("#new_channels", "http://169.254.169.254/x\njson://169.254.169.254/latest")
        with page.expect_navigation() as navigation:
            page.click("#save-person")
        assert navigation.value is not None and navigation.value.status == 400
        assert page.locator(".problems li").count() == 5
        assert page.inner_text("#w-id .field-error").startswith("只能用小写字母、数字和 . _ -")
        assert page.inner_text("#w-roles .field-error") == "请至少选择一个角色"
        assert page.inner_text("#q-0 .has-error .field-error") == "必填"  # at the level, in its row
        assert page.locator("#q-0 .has-error #q-0-level").count() == 1
        channels = page.locator("#w-new_channels .field-error").all_inner_texts()
        assert channels[0].startswith("第 1 行：不支持的通知渠道 http://")
        assert channels[1] == "第 2 行：不能发往链路本地或云元数据地址（169.254.169.254）"
        assert page.input_value("#id") == "Liu.Worker" and page.input_value("#q-0-number") == "ASW-2026-0010"
        assert page.input_value("#new_channels").startswith("http://169.254.169.254/x")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{name}: the page scrolls sideways ({width} px)"
        shots(page, f"person-refused-{name}")
        assert event_count() == before and person("Liu.Worker") is None and person("liu.worker") is None
        page.goto(f"{web}/people")
        shots(page, f"people-{name}")
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        page.goto(f"{web}/people/{WORKER}")
        shots(page, f"person-{name}")
        page.close()


@pytest.mark.browser
def test_a_deactivated_worker_can_no_longer_sign_in_and_their_session_ends(
    web: str, give_password: Callable[[str], str], browser: Any
) -> None:
    give_password(DIRECTOR)
    give_password(WORKER)
    worker = browser.new_context(viewport=PHONE).new_page()  # a second browser: the worker's own
    sign_in(worker, web, WORKER)
    assert worker.locator("h1").inner_text() == "我的待办"
    page = director_page(browser, web)
    page.goto(f"{web}/people/{WORKER}")
    with page.expect_navigation():
        page.click("#deactivate")
    assert page.locator("#notice").inner_text().startswith(f"已停用 王社工（{WORKER}）")
    stored = person(WORKER)
    assert stored is not None and stored["active"] is False
    imported = events("people.imported")[-1]
    assert (imported["actor"], via(imported)) == (DIRECTOR, "web")
    [ended] = events("account.sessions_ended")
    assert (ended["actor"], via(ended), ended["payload"]["person"]) == (DIRECTOR, "web", WORKER)

    worker.reload()
    assert "/login" in worker.url  # the open session is over
    sign_in(worker, web, WORKER)
    assert "/login" in worker.url and "账号或密码不正确" in worker.content()

    page.goto(f"{web}/people/{DIRECTOR}")  # oneself: no button, and the act refuses
    assert page.locator("#deactivate").count() == 0 and "不能停用自己" in page.inner_text("#activity")
    page.close()
    with signed_in_as(web, DIRECTOR) as (client, token):
        before = event_count()
        refused = client.post(f"/people/{DIRECTOR}/active", data={"csrf": token, "active": "0"})
        assert refused.status_code == 403 and "不能停用您本人" in refused.text
        assert event_count() == before
        again = client.post(f"/people/{WORKER}/active", data={"csrf": token, "active": "1"}, follow_redirects=True)
        assert "已重新启用 王社工" in again.text
    assert worker.goto(f"{web}/") is not None and "/login" in worker.url  # the old session stays over
    stored = person(DIRECTOR)
    assert stored is not None and stored["active"] is True


@pytest.mark.browser
def test_an_invitation_goes_to_the_persons_channel_and_the_page_does_not_show_the_link(
    web: str, give_password: Callable[[str], str], browser: Any
) -> None:
    give_password(DIRECTOR)
    give_password(WORKER)
    page = director_page(browser, web)
    page.goto(f"{web}/people/{SECOND_WORKER}")
    assert page.inner_text("#account-state") == "未开通"
    with page.expect_navigation():
        page.click("#invite")
    notice = page.locator("#notice").inner_text()
    assert notice.startswith(
        f"已开通账号：设置密码的链接已发送到 赵社工（{SECOND_WORKER}）的通知渠道 json://127.0.0.1:…"
    )
    [invited] = [e for e in events("account.invited") if e["payload"]["person"] == SECOND_WORKER]
    assert (invited["actor"], via(invited)) == (DIRECTOR, "web")
    [message] = outbox(SECOND_WORKER, "account_invite")
    link = str(message["link"])
    assert link.rsplit("/", 1)[1] not in page.content() and "/set-password/" not in page.content()
    assert page.inner_text("#account-state") == "已发送设置密码链接，尚未设置"

    page.goto(f"{web}/people/{WORKER}")
    assert page.inner_text("#account-state") == "已设置密码"
    with page.expect_navigation():
        page.click("#reset")
    assert page.locator("#notice").inner_text().startswith("已重置密码：原密码和所有会话已失效")
    [reset] = events("account.reset")
    assert (reset["actor"], via(reset), reset["payload"]["person"]) == (DIRECTOR, "web", WORKER)
    [_, reset_message] = outbox(WORKER, "account_invite")  # the first: the fixture's own invitation
    assert str(reset_message["link"]).rsplit("/", 1)[1] not in page.content()
    page.close()

    silent = domain.PersonRecord(id="he.worker", name="何社工", roles=["worker"])  # no channel at all
    domain.import_people([silent], "test", NOW)
    with signed_in_as(web, DIRECTOR) as (client, token):
        refused = client.post("/people/he.worker/invite", data={"csrf": token})
    assert refused.status_code == 403 and "没有通知渠道，链接无处可发" in refused.text
    assert [e for e in events("account.invited") if e["payload"]["person"] == "he.worker"] == []


@pytest.mark.browser
def test_a_worker_is_refused_the_pages_and_the_acts(
    web: str, give_password: Callable[[str], str], browser: Any
) -> None:
    give_password(WORKER)
    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, WORKER)
    for path in ("/people", "/people/new", f"/people/{SUPERVISOR}"):
        answer = page.goto(f"{web}{path}")
        assert answer is not None and answer.status == 403, path
        assert page.locator("h1").inner_text() == "不能这样做"
        assert "只有机构负责人可以" in page.locator("main p").first.inner_text()
        assert page.locator("form.person-form").count() == 0 and "json://" not in page.content()
    page.close()
    with signed_in_as(web, WORKER) as (client, token):
        before = event_count()
        posts = {
            "/people/new": {"id": "x", "name": "某人", "roles": "worker"},
            "/people/x": {"name": "某人", "roles": "director"},
            f"/people/{WORKER}": {"name": "王社工", "roles": ["worker", "director"]},
            f"/people/{SUPERVISOR}/active": {"active": "0"},
            f"/people/{SUPERVISOR}/invite": {},
            f"/people/{SUPERVISOR}/reset": {},
        }
        for path, data in posts.items():
            answer = client.post(path, data={"csrf": token, **data})
            assert answer.status_code == 403 and "只有机构负责人可以" in answer.text, path
        assert event_count() == before
    stored = person(WORKER)
    assert person("x") is None and stored is not None and stored["roles"] == ["worker"]


def test_a_directors_post_without_the_csrf_token_is_refused(web: str, give_password: Callable[[str], str]) -> None:
    give_password(DIRECTOR)
    with signed_in_as(web, DIRECTOR) as (client, token):
        before = event_count()
        forged = client.post(f"/people/{WORKER}/active", data={"csrf": "forged", "active": "0"})
        assert forged.status_code == 403 and "安全令牌" in forged.text and event_count() == before
        taken = client.post("/people/new", data={"csrf": token, "id": WORKER, "name": "王社工", "roles": "worker"})
        demoted = client.post(f"/people/{DIRECTOR}", data={"csrf": token, "name": "陈主任", "roles": "manager"})
        assert event_count() == before
    assert taken.status_code == 400 and f"已有人员 {WORKER}" in taken.text
    assert demoted.status_code == 400 and "不能取消您本人的机构负责人角色" in demoted.text


def test_channels_are_shown_without_their_secrets() -> None:
    from swflow.domain.agency.people_admin import channel_shown

    shown = {
        "mailto://wang:pa55word@example.org": "mailto://…@example.org",
        "mailtos://smtp.qq.com:465?user=a@qq.com&pass=x&to=b@qq.com": "mailtos://smtp.qq.com:…",
        "json://127.0.0.1:9/wang.worker": "json://127.0.0.1:…",
        "jsons://hooks.example.org/agency/abc123": "jsons://hooks.example.org/…",
        "wecombot://BOT-KEY-123": "wecombot://…",
        "dingtalk://token/secret": "dingtalk://…",
        "form://user:pw@[fe80::1]/x": "form://…@[fe80::1]/…",
    }
    assert {url: channel_shown(url) for url in shown} == shown
