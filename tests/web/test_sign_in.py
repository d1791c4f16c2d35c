"""Signing in and out, as the people who use swflow do it — in a browser on a phone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from swflow import domain

from ..unit._support import WORKER
from .conftest import PHONE, sign_in


def events(kind: str) -> list[dict[str, Any]]:
    from swflow.db import read_session
    from swflow.db.tables import Event

    with read_session() as session:
        return [
            {"actor": e.actor, "payload": e.payload, "via": e.via} for e in session.query(Event).filter_by(kind=kind)
        ]


@pytest.mark.browser
def test_worker_signs_in_on_a_phone_and_sees_the_inbox(
    web: str, awaiting_assessment: str, give_password: Callable[[str], str], browser: Any, shots: Callable[..., Path]
) -> None:
    give_password(WORKER)
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{web}/")
    assert "/login" in page.url  # the inbox needs a session
    shots(page, "login-phone")
    sign_in(page, web, WORKER)
    assert page.locator("h1").inner_text() == "我的待办"
    shots(page, "inbox-phone")
    assert events("account.signed_in")[-1]["actor"] == WORKER


def test_a_wrong_password_is_refused_recorded_and_then_slowed(web: str, give_password: Callable[[str], str]) -> None:
    give_password(WORKER)
    with httpx.Client(base_url=web) as client:
        for _ in range(3):
            refused = client.post("/login", data={"person_id": WORKER, "password": "wrong-password"})
            assert refused.status_code == 401 and "账号或密码不正确" in refused.text
        slowed = client.post("/login", data={"person_id": WORKER, "password": "幸福社区-2026-长密码"})
        assert slowed.status_code == 401 and "秒后再试" in slowed.text
    assert [e["payload"]["in_a_row"] for e in events("account.sign_in_failed")] == [1, 2, 3]


def test_a_post_without_the_csrf_token_is_refused(web: str, give_password: Callable[[str], str]) -> None:
    give_password(WORKER)
    with httpx.Client(base_url=web) as client:
        client.post("/login", data={"person_id": WORKER, "password": "幸福社区-2026-长密码"})
        refused = client.post("/logout", data={})
        assert refused.status_code == 403 and "安全令牌" in refused.text


def test_a_signed_out_sessions_cookie_is_refused(web: str, give_password: Callable[[str], str]) -> None:
    give_password(WORKER)
    with httpx.Client(base_url=web) as client:
        client.post("/login", data={"person_id": WORKER, "password": "幸福社区-2026-长密码"})
        cookie = dict(client.cookies)
        page = client.get("/")
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        client.post("/logout", data={"csrf": csrf})
    with httpx.Client(base_url=web, cookies=cookie) as replay:
        assert replay.get("/", follow_redirects=False).status_code == 303


def test_a_deactivated_person_is_signed_out_everywhere(web: str, give_password: Callable[[str], str]) -> None:
    from swflow.config.clock import system_clock

    give_password(WORKER)
    with httpx.Client(base_url=web) as client:
        client.post("/login", data={"person_id": WORKER, "password": "幸福社区-2026-长密码"})
        assert client.get("/", follow_redirects=False).status_code == 200
        person = domain.PeopleFile.model_validate({"people": [_record(WORKER)]}).people[0]
        domain.import_people([person.model_copy(update={"active": False})], "test", system_clock())
        assert client.get("/", follow_redirects=False).status_code == 303


def _record(person_id: str) -> dict[str, Any]:
    from swflow.db import read_session
    from swflow.db.tables import Person

    with read_session() as session:
        p = session.get_one(Person, person_id)
        return {"id": p.id, "name": p.name, "roles": p.roles, "qualifications": p.qualifications, "notify": p.notify}
