"""A director confirms a deciding role through the link the import sent them (issue 20, part 4):
opening it grants nothing; the page's button does, once, recorded as the director's act (via link)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from swflow import domain
from swflow.db import read_session
from swflow.db.tables import Event
from swflow.domain.agency.grants import import_people_held
from swflow.domain.people.records import list_people

from ..unit._support import DIRECTOR, NOW, WORKER
from .conftest import PHONE


@pytest.mark.browser
def test_the_director_confirms_the_role_on_the_link_page(
    web: str, people: list[domain.PersonRecord], page: Any, shots: Callable[..., Path]
) -> None:
    promoted = next(p for p in people if p.id == WORKER).model_copy(update={"roles": ["worker", "supervisor"]})
    [url] = import_people_held([promoted], "cli:operator", NOW).links
    path = "/" + url.split("/", 3)[3]
    page.set_viewport_size(PHONE)
    page.goto(web + path)
    shots(page, "grant-phone")
    assert "确认角色授予" in page.title() and "cli:operator" in page.content() and "督导" in page.content()
    roles = {p["id"]: p["roles"] for p in list_people()}
    assert roles[WORKER] == ["worker"]  # opening the page gave nothing
    with page.expect_navigation():
        page.click("#confirm-grant")
    assert "已确认角色授予" in page.content()
    assert {p["id"]: p["roles"] for p in list_people()}[WORKER] == ["worker", "supervisor"]
    with read_session() as session:
        [event] = session.execute(select(Event).where(Event.kind == "people.roles_granted")).scalars()
        assert (event.actor, (event.via or {}).get("door"), event.payload["roles"]) == (
            DIRECTOR,
            "link",
            ["supervisor"],
        )
    again = httpx.get(web + path)
    assert again.status_code == 403 and "只能用一次" in again.text
    forged = httpx.post(web + path, data={"page": "0" * 64})
    assert forged.status_code == 403 and "页面令牌" in forged.text
