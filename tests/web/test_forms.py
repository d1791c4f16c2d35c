"""Filling in a work item's form in a browser, as a worker does: on a phone, on a desktop, with a
wrong field, without JavaScript, with bad signal, in a revision round; the form helpers live here."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from swflow import domain
from swflow.domain.projects.work_view import work_item_view
from swflow.forms_spec import FormSpec, get_form

from ..unit._support import NOW, SUPERVISOR, WORKER
from .conftest import DESKTOP, PHONE, sign_in


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
    """The elderly-care-brief project's needs assessment waits for wang.worker, who has a password."""
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
        ("elderly-care-brief", "needs-assessment"),
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
