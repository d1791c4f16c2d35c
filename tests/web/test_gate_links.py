"""Deciding a gate with the one-tap link of the approval request (no sign-in). Every refusal is a
sentence on the page and a recorded `link.refused` with no decision written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from swflow import domain
from swflow.config.settings import get_settings

from ..unit._support import NOW, SUPERVISOR, WORKER
from .conftest import DESKTOP, PHONE
from .test_gates import (
    OTHER_SUPERVISOR,
    SECRET_CASE,
    decide_links,
    decisions,
    events,
    hidden,
    post_link,
    refusals,
    signed_in_client,
    token_of,
)

# --- the one-tap link ------------------------------------------------------------------------------------------


@pytest.mark.browser
def test_supervisor_approves_with_the_link_from_the_message_without_signing_in(
    web: str, awaiting_assessment: str, browser: Any, shots: Callable[..., Path]
) -> None:
    [link] = decide_links(awaiting_assessment)
    assert link.startswith(f"{get_settings().link_base}/l/")
    page = browser.new_page(viewport=PHONE)
    page.goto(link)
    assert page.locator("h1").inner_text() == "一键审核"
    assert "需求评估" in page.inner_text("body") and SECRET_CASE not in page.inner_text("body")
    shots(page, "link-phone")
    page.set_viewport_size(DESKTOP)
    shots(page, "link-desktop")
    assert decisions(awaiting_assessment) == []  # opening it decided nothing

    page.click("#approve")

    assert page.locator("h1").inner_text() == "已记录您的决定"
    assert decisions(awaiting_assessment) == [(1, "approve", SUPERVISOR, None)]
    [decided] = events("gate.decided")
    assert decided["actor"] == SUPERVISOR and decided["via"]["door"] == "link" and decided["via"]["link"]


def test_opening_a_link_again_and_again_acts_on_nothing(web: str, awaiting_assessment: str) -> None:
    [link] = decide_links(awaiting_assessment)
    with httpx.Client() as scanner:  # a mail scanner opens every link it sees
        for _ in range(3):
            assert scanner.get(link).status_code == 200
    assert decisions(awaiting_assessment) == [] and refusals() == []
    assert domain.project_status(awaiting_assessment)["stages"][0]["status"] == "awaiting_decision"


def test_a_link_decides_as_its_person_whatever_the_form_says(web: str, awaiting_assessment: str) -> None:
    [link] = decide_links(awaiting_assessment)
    with httpx.Client(base_url=web) as client:
        done = post_link(client, link, outcome="return", comment="请补充名册", person_id=OTHER_SUPERVISOR)
    assert done.status_code == 200 and "已记录您的决定" in done.text
    assert decisions(awaiting_assessment) == [(1, "return", SUPERVISOR, None)]


def test_a_forwarded_link_is_refused_for_the_signed_in_colleague(
    web: str, awaiting_assessment: str, give_password: Callable[[str], str]
) -> None:
    [link] = decide_links(awaiting_assessment)
    give_password(OTHER_SUPERVISOR)
    with signed_in_client(web, OTHER_SUPERVISOR) as colleague:
        opened = colleague.get(f"/l/{token_of(link)}")
        assert opened.status_code == 403 and "发给另一位人员" in opened.text
        page = page_token_of(link)
        used = colleague.post(f"/l/{token_of(link)}", data={"page": page, "outcome": "approve"})
    assert used.status_code == 403 and "发给另一位人员" in used.text
    assert decisions(awaiting_assessment) == []
    assert [e["actor"] for e in events("link.refused")] == [OTHER_SUPERVISOR, OTHER_SUPERVISOR]
    assert all(e["via"]["door"] == "link" for e in events("link.refused"))


def page_token_of(link: str) -> str:
    from swflow.app.web.link_routes import page_token

    return page_token(token_of(link))


def test_a_link_of_a_round_since_returned_is_refused(
    web: str, awaiting_assessment: str, sample_forms: dict[str, Any]
) -> None:
    [first] = decide_links(awaiting_assessment)
    decided = domain.record_decision(awaiting_assessment, "assessment", SUPERVISOR, "return", "请补充名册", NOW)
    attempt = domain.read_gate(awaiting_assessment, "assessment").attempt
    domain.apply_gate_reply(awaiting_assessment, "assessment", attempt, decided.decision_id, NOW)
    domain.submit_form(awaiting_assessment, "needs-assessment", WORKER, sample_forms["needs-assessment"], NOW)
    with httpx.Client(base_url=web) as client:
        refused = client.post(f"/l/{token_of(first)}", data={"page": page_token_of(first), "outcome": "approve"})
        assert refused.status_code == 403 and "已被退回修改（现为第 2 轮）" in refused.text
        [_, second] = decide_links(awaiting_assessment)
        assert post_link(client, second, outcome="approve").status_code == 200  # the new round's link works
    assert decisions(awaiting_assessment) == [(1, "return", SUPERVISOR, None), (2, "approve", SUPERVISOR, None)]
    assert len(refusals()) == 1 and "退回修改" in refusals()[0]


def test_a_link_after_the_gate_was_decided_is_refused(web: str, awaiting_assessment: str) -> None:
    [link] = decide_links(awaiting_assessment)
    domain.record_decision(awaiting_assessment, "assessment", SUPERVISOR, "approve", "", NOW)  # on the gate page
    with httpx.Client(base_url=web) as client:
        opened = client.get(f"/l/{token_of(link)}")
        used = client.post(f"/l/{token_of(link)}", data={"page": page_token_of(link), "outcome": "return"})
    assert opened.status_code == used.status_code == 403 and "已有决定" in used.text
    assert decisions(awaiting_assessment) == [(1, "approve", SUPERVISOR, None)]
    assert len(refusals()) == 2 and all("已有决定" in r for r in refusals())


def test_a_used_link_cannot_be_replayed(web: str, awaiting_assessment: str) -> None:
    [link] = decide_links(awaiting_assessment)
    with httpx.Client(base_url=web) as client:
        page = hidden(client.get(f"/l/{token_of(link)}").text, "page")
        assert client.post(f"/l/{token_of(link)}", data={"page": page, "outcome": "approve"}).status_code == 200
        replay = client.post(f"/l/{token_of(link)}", data={"page": page, "outcome": "approve"})
    assert replay.status_code == 403 and "已经用过" in replay.text
    assert decisions(awaiting_assessment) == [(1, "approve", SUPERVISOR, None)]
    assert refusals() == ["链接已经用过，每条链接只能用一次"]


def test_a_link_with_one_character_changed_is_refused(web: str, awaiting_assessment: str) -> None:
    [link] = decide_links(awaiting_assessment)
    token = token_of(link)
    tampered = ("f" if token[0] != "f" else "g") + token[1:]
    with httpx.Client(base_url=web) as client:
        opened = client.get(f"/l/{tampered}")
        used = client.post(f"/l/{tampered}", data={"page": page_token_of(f"/l/{tampered}"), "outcome": "approve"})
    assert opened.status_code == used.status_code == 403 and "链接无效" in used.text
    assert decisions(awaiting_assessment) == []
    assert [(e["actor"], e["payload"]["link"]) for e in events("link.refused")] == [("unknown", None)] * 2


def test_an_expired_link_is_refused(web: str, awaiting_assessment: str, monkeypatch: pytest.MonkeyPatch) -> None:
    [link] = decide_links(awaiting_assessment)
    page = page_token_of(link)
    monkeypatch.setenv("SWFLOW_NOW", (NOW + timedelta(hours=get_settings().link_hours, minutes=1)).isoformat())
    with httpx.Client(base_url=web) as client:
        opened = client.get(f"/l/{token_of(link)}")
        used = client.post(f"/l/{token_of(link)}", data={"page": page, "outcome": "approve"})
    assert opened.status_code == used.status_code == 403 and "已过期" in used.text
    assert decisions(awaiting_assessment) == []
    assert refusals() == ["链接已过期，请重新申请"] * 2


def test_a_link_post_without_its_page_token_is_refused(web: str, awaiting_assessment: str) -> None:
    [link] = decide_links(awaiting_assessment)
    with httpx.Client(base_url=web) as client:
        refused = client.post(f"/l/{token_of(link)}", data={"outcome": "approve"})
    assert refused.status_code == 403 and "页面令牌" in refused.text
    assert decisions(awaiting_assessment) == []
