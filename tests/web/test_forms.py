"""Filling in a work item's form in a browser, as a worker does: on a phone, with a wrong field,
with bad signal, in a revision round; and what someone else may not do with my form."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import pytest
from starlette.datastructures import FormData, UploadFile

from swflow import domain
from swflow.app.web.forms import from_data, normalise, place_problems, read_inputs, to_data
from swflow.config.errors import FormError
from swflow.domain.projects.work_view import WorkItemView, work_item_view
from swflow.forms_spec import FormSpec, get_form, list_forms, validate_submission

from ..unit._support import NOW, SECOND_WORKER, SUPERVISOR, WORKER
from .conftest import DESKTOP, PASSWORD, PHONE, sign_in

T = TypeVar("T")


def task_of(person_id: str, form_id: str) -> int:
    """The work item of `form_id` in the person's inbox (the page the inbox links to)."""
    return int(next(t["item_id"] for t in domain.inbox(person_id)["tasks"] if t["form"] == form_id))


def as_stored(sample: dict[str, Any]) -> dict[str, Any]:
    """A sample as the archive keeps it: JSON (dates as ISO text)."""
    return dict(json.loads(json.dumps(sample, default=lambda v: v.isoformat() if isinstance(v, date) else v)))


def stored(item_id: int) -> dict[str, Any] | None:
    """What the domain stored for the item this round, read back through the domain."""
    return work_item_view(item_id, WORKER).submitted


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.isoformat() if isinstance(value, date) else str(value)


def put(page: Any, key: str, value: Any) -> None:
    """Type or pick one value into the input named `key`, whatever kind of input the page made."""
    kind = page.locator(f'[name="{key}"]').first.evaluate("e => e.tagName + ':' + e.type")
    if kind.startswith("SELECT"):
        page.select_option(f'[name="{key}"]', _text(value))
    elif kind.endswith(("radio", "checkbox")):
        for one in value if isinstance(value, list) else [value]:
            page.check(f'[name="{key}"][value="{_text(one)}"]')
    else:
        page.fill(f'[name="{key}"]', _text(value))


def fill(page: Any, form: FormSpec, data: dict[str, Any]) -> None:
    """Fill the whole form as a worker would, adding table rows with the page's own button."""
    for spec in form.fields:
        value = data.get(spec.name)
        if value is None:
            continue
        key = f"f.{spec.name}"
        if spec.type != "table":
            put(page, key, value)
            continue
        for index, row in enumerate(value):
            if index > 0:  # the blank row is filled; ask for another (JS adds it, or a draft reloads)
                page.locator(f'[data-table="{key}"] button.add-row').click()
                page.wait_for_selector(f'[name="{key}.{index}.{spec.columns[0].name}"]')  # type: ignore[index]
            for column in spec.columns or ():
                if row.get(column.name) is not None:
                    put(page, f"{key}.{index}.{column.name}", row[column.name])


def submit(page: Any) -> None:
    with page.expect_navigation():
        page.click("button.submit")


@pytest.fixture
def assessment_open(project_id: str, give_password: Callable[[str], str]) -> int:
    """The elderly-care project's needs assessment waits for wang.worker, who has a password."""
    give_password(WORKER)
    domain.open_stage(project_id, "assessment", NOW)
    return task_of(WORKER, "needs-assessment")


@pytest.mark.browser
def test_worker_fixes_wrong_field_and_submits_on_phone(
    web: str, assessment_open: int, sample_forms: dict[str, Any], browser: Any, shots: Callable[..., Path]
) -> None:
    sample, form = sample_forms["needs-assessment"], get_form("needs-assessment")
    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, WORKER)
    page.goto(f"{web}/work/{assessment_open}")
    assert page.locator("h1").inner_text() == "需求评估表"
    assert "（敏感）" in page.locator('label[for="f.key_cases"]').evaluate(
        "e => getComputedStyle(e, '::after').content"
    )
    shots(page, "form-phone-empty")
    fill(page, form, {**sample, "target_count": 0})  # nobody to serve: below the form's minimum
    submit(page)
    at_field = page.locator('[id="w-f.target_count"] .field-error')
    assert at_field.count() == 1 and "1" in at_field.inner_text()
    assert page.locator(".problems li").count() == 1 and "拟服务老年人数" in page.locator(".problems").inner_text()
    assert page.input_value('[name="f.community_profile"]') == sample["community_profile"]  # kept as typed
    assert page.input_value('[name="f.baseline.1.indicator"]') == sample["baseline"][1]["indicator"]
    assert page.is_checked('[name="f.intervention_level"][value="community"]')
    shots(page, "form-phone-error")
    assert stored(assessment_open) is None  # nothing was stored
    page.fill('[name="f.target_count"]', "60")
    submit(page)
    assert page.url.startswith(f"{web}/?submitted=")
    assert stored(assessment_open) == as_stored(sample)
    gates = domain.inbox(SUPERVISOR)["decisions"]
    assert [(g["stage"], g["round"]) for g in gates] == [("assessment", 1)]


