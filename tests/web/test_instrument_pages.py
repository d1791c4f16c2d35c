"""A form's and an instrument's definition pages on the web, as the people who design projects use them:
a form's fields, conditions and a disabled preview drawn with the work page's macros; an instrument's
items and scores; scoring one respondent's answers, checking a sheet (every bad cell named) and comparing
a baseline with a post sheet — the numbers those of forms_spec, nothing saved; a worker is refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from swflow.app.web.forms import FormState
from swflow.forms_spec import get_form
from swflow.forms_spec.change import paired_change
from swflow.forms_spec.instrument import get_instrument
from swflow.forms_spec.responses import read_responses, summarise
from swflow.forms_spec.scoring import check_answers, score_answers

from ..unit._support import DIRECTOR, MANAGER, SUPERVISOR, WORKER
from .conftest import DESKTOP, PHONE, sign_in
from .test_people_admin import event_count, signed_in_as

HEADER = ["受访者编号", "q1", "q2", "q3"]
BASELINE = [["r1", 3, 3, 2], ["r2", 2, 3, 3], ["r3", 3, 2, 2], ["r4", 1, 2, 3]]
POST = [["r1", 1, 2, 1], ["r2", 2, 1, 1], ["r3", 1, 1, 2], ["r5", 2, 2, 2]]


def csv_file(path: Path, rows: list[list[Any]]) -> Path:
    path.write_text("\n".join(",".join(map(str, row)) for row in [HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def _responses(rows: list[list[Any]]) -> Any:
    responses, problems = read_responses(get_instrument("ucla-3"), HEADER, [[str(c) for c in r] for r in rows])
    assert not problems
    return responses


@pytest.mark.browser
def test_a_supervisor_reads_a_form_its_fields_and_its_preview(
    web: str, browser: Any, give_password: Callable[[str], str], shots: Callable[..., Path]
) -> None:
    give_password(SUPERVISOR)
    form = get_form("service-activity-record")
    method_other = next(f for f in form.fields if f.show_if is not None)
    for viewport, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page = browser.new_page(viewport=viewport)
        sign_in(page, web, SUPERVISOR)
        page.goto(f"{web}/definitions/forms/{form.id}")
        assert page.locator("h1").inner_text() == form.title
        facts = page.locator(".form-facts").inner_text()
        assert form.id in facts and f"§{form.clause}" in facts and f"第 {form.version} 版" in facts
        rows = page.locator("tr.field-row")
        assert rows.count() >= len(form.fields)
        row = page.locator(f'tr.field-row[data-field="{method_other.name}"]').inner_text()
        assert method_other.label in row and FormState.condition(method_other, form.fields) in row and "必填" in row
        preview = page.locator(".form-preview")
        shown = preview.evaluate("el => [...el.querySelectorAll('[id^=\"w-f.\"]')].map(w => w.id)")
        assert [f"w-f.{spec.name}" for spec in form.fields] == [w for w in shown if w.count(".") == 1]
        assert preview.locator("input:enabled, select:enabled, textarea:enabled").count() == 0
        assert preview.locator("input, select, textarea").count() > len(form.fields) // 2
        assert page.locator(f'a[href="/definitions/forms/{form.id}/edit"]').count() == 0  # only a director edits
        shots(page, f"definition-form-{name}")
        page.close()


@pytest.mark.browser
def test_a_manager_scores_answers_checks_a_sheet_and_compares_two_waves(
    web: str, browser: Any, tmp_path: Path, give_password: Callable[[str], str], shots: Callable[..., Path]
) -> None:
    give_password(MANAGER)
    ucla = get_instrument("ucla-3")
    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, MANAGER)
    page.goto(f"{web}/definitions/instruments/ucla-3")
    assert page.locator("tr.item-row").count() == len(ucla.items)
    assert "孤独感总分" in page.locator(".instrument-scores").inner_text()
    before = event_count()

    page.click(".instrument-tools >> text=计分试算")
    assert "试算，不保存" in page.locator(".trial-note").inner_text()
    page.check('[name="a.q1"][value="3"]')
    page.check('[name="a.q3"][value="2"]')  # q2 left out
    with page.expect_navigation():
        page.click("button.submit")
    assert "必答" in page.locator("#q-q2 .field-error").inner_text()
    assert page.locator('[name="a.q1"][value="3"]').is_checked()  # what was typed is kept
    page.check('[name="a.q2"][value="2"]')
    with page.expect_navigation():
        page.click("button.submit")
    kept, problems = check_answers(ucla, {"q1": "3", "q2": "2", "q3": "2"})
    expected = score_answers(ucla, kept)["total"]
    line = page.locator('.score-line[data-score="total"]').inner_text()
    assert not problems and f"{expected['value']:g}" in line and expected["band"] in line
    shots(page, "instrument-score-phone")

    page.goto(f"{web}/definitions/instruments/ucla-3/check")
    bad = [row[:] for row in BASELINE]
    bad[2][2] = 9
    page.set_input_files("#sheet", csv_file(tmp_path / "bad.csv", bad))
    with page.expect_navigation():
        page.click("button.upload")
    problems_text = page.locator(".sheet-problems").inner_text()
    assert "第 4 行（r3） › q2" in problems_text and "须是 1–3 的整数" in problems_text
    page.set_input_files("#sheet", csv_file(tmp_path / "good.csv", BASELINE))
    with page.expect_navigation():
        page.click("button.upload")
    summary = summarise(ucla, _responses(BASELINE))["total"]
    line = page.locator('.summary-line[data-score="total"]')
    assert line.locator(".n").inner_text() == str(summary["n"])
    assert line.locator(".mean").inner_text() == f"{summary['mean']:g}"

    page.goto(f"{web}/definitions/instruments/ucla-3/compare")
    page.select_option("#score", "total")
    page.set_input_files("#baseline", csv_file(tmp_path / "baseline.csv", BASELINE))
    page.set_input_files("#post", csv_file(tmp_path / "post.csv", POST))
    with page.expect_navigation():
        page.click("button.upload")
    change = paired_change(ucla, "total", _responses(BASELINE), _responses(POST))
    result = page.locator(".change-result")
    assert result.locator(".n-paired").inner_text() == str(change["n_paired"]) == "3"
    assert result.locator(".mean-change").inner_text() == f"{change['mean_change']:+g}"
    assert "失访 1" in result.inner_text() and "Cohen" in result.inner_text()
    shots(page, "instrument-compare-phone")
    assert event_count() == before  # nothing saved


def test_a_worker_is_refused_bad_uploads_are_a_sentence_and_a_director_may_edit(
    web: str, give_password: Callable[[str], str]
) -> None:
    give_password(WORKER)
    give_password(SUPERVISOR)
    with signed_in_as(web, WORKER) as (client, token):
        for path in ("/definitions/forms/needs-assessment", "/definitions/instruments/ucla-3"):
            answer = client.get(path)
            assert answer.status_code == 403 and "不能这样做" in answer.text and "只有" in answer.text, path
        answer = client.post("/definitions/instruments/ucla-3/score", data={"csrf": token, "a.q1": "1"})
        assert answer.status_code == 403 and "只有" in answer.text and "score-line" not in answer.text
    with signed_in_as(web, SUPERVISOR) as (client, token):
        assert client.get("/definitions/forms/no-such-form").status_code == 404
        assert client.get("/definitions/instruments/no-such/check").status_code == 404
        forged = client.post("/definitions/instruments/ucla-3/score", data={"csrf": "forged", "a.q1": "1"})
        assert forged.status_code == 403 and "安全令牌" in forged.text
        files: dict[str, Any] = {"sheet": ("answers.pdf", b"%PDF-1.4", "application/pdf")}
        wrong = client.post("/definitions/instruments/ucla-3/check", data={"csrf": token}, files=files)
        assert wrong.status_code == 400 and "须是 .xlsx 或 .csv" in wrong.text
        files = {"sheet": ("answers.csv", "受访者编号,q1\nr1,1\n".encode("utf-16"), "text/csv")}
        wrong = client.post("/definitions/instruments/ucla-3/check", data={"csrf": token}, files=files)
        assert wrong.status_code == 400 and "不是 UTF-8 或 GB18030" in wrong.text
        empty = client.post("/definitions/instruments/ucla-3/compare", data={"csrf": token, "score": "total"},
                            files={"baseline": ("", b"", "text/csv")})  # fmt: skip
        assert empty.status_code == 400 and "请选择前测回答表" in empty.text
        assert "Traceback" not in wrong.text + empty.text
    give_password(DIRECTOR)
    with signed_in_as(web, DIRECTOR) as (client, _):
        assert 'href="/definitions/instruments/ucla-3/edit"' in client.get("/definitions/instruments/ucla-3").text
