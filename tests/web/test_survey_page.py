"""Issue 16 on the web: the team enters a paper questionnaire, or uploads a sheet, on the survey's page —
every bad answer or cell named and nothing recorded when anything is wrong, what was typed kept, the
person recording the signed-in one (door web); the project page links its surveys with their counts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from swflow.domain.projects.surveys import survey_report
from swflow.domain.projects.work_view import work_item_view

from ..unit._support import NOW, WORKER
from ..unit.test_survey_indicators import SAT_HEADER, satisfaction_rows, sheet
from .conftest import PHONE, sign_in
from .test_gates import events
from .test_survey_values_page import results_open  # noqa: F401  (the fixture: evaluation open, 36 answers in)


def _count(project: str, key: str) -> int:
    return int(next(s["responses"] for s in survey_report(project) if s["key"] == key))


@pytest.mark.browser
def test_a_worker_enters_a_paper_questionnaire_and_uploads_a_sheet(
    web: str,
    results_open: int,  # noqa: F811
    browser: Any,
    tmp_path: Path,
    give_password: Callable[[str], str],
    shots: Callable[..., Path],
) -> None:
    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, WORKER)
    project = work_item_view(results_open, WORKER).project_id
    page.goto(f"{web}/projects/{project}")
    page.click("text=孤独感后测")
    assert "已录入 50 份 / 目标 50 份" in page.locator(".survey-count").inner_text()
    assert "孤独感平均分 = " in page.locator(".survey-status").inner_text()

    page.fill("#respondent", "L50")
    page.fill("#answered_on", NOW.date().isoformat())
    page.check('[name="a.q1"][value="2"]')
    page.check('[name="a.q3"][value="3"]')  # q2 left out
    with page.expect_navigation():
        page.click("button.submit")
    refusal = page.locator(".problems").inner_text()
    assert "有 1 处需要修改，一份也没有录入" in refusal and "q2" in refusal and "必答" in refusal
    assert page.locator("#respondent").input_value() == "L50"  # what was typed is kept
    assert page.locator('[name="a.q3"][value="3"]').is_checked()
    assert _count(project, "lonely-post") == 50
    page.check('[name="a.q2"][value="1"]')
    with page.expect_navigation():
        page.click("button.submit")
    assert "已录入 1 份回答" in page.locator(".notice").inner_text()
    assert "已录入 51 份" in page.locator(".survey-count").inner_text()
    entered = [e for e in events("form.submitted") if e["payload"].get("form") == "survey-lonely-post"][-1]
    assert entered["payload"]["activity"] == "L50"
    assert entered["actor"] == WORKER and entered["via"]["door"] == "web"
    shots(page, "survey-page")

    page.goto(f"{web}/projects/{project}/surveys/satisfaction")
    rows = satisfaction_rows(3, 3)
    rows = [[f"X{n}", *row[1:]] for n, row in enumerate(rows)]
    rows[1][3] = 9  # content.fit out of 1–5
    path = sheet(tmp_path / "more.xlsx", SAT_HEADER, rows)
    page.set_input_files("#sheet", path)
    page.fill("#sheet-day", NOW.date().isoformat())
    with page.expect_navigation():
        page.click("button.upload")
    refusal = page.locator(".problems").inner_text()
    cell = "第 3 行（X1） › content（请为本项目的服务内容打分） › fit（活动内容符合我的需要）"
    assert f"{cell}：须是 1–5 的整数" in refusal and "一份也没有录入" in refusal
    assert _count(project, "satisfaction") == 36
    rows[1][3] = 5
    page.set_input_files("#sheet", sheet(tmp_path / "good.xlsx", SAT_HEADER, rows))
    page.fill("#sheet-day", NOW.date().isoformat())
    with page.expect_navigation():
        page.click("button.upload")
    assert "已录入 3 份回答" in page.locator(".notice").inner_text()
    assert _count(project, "satisfaction") == 39

    give_password("chen.director")  # sees every project, is not on this one's team
    other = browser.new_page(viewport=PHONE)
    sign_in(other, web, "chen.director")
    other.goto(f"{web}/projects/{project}/surveys/satisfaction")
    assert "只有本项目的社工、主管和督导可以录入问卷" in other.inner_text("body")
    assert other.locator("button.upload").count() == 0