@pytest.mark.browser
@pytest.mark.parametrize(
    ("template", "form_id"),
    [
        ("elderly-care", "needs-assessment"),
        ("community-development", "problem-definition"),
        ("community-development", "baseline-measures"),
    ],
)
def test_a_sample_is_entered_through_the_page_on_a_desktop(
    web: str,
    launch: Callable[..., str],
    give_password: Callable[[str], str],
    sample_forms: dict[str, Any],
    browser: Any,
    shots: Callable[..., Path],
    template: str,
    form_id: str,
) -> None:
    give_password(WORKER)
    domain.open_stage(launch(template_id=template), "assessment", NOW)
    item = task_of(WORKER, form_id)
    page = browser.new_page(viewport=DESKTOP)
    sign_in(page, web, WORKER)
    page.goto(f"{web}/work/{item}")
    fill(page, get_form(form_id), sample_forms[form_id])
    shots(page, f"{form_id}-desktop")
    submit(page)
    assert page.url.startswith(f"{web}/?submitted=")
    assert stored(item) == as_stored(sample_forms[form_id])


@pytest.mark.browser
def test_show_if_follows_the_choice_and_the_page_submits_without_javascript(
    web: str,
    launch: Callable[..., str],
    give_password: Callable[[str], str],
    sample_forms: dict[str, Any],
    browser: Any,
) -> None:
    give_password(WORKER)
    domain.open_stage(launch(template_id="community-development"), "assessment", NOW)
    item, form = task_of(WORKER, "problem-definition"), get_form("problem-definition")
    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, WORKER)
    page.goto(f"{web}/work/{item}")
    other = page.locator('[id="w-f.intervention_type_other"]')
    assert other.is_hidden()
    page.select_option('[name="f.intervention_type"]', "other")
    assert other.is_visible()
    page.select_option('[name="f.intervention_type"]', "care")
    assert other.is_hidden()

    bare = browser.new_context(viewport=PHONE, java_script_enabled=False).new_page()
    sign_in(bare, web, WORKER)
    bare.goto(f"{web}/work/{item}")
    shown = bare.locator('[id="w-f.intervention_type_other"]')
    assert shown.is_visible() and "当「主要介入类型」为「提供其他服务」时填写" in shown.inner_text()
    fill(bare, form, sample_forms["problem-definition"])  # 添加一行 saves a draft and reloads
    submit(bare)
    assert bare.url.startswith(f"{web}/?submitted=")
    assert stored(item) == as_stored(sample_forms["problem-definition"])


