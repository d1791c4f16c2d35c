"""社区组织与资源链接、志愿者、转介 on the web (issue 17, part 5, second half): a worker adds an organisation and
a resource link, records a volunteer's training and downloads the certificate the CLI writes (hours from the
activity records), opens a referral and adds a follow-up; bad input is named at its field with nothing
written; one outside the person's circle sees the referral masked and cannot follow it up. Every act is the
signed-in person's, through the web door."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from swflow.domain import registry
from swflow.forms_spec import MASK

from ..unit._registry import execution_project, person, record_activity, volunteer
from ..unit._support import WORKER
from .conftest import DESKTOP, PHONE, sign_in
from .test_gates import events
from .test_people_admin import event_count, signed_in_as, via

OUTSIDER = "qian.worker"  # a worker on no project of these tests
REASON = "独居老人，近期跌倒两次，需要居家照护评估"


def _page(browser: Any, web: str, who: str, viewport: dict[str, int], downloads: bool = False) -> Any:
    page = browser.new_context(viewport=viewport, accept_downloads=downloads).new_page()
    sign_in(page, web, who)
    page.wait_for_url(f"{web}/**")
    return page


@pytest.mark.browser
def test_a_worker_adds_an_organisation_and_a_resource_link_and_bad_input_is_refused_at_its_field(
    web: str, give_password: Callable[[str], str], browser: Any, project_id: str, shots: Callable[..., Any]
) -> None:
    give_password(WORKER)
    page = _page(browser, web, WORKER, PHONE)
    page.goto(f"{web}/registry/orgs")
    page.click("text=登记社区组织或单位")
    page.fill("#org-name", "幸福里物业服务中心")
    page.select_option("#org-kind", "property_company")
    page.fill("#org-contact_phone", "021-5555 0001")
    page.fill("#org-offers", "活动场地、便民维修")
    page.click("#add-org")
    page.wait_for_url("**/registry/orgs?saved=org")
    assert "幸福里物业服务中心" in page.inner_text("#orgs") and "物业服务企业" in page.inner_text("#orgs")
    added = events("organisation.registered")[-1]
    assert added["actor"] == WORKER and via(added) == "web"
    org = registry.list_organisations()[-1]["id"]

    before = event_count()  # a link without its need: refused at the field, what was typed kept, nothing written
    page.click("text=记录一次资源链接")
    page.fill("#link-project", project_id)
    page.select_option("#link-org", str(org))
    page.fill("#link-resource", "物业活动室每周二下午")
    page.select_option("#link-method", "resource_integration")
    page.click("#add-link")
    assert page.locator("#w-link-need .field-error").count() == 1
    assert (
        page.input_value("#link-resource") == "物业活动室每周二下午" and page.input_value("#link-project") == project_id
    )
    assert event_count() == before and registry.list_links() == []
    shots(page, "registry-link-refused-phone")

    page.fill("#link-need", "老人缺少室内活动场地")
    page.click("#add-link")
    page.wait_for_url("**/registry/orgs?saved=link*")
    linked = events("resource.linked")[-1]
    assert linked["actor"] == WORKER and via(linked) == "web" and linked["payload"]["organisation"] == org
    assert "物业活动室每周二下午" in page.inner_text("#links")
    shots(page, "registry-orgs-phone")


@pytest.mark.browser
def test_a_volunteers_training_is_recorded_and_the_certificate_downloaded(
    web: str,
    give_password: Callable[[str], str],
    browser: Any,
    launch: Callable[..., str],
    sample_forms: dict[str, Any],
    shots: Callable[..., Any],
    tmp_path: Path,
) -> None:
    project = execution_project(launch, sample_forms)
    liu = volunteer()  # hours come from the activity records, as in the CLI's test
    record_activity(project, "a1", sample_forms, volunteers=[(liu, 2.5)])
    record_activity(project, "a2", sample_forms, volunteers=[(liu, 1.5)], activity_date="2025-04-10", title="结对探访")
    give_password(WORKER)
    page = _page(browser, web, WORKER, DESKTOP, downloads=True)
    page.goto(f"{web}/registry/volunteers")
    assert page.inner_text(f"tr[data-volunteer='{liu}'] .hours") == "4 小时"
    page.click(f"tr[data-volunteer='{liu}'] a >> nth=0")
    assert page.inner_text("#total-hours") == "4 小时" and "结对探访" in page.inner_text("section#hours")

    before = event_count()
    page.fill("#t-course", "探访技巧与安全")
    page.fill("#t-date", "2026-03-01")
    page.fill("#t-hours", "三")
    page.click("#add-training")
    assert "数字" in page.inner_text("#w-hours") and page.input_value("#t-course") == "探访技巧与安全"
    assert event_count() == before
    page.fill("#t-hours", "3")
    page.click("#add-training")
    page.wait_for_url(f"**/registry/volunteers/{liu}?saved=training")
    assert "探访技巧与安全" in page.inner_text("#trainings")
    trained = events("volunteer.trained")[-1]
    assert trained["actor"] == WORKER and via(trained) == "web"
    shots(page, "registry-volunteer-desktop")

    with page.expect_download() as waiting:
        page.click("#certificate")
    download = waiting.value
    path = tmp_path / "certificate.html"
    download.save_as(path)
    html = path.read_text(encoding="utf-8")
    assert download.suggested_filename == f"ZY2026-{liu:05d}-01.html"
    assert "刘志愿" in html and '<span class="total">4 小时</span>' in html and "探访技巧与安全" in html
    assert "13900000001" not in html  # no phone on a certificate
    issued = events("volunteer.certificate_issued")[-1]
    assert issued["actor"] == WORKER and via(issued) == "web" and issued["payload"]["hours"] == 4


@pytest.mark.browser
def test_a_referral_gets_a_follow_up_and_is_masked_outside_the_circle(
    web: str, give_password: Callable[[str], str], browser: Any, project_id: str, shots: Callable[..., Any]
) -> None:
    served = person(project=project_id, consents=("registration", "referral"))
    give_password(WORKER)
    give_password(OUTSIDER)
    page = _page(browser, web, WORKER, PHONE)
    page.goto(f"{web}/registry/referrals")
    page.click("text=转介服务对象")
    page.fill("#person", str(served))
    page.fill("#service", "居家养老上门服务")
    page.fill("#agency", "街道居家养老服务中心")
    page.fill("#reason", REASON)
    page.click("#open-referral")
    page.wait_for_url("**/registry/referrals/*?saved=referral")
    referral = int(page.url.split("/registry/referrals/")[1].split("?")[0])
    opened = events("referral.opened")[-1]
    assert opened["actor"] == WORKER and via(opened) == "web"
    assert page.inner_text("#v-reason") == REASON and "王秀英" in page.inner_text("#v-person")

    before = event_count()  # a follow-up without a note: refused at its field, nothing written
    page.select_option("#status", "accepted")
    page.click("#add-follow-up")
    assert page.locator("#w-note .field-error").count() == 1 and event_count() == before
    page.fill("#note", "接收机构已电话确认接收，下周上门评估")
    page.click("#add-follow-up")
    page.wait_for_url(f"**/registry/referrals/{referral}?saved=follow")
    assert "下周上门评估" in page.inner_text("#follow-ups") and "已接收" in page.inner_text("h1")
    followed = events("referral.followed_up")[-1]
    assert followed["actor"] == WORKER and via(followed) == "web" and followed["payload"]["status"] == "accepted"
    shots(page, "registry-referral-phone")

    other = _page(browser, web, OUTSIDER, DESKTOP)
    other.goto(f"{web}/registry/referrals")
    row = other.inner_text(f"tr[data-referral='{referral}']")
    assert MASK in row and "王秀英" not in row
    other.goto(f"{web}/registry/referrals/{referral}")
    assert other.inner_text("#v-reason") == MASK and MASK in other.inner_text("#v-person")
    html = other.content()
    for secret in (REASON, "王秀英", "下周上门评估"):
        assert secret not in html, secret
    assert other.locator("#add-follow-up").count() == 0
    shots(other, "registry-referral-masked-desktop")
    with signed_in_as(web, OUTSIDER) as (client, csrf):  # the act itself is refused, not only hidden
        before = event_count()
        answer = client.post(f"/registry/referrals/{referral}/follow-up", data={"csrf": csrf, "note": "试图跟进"})
        assert answer.status_code == 403 and "知悉范围" in answer.text
        assert event_count() == before
