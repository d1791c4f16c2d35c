"""The acts on a person served from the record page: merge into another record (with its confirm step showing
both), export the person's record (the CLI's JSON, as a download), forget the person (a confirm step saying what
is kept and erased). Every act is the signed-in person's, through the web door; anyone outside the person's
circle is refused with 403 and nothing is written."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from swflow.config.clock import system_clock
from swflow.domain.registry.people import Registration, register_person
from swflow.domain.registry.people_queries import export_person

from ..unit._support import WORKER
from .conftest import DESKTOP, PHONE, sign_in
from .test_gates import events
from .test_people_admin import event_count, signed_in_as, via

OUTSIDER = "qian.worker"  # a worker on no project of these tests
NAME = "李桂兰"


def events_since(count: int) -> list[dict[str, Any]]:
    from swflow.db import read_session
    from swflow.db.tables import Event

    with read_session() as session:
        return [{"kind": e.kind} for e in session.query(Event).order_by(Event.id).offset(count)]


def _registered(phone: str, **more: Any) -> int:
    data = {"name": NAME, "gender": "female", "birth_year": 1940, "phone": phone, **more}
    done = register_person(Registration(data=data, not_duplicate=True), WORKER, system_clock())
    return int(done["id"])


@pytest.mark.browser
def test_a_worker_merges_one_record_into_another_after_the_confirm_step(
    web: str, give_password: Callable[[str], str], browser: Any, shots: Callable[..., Any]
) -> None:
    give_password(WORKER)
    keep, other = _registered("13900000001"), _registered("13900000002", address="和平里 3 号")
    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, WORKER)

    page.goto(f"{web}/registry/people/{other}")
    before = event_count()
    page.fill("#merge-into", str(other))  # into itself: the domain's refusal, at the field
    page.click("#merge")
    page.click("#confirm-merge")
    assert "不能把一条记录合并进它自己" in page.inner_text("#w-merge")
    assert events("person.merged") == events("person.merged_into") == []
    assert {e["kind"] for e in events_since(before)} == {"person.viewed"}  # only the pages' views are recorded

    page.fill("#merge-into", str(keep))
    page.click("#merge")
    assert NAME in page.inner_text("#merge-this") and "和平里 3 号" in page.inner_text("#merge-this")
    assert f"服务对象 #{keep}" in page.inner_text("#merge-other") and "13900000001" in page.inner_text("#merge-other")
    shots(page, "registry-merge-confirm-phone")
    page.click("#confirm-merge")
    page.wait_for_url(f"**/registry/people/{other}")
    assert f"#{other} 已合并进本记录" in page.inner_text("main")
    assert page.inner_text("#v-address") == "和平里 3 号"  # the gap filled from the merged record
    merged, merged_into = events("person.merged")[-1], events("person.merged_into")[-1]
    assert merged["actor"] == WORKER and via(merged) == "web" and merged["payload"]["absorbed"] == other
    assert merged_into["actor"] == WORKER and via(merged_into) == "web" and merged_into["payload"]["into"] == keep
    shots(page, "registry-merged-phone")


@pytest.mark.browser
def test_the_export_downloads_what_the_cli_writes(
    web: str, give_password: Callable[[str], str], browser: Any, shots: Callable[..., Any]
) -> None:
    give_password(WORKER)
    served = _registered("13900000003", notes="每周电话问候")
    page = browser.new_page(viewport=DESKTOP, accept_downloads=True)
    sign_in(page, web, WORKER)
    page.goto(f"{web}/registry/people/{served}")
    shots(page, "registry-acts-desktop")
    with page.expect_download() as waiting:
        page.click("#export")
    download = waiting.value
    assert download.suggested_filename == f"person-{served}.json"
    got = json.loads(open(download.path(), encoding="utf-8").read())
    exported = events("person.exported")[-1]
    assert exported["actor"] == WORKER and via(exported) == "web"

    same = json.loads(json.dumps(export_person(served, WORKER, system_clock()), ensure_ascii=False, indent=1))
    assert got["events"] == same["events"][: len(got["events"])]  # the domain's call sees the web's export too
    assert (
        got["events"][-1]["kind"] == "person.viewed" and same["events"][len(got["events"])]["kind"] == "person.exported"
    )
    assert {k: v for k, v in got.items() if k != "events"} == {k: v for k, v in same.items() if k != "events"}
    assert got["data"]["notes"] == "每周电话问候" and got["chain_intact"] is True


@pytest.mark.browser
def test_a_worker_forgets_a_person_after_the_confirm_step(
    web: str, give_password: Callable[[str], str], browser: Any, shots: Callable[..., Any]
) -> None:
    give_password(WORKER)
    served = _registered("13900000004")
    page = browser.new_page(viewport=DESKTOP)
    sign_in(page, web, WORKER)
    page.goto(f"{web}/registry/people/{served}")
    before = event_count()
    page.click("#forget")
    assert f"将删除服务对象 #{served} 的全部个人信息（没有须按期保管的服务档案）" in page.inner_text("#forget-what")
    assert event_count() == before  # the confirm step writes nothing
    shots(page, "registry-forget-confirm-desktop")
    page.click("#confirm-forget")
    assert f"已删除服务对象 #{served} 的全部个人信息" in page.inner_text("#forgotten")
    forgotten = events("person.forgotten")[-1]
    assert forgotten["actor"] == WORKER and via(forgotten) == "web" and forgotten["payload"]["mode"] == "erased"
    page.click("#back-to-record")
    assert "（已匿名化）" in page.inner_text("h1") and NAME not in page.content()
    assert page.locator("#forget").count() == 0
    page.set_viewport_size(PHONE)
    shots(page, "registry-forgotten-phone")


@pytest.mark.browser
def test_outside_the_circle_each_act_is_refused_and_nothing_written(
    web: str, give_password: Callable[[str], str], browser: Any
) -> None:
    give_password(OUTSIDER)
    keep, other = _registered("13900000005"), _registered("13900000006")
    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, OUTSIDER)
    page.goto(f"{web}/registry/people/{other}")
    assert page.locator("#record-acts").count() == 0  # not offered to one the domain does not allow

    with signed_in_as(web, OUTSIDER) as (client, csrf):
        before = event_count()
        for path, data in (
            (f"/registry/people/{other}/merge", {"csrf": csrf, "into": str(keep), "confirm": "yes"}),
            (f"/registry/people/{other}/export", {"csrf": csrf}),
            (f"/registry/people/{other}/forget", {"csrf": csrf, "confirm": "yes"}),
        ):
            answer = client.post(path, data=data)
            assert answer.status_code == 403 and "知悉范围" in answer.text, path
            assert NAME not in answer.text, path
        answer = client.get(f"/registry/people/{other}/forget")
        assert answer.status_code == 403 and "知悉范围" in answer.text
        assert event_count() == before
        assert events("person.merged") == events("person.exported") == events("person.forgotten") == []
        answer = client.post(f"/registry/people/{other}/export", data={})  # no CSRF token: refused before the act
        assert answer.status_code == 403 and event_count() == before