@pytest.mark.browser
def test_draft_survives_a_lost_connection(
    web: str, assessment_open: int, sample_forms: dict[str, Any], browser: Any, shots: Callable[..., Path]
) -> None:
    sample = sample_forms["needs-assessment"]
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    sign_in(page, web, WORKER)
    page.goto(f"{web}/work/{assessment_open}")
    page.fill('[name="f.community_profile"]', sample["community_profile"])
    page.check('[name="f.intervention_level"][value="family"]')
    page.fill('[name="f.baseline.0.indicator"]', "半成品指标")
    page.fill('[name="f.target_count"]', "六十")  # not a number yet: a draft keeps it as typed
    with page.expect_navigation():
        page.click("button.save-draft")
    assert "草稿已保存" in page.locator(".notice").first.inner_text()
    shots(page, "draft-saved-phone")
    context.set_offline(True)  # the signal goes
    page.fill('[name="f.problem_definition"]', "这段没来得及保存")
    with pytest.raises(Exception, match="ERR_INTERNET_DISCONNECTED"):
        page.click("button.submit")
        page.wait_for_load_state()
        page.goto(f"{web}/work/{assessment_open}")
    context.close()

    again = browser.new_page(viewport=PHONE)  # later, on another connection
    sign_in(again, web, WORKER)
    again.goto(f"{web}/work/{assessment_open}")
    assert "已载入您" in again.locator(".draft-note").inner_text()
    assert again.input_value('[name="f.community_profile"]') == sample["community_profile"]
    assert again.input_value('[name="f.target_count"]') == "六十"
    assert again.input_value('[name="f.baseline.0.indicator"]') == "半成品指标"
    assert again.is_checked('[name="f.intervention_level"][value="family"]')
    assert again.input_value('[name="f.problem_definition"]') == ""
    assert work_item_view(assessment_open, WORKER).draft is not None
    again.fill('[name="f.baseline.0.indicator"]', "")
    fill(again, get_form("needs-assessment"), sample)
    submit(again)
    assert stored(assessment_open) == as_stored(sample)
    assert work_item_view(assessment_open, WORKER).draft is None  # submitted: the draft is gone


@pytest.mark.browser
def test_revision_round_shows_the_comment_and_previous_values(
    web: str,
    awaiting_assessment: str,
    give_password: Callable[[str], str],
    sample_forms: dict[str, Any],
    browser: Any,
    shots: Callable[..., Path],
) -> None:
    give_password(WORKER)
    comment = "基线只有两项指标，请补充“社区活动参与率”的基线值。"
    decided = domain.record_decision(awaiting_assessment, "assessment", SUPERVISOR, "return", comment, NOW)
    gate = domain.read_gate(awaiting_assessment, "assessment")
    domain.apply_gate_reply(awaiting_assessment, "assessment", gate.attempt, decided.decision_id, NOW)
    item = task_of(WORKER, "needs-assessment")
    sample = sample_forms["needs-assessment"]

    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, WORKER)
    page.goto(f"{web}/work/{item}")
    note = page.locator(".work-returned")
    assert comment in note.inner_text() and SUPERVISOR in note.inner_text() and "第 1 轮" in note.inner_text()
    assert note.bounding_box()["y"] < page.locator("form.work-form").bounding_box()["y"]  # the comment on top
    assert page.input_value('[name="f.target_count"]') == "60"
    assert page.input_value('[name="f.baseline.1.value"]') == "52"
    assert page.input_value('[name="f.key_cases"]') == sample["key_cases"]
    shots(page, "revision-phone")
    page.set_viewport_size(DESKTOP)
    shots(page, "revision-desktop")
    for column, value in {"indicator": "社区活动参与率", "unit": "%", "value": "18"}.items():
        page.fill(f'[name="f.baseline.2.{column}"]', value)
    submit(page)
    revised = stored(item)
    assert revised is not None and revised["baseline"][2] == {"indicator": "社区活动参与率", "unit": "%", "value": 18}
    assert domain.project_status(awaiting_assessment)["stages"][0]["round"] == 2
    assert [g["round"] for g in domain.inbox(SUPERVISOR)["decisions"]] == [2]


def _signed_in_client(web: str, person_id: str, page: str) -> tuple[httpx.Client, str]:
    """A signed-in client and its session's CSRF token (every page's sign-out form carries it)."""
    client = httpx.Client(base_url=web)
    client.post("/login", data={"person_id": person_id, "password": PASSWORD})
    csrf = client.get(page).text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    return client, csrf


def test_another_worker_cannot_open_or_submit_my_form(
    web: str, assessment_open: int, give_password: Callable[[str], str], sample_forms: dict[str, Any]
) -> None:
    give_password(SECOND_WORKER)
    client, csrf = _signed_in_client(web, SECOND_WORKER, f"/work/{assessment_open}")
    try:
        opened = client.get(f"/work/{assessment_open}")
        assert opened.status_code == 403 and "不是此表单的负责人" in opened.text
        assert 'name="f.' not in opened.text  # not a field of the form is shown
        typed = {"csrf": csrf, "f.community_profile": sample_forms["needs-assessment"]["community_profile"]}
        for path in (f"/work/{assessment_open}", f"/work/{assessment_open}/draft"):
            refused = client.post(path, data=typed)
            assert refused.status_code == 403 and "不是此表单的负责人" in refused.text
        assert client.get("/work/999999").status_code == 404
    finally:
        client.close()
    view = work_item_view(assessment_open, WORKER)
    assert view.status == "open" and view.draft is None and view.submitted is None


