"""服务对象 on the web (issue 17, part 5): a worker registers a person served with the consent given, the
same person registered again gets the duplicate warning the CLI gives and nothing is written until they
choose; a worker outside the person's circle learns no id from the warning and sees the record masked;
bad fields are named at their fields with nothing written; an act the domain refuses is refused. Every
act is the signed-in person's, through the web door."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from swflow.domain.registry.people_queries import find_people
from swflow.forms_spec import MASK

from ..unit._support import DIRECTOR, SECOND_WORKER, WORKER
from .conftest import DESKTOP, PHONE, sign_in
from .test_gates import events
from .test_people_admin import event_count, signed_in_as, via

OUTSIDER = "qian.worker"  # a worker on no project of these tests
NAME, PHONE_NO, ADDRESS, NOTES = "王秀英", "13800138000", "幸福路 1 号", "独居，需每周电话问候"


def _fill(page: Any, birth_year: str = "1944") -> None:
    page.goto(page.url.split("/registry")[0] + "/registry/people/new")
    page.fill("#name", NAME)
    page.check("input[name=gender][value=female]")
    page.fill("#birth_year", birth_year)
    page.fill("#phone", PHONE_NO)
    page.fill("#address", ADDRESS)
    page.check("input[name=tags][value=living_alone]")
    page.fill("#notes", NOTES)
    page.check("input[name=consent][value=registration]")


def _register_first(browser: Any, web: str, viewport: dict[str, int] = PHONE) -> tuple[Any, int]:
    page = browser.new_page(viewport=viewport)
    sign_in(page, web, WORKER)
    page.goto(f"{web}/registry")
    _fill(page)
    page.click("#register")
    page.wait_for_url("**/registry/people/*?saved=registered")
    return page, int(page.url.split("/registry/people/")[1].split("?")[0])


@pytest.mark.browser
def test_a_worker_registers_with_consent_then_gets_the_duplicate_warning(
    web: str, give_password: Callable[[str], str], browser: Any, shots: Callable[..., Any]
) -> None:
    give_password(WORKER)
    page, served = _register_first(browser, web)

    assert page.inner_text("#v-name") == NAME and page.inner_text("#v-address") == ADDRESS
    assert "登记本人信息，建立服务档案" in page.inner_text("#consents")
    registered, consent = events("person.registered")[-1], events("consent.given")[-1]
    assert registered["actor"] == WORKER and via(registered) == "web"
    assert consent["actor"] == WORKER and via(consent) == "web" and consent["payload"]["purpose"] == "registration"
    shots(page, "registry-person-phone")

    before = event_count()
    _fill(page)
    page.click("#register")
    warning = page.inner_text("#duplicate")
    assert f"服务对象 #{served} 的姓名、出生年份和电话与本次登记相同" in warning and "未登记" in warning
    assert page.input_value("#address") == ADDRESS  # what was typed is kept
    assert event_count() == before and len(find_people(DIRECTOR, name=NAME)) == 1  # nothing written yet
    shots(page, "registry-duplicate-phone")

    page.click(f"#merge-{served}")  # the confirm step: the same person
    page.wait_for_url(f"**/registry/people/{served}?saved=merged")
    merged = events("person.registration_merged")[-1]
    assert merged["actor"] == WORKER and via(merged) == "web"
    assert len(find_people(DIRECTOR, name=NAME)) == 1


@pytest.mark.browser
def test_a_worker_outside_the_circle_learns_no_id_and_sees_masks(
    web: str, give_password: Callable[[str], str], browser: Any, shots: Callable[..., Any]
) -> None:
    give_password(WORKER)
    give_password(SECOND_WORKER)
    first, served = _register_first(browser, web)
    first.close()

    page = browser.new_page(viewport=DESKTOP)
    sign_in(page, web, SECOND_WORKER)
    page.goto(f"{web}/registry?name=秀英")
    assert page.inner_text("#found-count").endswith("找到 0 人。")  # not in their circle: not found
    before = event_count()
    _fill(page)
    page.click("#register")
    warning = page.inner_text("#duplicate")
    assert "不在您的知悉范围内" in warning and f"#{served}" not in page.content()
    assert page.locator(f"#merge-{served}").count() == 0 and event_count() == before

    page.goto(f"{web}/registry/people/{served}")
    for name in ("name", "phone", "address", "tags", "notes"):
        assert page.inner_text(f"#v-{name}") == MASK, name
    assert page.inner_text("#v-projects") == MASK
    html = page.content()
    for secret in (NAME, PHONE_NO, ADDRESS, NOTES, "独居"):
        assert secret not in html, secret
    assert page.inner_text("#v-birth_year") == "1944"  # what is not sensitive is shown
    viewed = events("person.viewed")[-1]
    assert viewed["actor"] == SECOND_WORKER and via(viewed) == "web" and viewed["payload"]["masked"] is True
    assert page.locator("#add-consent").count() == 0
    shots(page, "registry-masked-desktop")

    with signed_in_as(web, SECOND_WORKER) as (client, csrf):  # the act itself is refused, not only hidden
        before = event_count()
        answer = client.post(f"/registry/people/{served}/consent", data={"csrf": csrf, "purpose": "referral"})
        assert answer.status_code == 403 and "知悉范围" in answer.text
        assert event_count() == before


@pytest.mark.browser
def test_bad_fields_are_named_at_their_fields_and_nothing_is_written(
    web: str, give_password: Callable[[str], str], browser: Any, shots: Callable[..., Any]
) -> None:
    give_password(WORKER)
    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, WORKER)
    page.goto(f"{web}/registry")
    before = event_count()
    page.goto(f"{web}/registry/people/new")
    page.fill("#name", NAME)
    page.fill("#birth_year", "一九四四")
    page.fill("#phone", "电话")
    page.fill("#address", ADDRESS)
    page.click("#register")

    for field in ("gender", "birth_year", "phone"):
        assert page.locator(f"#w-{field} .field-error").count() >= 1, field
    assert page.input_value("#name") == NAME and page.input_value("#address") == ADDRESS
    assert page.input_value("#birth_year") == "一九四四"
    assert event_count() == before and find_people(DIRECTOR, name=NAME) == []
    shots(page, "registry-refused-phone")

    page.fill("#birth_year", "2030")  # the domain's own rule, at its field
    page.check("input[name=gender][value=female]")
    page.fill("#phone", PHONE_NO)
    page.click("#register")
    assert "不能晚于 2026" in page.inner_text("#w-birth_year")
    assert event_count() == before


@pytest.mark.browser
def test_search_needs_a_year_and_registering_for_a_project_not_ones_own_is_refused_at_its_field(
    web: str, give_password: Callable[[str], str], browser: Any, project_id: str
) -> None:
    give_password(OUTSIDER)
    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, OUTSIDER)
    page.goto(f"{web}/registry?birth_year=abc")
    assert "四位数" in page.inner_text("#w-birth_year")
    before = event_count()
    _fill(page)
    page.fill("#project", project_id)
    page.click("#register")
    assert "团队成员" in page.inner_text("#w-project")  # the domain's refusal, at the field it concerns
    assert page.input_value("#notes") == NOTES and event_count() == before
    assert find_people(DIRECTOR, name=NAME) == []
