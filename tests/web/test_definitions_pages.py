"""模板与量表 on the web (issue 17, web part 2), as a director (机构负责人) does it: copy one of swflow's
templates under a new id, break it and see the problem at its place with the text kept, fix it, save;
the new template is the agency's in the catalogue and on the launch page, its save an event of the web
door. A manager reads the catalogue and a template but is refused the editor (GET and POST); a worker is
refused the pages; an upload too long or not UTF-8 is said, nothing saved."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from swflow.domain.agency.definitions_admin import MOST_CHARS, draft_copy

from ..unit._support import DIRECTOR, MANAGER, WORKER
from .conftest import DESKTOP, PHONE, sign_in
from .test_gates import events
from .test_people_admin import signed_in_as, via

SOURCE = "elderly-care-brief"
NEW_ID = "our-elderly"
TITLE_LINE = "title: 社区老年人照顾服务（简版）\n"


@pytest.mark.browser
def test_director_copies_a_template_fixes_a_problem_and_saves_it(
    web: str, give_password: Callable[[str], str], browser: Any, shots: Callable[..., Path], web_home: Path
) -> None:
    give_password(DIRECTOR)
    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, DIRECTOR)
    page.goto(f"{web}/definitions")
    assert page.locator("#agency-folder").count() == 1
    page.click(f"tr[data-kind=templates][data-id={SOURCE}] a")
    assert page.url.endswith(f"/definitions/templates/{SOURCE}")
    assert "督导" in page.inner_text("#stage-assessment") and "10 个工作日" in page.inner_text("#stage-assessment")
    page.fill("#new_id", NEW_ID)
    with page.expect_navigation():
        page.click("#copy")
    typed = page.input_value("#text")
    assert f"id: {NEW_ID}" in typed and "version: 1" in typed and TITLE_LINE in typed
    assert not (web_home / "definitions" / "templates").exists()  # a copy is only a draft

    broken = typed.replace(TITLE_LINE, "", 1)  # the required title cleared
    page.fill("#text", broken)
    with page.expect_navigation():
        page.click("#check")
    assert "title：必填" in page.inner_text("#problems")
    assert page.input_value("#text").replace("\r\n", "\n") == broken  # as typed
    shots(page, "definition-problems-phone")
    with page.expect_navigation():
        page.click("#save")
    assert "没有保存" in page.inner_text("#problems") and events("definition.saved") == []

    page.fill("#text", typed.replace("duration_days: 10", "duration_days: 12", 1))
    with page.expect_navigation():
        page.click("#check")
    assert f"有效：模板 {NEW_ID} v1" in page.inner_text("#checked")
    with page.expect_navigation():
        page.click("#save")
    assert page.url.endswith(f"/definitions/templates/{NEW_ID}?saved=1")
    assert "新项目将使用此版本；进行中的项目仍按启动时的版本" in page.inner_text("#notice")
    assert "12 个工作日" in page.inner_text("#stage-assessment") and "本机构" in page.inner_text("#source")
    [saved] = events("definition.saved")
    assert (saved["actor"], via(saved), saved["payload"]["id"]) == (DIRECTOR, "web", NEW_ID)

    page.set_viewport_size(DESKTOP)
    page.goto(f"{web}/definitions")
    assert "本机构：our-elderly.yaml" in page.inner_text(f"tr[data-kind=templates][data-id={NEW_ID}] .source")
    shots(page, "definitions-desktop")
    page.goto(f"{web}/projects/new?template={NEW_ID}")
    assert page.locator(f"#template option[value={NEW_ID}]").count() == 1
    assert "12 个工作日" in page.inner_text(f"#template-{NEW_ID}")


@pytest.mark.browser
def test_a_manager_reads_but_cannot_edit_and_a_worker_is_refused(
    web: str, give_password: Callable[[str], str], browser: Any, shots: Callable[..., Path], web_home: Path
) -> None:
    for who in (MANAGER, WORKER):
        give_password(who)
    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, MANAGER)
    page.goto(f"{web}/definitions")
    assert page.locator("#agency-folder").count() == 0 and page.locator("form.def-new").count() == 0
    assert page.locator("tr[data-kind=escalation][data-id=default]").count() == 1
    shots(page, "definitions-manager-phone")
    page.goto(f"{web}/definitions/templates/{SOURCE}")
    assert page.locator("#edit").count() == 0 and page.locator("#copy").count() == 0
    page.click("#view-source")
    assert f"id: {SOURCE}" in page.inner_text("#definition-text")
    answer = page.goto(f"{web}/definitions/templates/{SOURCE}/edit")
    assert answer is not None and answer.status == 403 and "只有机构负责人可以" in page.inner_text("main")
    assert page.goto(f"{web}/definitions/templates/no-such").status == 404  # type: ignore[union-attr]
    assert page.goto(f"{web}/definitions/nonsense/x/source").status == 404  # type: ignore[union-attr]

    text = (Path(__file__).resolve().parents[2] / "config" / "templates" / f"{SOURCE}.yaml").read_text()
    with signed_in_as(web, MANAGER) as (client, csrf):  # with this session's own token: still refused
        for path in (f"/definitions/templates/{SOURCE}/edit", "/definitions/templates/new"):
            for do in ("check", "save"):  # even a check, which writes nothing, is the director's
                answer = client.post(path, data={"csrf": csrf, "do": do}, files={"text": (None, text)})
                assert answer.status_code == 403 and "只有机构负责人可以" in answer.text
    with signed_in_as(web, WORKER) as (client, _):
        for path in ("/definitions", f"/definitions/templates/{SOURCE}", "/definitions/escalation/default/source"):
            assert client.get(path).status_code == 403
    assert not (web_home / "definitions").exists() and events("definition.saved") == []


def test_an_upload_takes_the_textareas_place_and_a_bad_one_is_said_unsaved(
    web: str, give_password: Callable[[str], str], web_home: Path
) -> None:
    give_password(DIRECTOR)
    path = "/definitions/scorecards/new"
    with signed_in_as(web, DIRECTOR) as (client, csrf):
        typed = {"csrf": csrf, "do": "save", "text": "id: kept-as-typed\n"}
        answer = client.post(path, data=typed, files={"upload": ("card.yaml", "标题".encode("gbk"))})
        assert answer.status_code == 400 and "card.yaml 不是 UTF-8 编码的文本" in answer.text
        assert "id: kept-as-typed" in answer.text
        answer = client.post(path, data=typed, files={"upload": ("big.yaml", b"# " + b"x" * MOST_CHARS)})
        assert answer.status_code == 400 and f"超过 {MOST_CHARS} 字节" in answer.text
        answer = client.post(path, data=typed, files={"upload": ("huge.yaml", b"x" * (5 * MOST_CHARS))})
        assert answer.status_code == 400 and "一次提交不能超过" in answer.text
        answer = client.post(path, data=typed, files={"upload": ("empty.yaml", b"")})
        assert answer.status_code == 400 and "empty.yaml 是空文件" in answer.text
        answer = client.post(path, data={**typed, "do": "check"})  # no file: the textarea's text is checked
        assert answer.status_code == 400 and "version" in answer.text and "id: kept-as-typed" in answer.text
        answer = client.post(path, data={"do": "save", "text": "x"}, files={"upload": ("a.yaml", b"")})
        assert answer.status_code == 403 and "安全令牌" in answer.text
        assert not (web_home / "definitions").exists() and events("definition.saved") == []

        answer = client.get(f"/definitions/templates/new?from={SOURCE}&new_id=Bad_Id")
        assert answer.status_code == 400 and 'id="new_id" name="new_id" value="Bad_Id"' in answer.text
        edit = client.get(f"/definitions/templates/{SOURCE}/edit").text  # swflow's: the next version
        assert f"id: {SOURCE}" in edit and "version: 2" in edit
        card = draft_copy(DIRECTOR, "scorecards", "default", "our-card")  # any kind: a scorecard uploaded
        answer = client.post(path, data=typed, files={"upload": ("our-card.yaml", card.encode())})
        assert (answer.status_code, answer.headers["location"]) == (
            303,
            "/definitions/scorecards/our-card/source?saved=1",
        )
        shown = client.get(answer.headers["location"]).text
        assert "已保存记分卡 our-card v1，新项目将使用此版本" in shown and "本机构：our-card.yaml" in shown
        (web_home / "definitions" / "escalation").mkdir(parents=True)
        (web_home / "definitions" / "escalation" / "bad.yaml").write_text("id: bad\n", encoding="utf-8")
        shown = client.get("/definitions")  # a broken file in the agency's folder: said, not a failure
        assert shown.status_code == 200 and "本机构的升级策略文件有问题" in shown.text and "our-card" in shown.text
    assert [e["payload"]["id"] for e in events("definition.saved")] == ["our-card"]