def test_a_form_post_without_the_csrf_token_is_refused(web: str, assessment_open: int) -> None:
    client, _csrf = _signed_in_client(web, WORKER, f"/work/{assessment_open}")
    try:
        for path in (f"/work/{assessment_open}", f"/work/{assessment_open}/draft"):
            refused = client.post(path, data={"f.target_count": "60"})
            assert refused.status_code == 403 and "安全令牌" in refused.text
    finally:
        client.close()
    view = work_item_view(assessment_open, WORKER)
    assert view.status == "open" and view.draft is None


@pytest.mark.parametrize("form_id", [f.id for f in list_forms()])
def test_every_shipped_form_is_drawn_and_read_back_as_its_sample(
    form_id: str, sample_forms: dict[str, Any], web_home: Path
) -> None:
    """Each field type of forms_spec gets an input on the page, and a sample put into the page's
    inputs comes back as the same submission (numbers, dates, lists, rows, attachments)."""
    form, sample = get_form(form_id), sample_forms[form_id]
    inputs = normalise(form, from_data(form, as_stored(sample)))
    assert validate_submission(form, to_data(form, inputs)) == validate_submission(form, sample)
    page = page_of(form, inputs)
    for spec in form.fields:
        if spec.type == "table":
            for column in spec.columns or ():
                assert f'name="f.{spec.name}.0.{column.name}' in page, (spec.name, column.name)
        else:
            assert f'name="f.{spec.name}{".file" if spec.type == "attachment" else ""}"' in page, spec.name
        if spec.sensitive:
            assert f'for="f.{spec.name}" class="sensitive"' in page or spec.type == "table"
        if spec.show_if:
            assert f'data-show-if="{spec.show_if.field}"' in page


def page_of(form: FormSpec, inputs: dict[str, list[str]]) -> str:
    """The form page as the route renders it, for a work item of this form."""
    from swflow.app.web.forms import FormState
    from swflow.app.web.pages import _environment
    from swflow.domain.people.accounts import SignedIn

    view = WorkItemView(
        item_id=1,
        project_id="P-1",
        project_name="测试项目",
        stage_key="assessment",
        stage_title="需求评估",
        stage_status="open",
        round=1,
        form_id=form.id,
        form=form.model_dump(mode="json"),
        activity="",
        title=form.title,
        status="open",
        due_at=NOW,
        return_comment=None,
        returned_by=None,
        previous=None,
        submitted=None,
        draft=None,
        draft_saved_at=None,
        team=[(WORKER, "王社工")],
    )
    me = SignedIn(person_id=WORKER, name="王社工", roles=("worker",), session_id="s", csrf="c")
    return (
        _environment()
        .get_template("work.html")
        .render(
            request=None,
            me=me,
            view=view,
            form=form,
            st=FormState(inputs),
            problems=[],
            unplaced=[],
            notice="",
            has_files=True,
        )
    )


def test_an_upload_is_kept_under_its_sha256_and_becomes_the_attachment(
    web_home: Path, sample_forms: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    form = get_form("service-activity-record")
    content = "签到表：18 人到场".encode() * 200
    posted = FormData([("csrf", "x"), ("f.title", "启动会"), ("f.attachment.file", upload(content, "签到表.pdf"))])
    data = to_data(form, normalise(form, in_own_loop(read_inputs(posted))))
    sha256 = hashlib.sha256(content).hexdigest()
    assert data == {"title": "启动会", "attachment": {"path": f"attachments/{sha256}", "sha256": sha256}}
    assert (web_home / "attachments" / sha256).read_bytes() == content
    sample = {**sample_forms["service-activity-record"], "attachment": data["attachment"]}
    assert validate_submission(form, sample)["attachment"] == data["attachment"]

    monkeypatch.setenv("SWFLOW_MAX_INPUT_BYTES", "1000")
    with pytest.raises(FormError) as refused:
        in_own_loop(read_inputs(FormData([("f.attachment.file", upload(content, "大文件.pdf"))])))
    assert refused.value.problems == [("attachment", "文件不超过 1000 字节")]
    assert sorted(p.name for p in (web_home / "attachments").iterdir()) == [sha256]  # nothing half-written left


def in_own_loop(work: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a loop of its own (the browser tests' Playwright holds this thread's)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


def upload(content: bytes, filename: str) -> UploadFile:
    return UploadFile(io.BytesIO(content), filename=filename)


def test_each_problem_is_placed_at_its_input() -> None:
    form = get_form("needs-assessment")
    with pytest.raises(FormError) as refused:
        validate_submission(form, {"target_count": "x", "baseline": [{"indicator": "a", "unit": "%"}], "extra": 1})
    placed, unplaced = place_problems(refused.value.problems)
    assert placed["f.target_count"] == ["必须是整数"]
    assert placed["f.baseline.0.value"] == ["必填"]
    assert placed["f.community_profile"] == ["必填"]
    assert placed["f.extra"] == ["表单中没有此字段"]
    assert unplaced == []
    assert place_problems([("(表单)", "必须是映射")]) == ({}, ["(表单)：必须是映射"])


def test_a_forged_page_gets_its_problems_said_never_a_crash(web: str, assessment_open: int) -> None:
    client, csrf = _signed_in_client(web, WORKER, f"/work/{assessment_open}")
    forged = [("csrf", csrf), ("f.baseline.", "x"), ("f.baseline.x.indicator", "x"), ("f.baseline.99999.unit", "%")]
    forged += [("f.baseline.0.value", "NaN"), ("f.target_count", "1" * 40), ("f.target_count", "2"), ("f.nope", "1")]
    forged += [("f.intervention_level", "<script>alert(1)</script>"), ("f.baseline.1._remove", "1")]
    try:
        body, form = urlencode(forged), {"content-type": "application/x-www-form-urlencoded"}
        answer = client.post(f"/work/{assessment_open}", content=body, headers=form)
        assert answer.status_code == 400 and "表单尚未提交" in answer.text
        assert "<script>alert(1)</script>" not in answer.text
        assert client.post(f"/work/{assessment_open}/draft", content=body, headers=form).status_code == 303
    finally:
        client.close()
    assert work_item_view(assessment_open, WORKER).submitted is None


def test_a_form_approved_by_step_one_is_fixed_on_the_web_too(
    web: str, launch: Callable[..., str], give_password: Callable[[str], str], sample_forms: dict[str, Any]
) -> None:
    """community-corrections plans are approved by the supervisor, then a director: after step one
    the worker's page refuses a change, saying why (the same rule as the CLI's, from the domain)."""

    def tasks(project: str) -> list[dict[str, Any]]:
        return [t for t in domain.inbox(WORKER)["tasks"] if t["project"] == project]

    project = launch(template_id="community-corrections")
    items: dict[str, int] = {}
    for stage in ("assessment", "planning"):
        domain.open_stage(project, stage, NOW)
        for task in tasks(project):
            items[task["form"]] = int(task["item_id"])
            domain.submit_form(project, task["form"], WORKER, sample_forms[task["form"]], NOW)
        if stage == "assessment":
            decided = domain.record_decision(project, stage, SUPERVISOR, "approve", "", NOW)
            domain.apply_gate_reply(project, stage, domain.read_gate(project, stage).attempt, decided.decision_id, NOW)
    with_plan = domain.record_decision(project, "planning", SUPERVISOR, "approve", "同意，请主任审核", NOW)
    assert not with_plan.final
    give_password(WORKER)
    item = items["goals-and-tasks"]
    client, csrf = _signed_in_client(web, WORKER, f"/work/{item}")
    try:
        typed = {f"f.{k}": _text(v) for k, v in sample_forms["goals-and-tasks"].items() if not isinstance(v, list)}
        refused = client.post(f"/work/{item}", data={"csrf": csrf, **typed})
        assert refused.status_code in (403, 409), refused.status_code
        assert "表单不能再改" in refused.text and "请当前审核人退回" in refused.text
    finally:
        client.close()
