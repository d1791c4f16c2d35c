"""Form definitions and submissions: errors name the field in Chinese and by key, and the rule."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from swflow.config.errors import DefinitionError, FormError, NotFoundError
from swflow.config.templates import list_templates
from swflow.forms_spec import (
    MASK,
    FormSpec,
    form_schema,
    get_form,
    list_forms,
    load_form,
    mask_sensitive,
    validate_submission,
)

FORMS_DIR = Path(__file__).resolve().parents[2] / "forms_spec" / "forms"


def _problems(form_id: str, data: Any) -> list[tuple[str, str]]:
    with pytest.raises(FormError) as caught:
        validate_submission(get_form(form_id), data)
    return caught.value.problems


@pytest.mark.parametrize("path", sorted(FORMS_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_form_loads_and_its_id_is_its_file_name(path: Path) -> None:
    assert load_form(path).id == path.stem


def test_every_form_a_template_names_exists() -> None:
    known = {form.id for form in list_forms()}
    named = {(t.id, s.key, f) for t in list_templates() for s in t.stages for f in s.forms}
    assert named, "the shipped templates name no forms"
    assert {(t, s, f) for t, s, f in named if f not in known} == set()


@pytest.mark.parametrize("form", list_forms(), ids=lambda f: f.id)
def test_form_survives_the_project_snapshot_round_trip(form: FormSpec) -> None:
    assert FormSpec.model_validate(form.model_dump(mode="json")) == form


def test_sample_data_is_accepted_by_every_form(sample_forms: dict[str, Any]) -> None:
    assert {key.removesuffix("-revised") for key in sample_forms} == {f.id for f in list_forms()}
    for key, data in sample_forms.items():
        clean = validate_submission(get_form(key.removesuffix("-revised")), data)
        json.dumps(clean)  # archived as JSON
        assert validate_submission(get_form(key.removesuffix("-revised")), clean) == clean


def test_accepted_submission_keeps_dates_as_iso_text(sample_forms: dict[str, Any]) -> None:
    clean = validate_submission(get_form("service-plan"), sample_forms["service-plan"])
    assert clean["start_date"] == "2025-01-06"
    assert clean["methods"] == ["casework", "groupwork", "volunteer"]


def test_missing_required_field_is_named_with_label_and_key(sample_forms: dict[str, Any]) -> None:
    data = dict(sample_forms["needs-assessment"])
    del data["problem_definition"]
    assert _problems("needs-assessment", data) == [("社区问题描述与界定（problem_definition）", "必填")]


def test_too_short_text_states_the_minimum(sample_forms: dict[str, Any]) -> None:
    data = {**sample_forms["needs-assessment"], "community_profile": "老人多"}
    assert _problems("needs-assessment", data) == [
        ("社区基本情况（地理环境、经济状况、人口结构、文化特色、资源优势）（community_profile）", "至少 20 个字")
    ]


def test_padding_with_spaces_does_not_reach_the_minimum_length(sample_forms: dict[str, Any]) -> None:
    data = {**sample_forms["needs-assessment"], "problem_definition": "   少   " + " " * 20}
    assert _problems("needs-assessment", data) == [("社区问题描述与界定（problem_definition）", "至少 10 个字")]


def test_number_below_minimum_states_the_bound(sample_forms: dict[str, Any]) -> None:
    data = {**sample_forms["needs-assessment"], "target_count": 0}
    assert _problems("needs-assessment", data) == [("拟服务老年人数（target_count）", "不能小于 1")]


def test_unknown_choice_lists_the_allowed_ones(sample_forms: dict[str, Any]) -> None:
    data = {**sample_forms["needs-assessment"], "intervention_level": "city"}
    [(field, rule)] = _problems("needs-assessment", data)
    assert field == "介入层面（intervention_level）"
    assert rule.startswith("必须是以下之一")
    assert all(choice in rule for choice in ("individual", "family", "group", "community"))


def test_field_not_in_the_form_is_refused_by_name(sample_forms: dict[str, Any]) -> None:
    data = {**sample_forms["needs-assessment"], "nickname": "赵奶奶"}
    assert _problems("needs-assessment", data) == [("nickname", "表单中没有此字段")]


def test_table_error_names_the_row_and_column(sample_forms: dict[str, Any]) -> None:
    rows = [{"indicator": "探访比例", "unit": "%", "value": 35}, {"indicator": "孤独感", "value": "高"}]
    data = {**sample_forms["needs-assessment"], "baseline": rows}
    assert _problems("needs-assessment", data) == [
        ("基线测量（baseline） › 第 2 行 › 单位（unit）", "必填"),
        ("基线测量（baseline） › 第 2 行 › 基线值（value）", "必须是数字"),
    ]


def test_required_multichoice_needs_at_least_one_item(sample_forms: dict[str, Any]) -> None:
    data = {**sample_forms["service-plan"], "methods": []}
    assert _problems("service-plan", data) == [("服务方式（methods）", "至少 1 项")]


def test_impossible_date_is_refused(sample_forms: dict[str, Any]) -> None:
    data = {**sample_forms["activity-record"], "activity_date": "2027-02-30"}
    assert _problems("activity-record", data) == [("活动日期（activity_date）", "必须是日期（YYYY-MM-DD）")]


def test_fractional_head_count_is_refused(sample_forms: dict[str, Any]) -> None:
    data = {**sample_forms["activity-record"], "participants": 12.5}
    assert _problems("activity-record", data) == [("参与人数（participants）", "必须是整数")]


def test_every_problem_is_reported_at_once() -> None:
    problems = _problems("outcome-evaluation", {"satisfaction_percent": 120})
    found = dict(problems)
    assert re.fullmatch(r"不能大于 100(\.0)?", found.pop("服务对象满意度（%）（satisfaction_percent）"))
    assert found == {
        "目标达成情况（goal_achievement）": "必填",
        "有效方法总结（effective_methods）": "必填",
        "问题与改进措施（improvements）": "必填",
    }


def test_form_error_message_names_the_form_and_counts_problems() -> None:
    with pytest.raises(FormError) as caught:
        validate_submission(get_form("outcome-evaluation"), {})
    message = str(caught.value)
    assert "outcome-evaluation（服务成效评估）有 4 处错误" in message
    assert "目标达成情况（goal_achievement）：必填" in message


@pytest.mark.parametrize("data", [None, ["a"], "text"], ids=["none", "list", "text"])
def test_submission_that_is_not_a_mapping_is_refused(data: Any) -> None:
    assert _problems("needs-assessment", data) == [("(表单)", "必须是映射")]


def test_form_schema_is_json_schema_marking_sensitive_fields() -> None:
    schema = form_schema(get_form("needs-assessment"))

    assert schema["type"] == "object"
    assert schema["title"] == "需求评估表"
    assert (schema["x-form-id"], schema["x-form-version"]) == ("needs-assessment", 1)
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"community_profile", "problem_definition", "intervention_level", "target_count"}
    properties = schema["properties"]
    assert properties["key_cases"]["x-sensitive"] is True
    assert [name for name, p in properties.items() if p.get("x-sensitive")] == ["key_cases"]
    assert properties["intervention_level"]["enum"] == ["individual", "family", "group", "community"]
    assert properties["community_profile"]["minLength"] == 20
    json.dumps(schema)


def test_mask_hides_sensitive_fields_only(sample_forms: dict[str, Any]) -> None:
    form = get_form("needs-assessment")
    data = validate_submission(form, sample_forms["needs-assessment"])

    masked = mask_sensitive(form, data)

    assert masked["key_cases"] == MASK
    assert "赵某某" not in json.dumps(masked, ensure_ascii=False)
    assert {k: v for k, v in masked.items() if k != "key_cases"} == {k: v for k, v in data.items() if k != "key_cases"}
    assert data["key_cases"].startswith("演示敏感信息")  # the original is left alone


def _form_with_sensitive_column(tmp_path: Path) -> FormSpec:
    path = tmp_path / "home-visit.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "id": "home-visit",
                "version": 1,
                "title": "入户探访记录",
                "clause": "6.1.3",
                "fields": [
                    {
                        "name": "visits",
                        "label": "探访",
                        "type": "table",
                        "columns": [
                            {"name": "household", "label": "户号", "type": "text", "required": True},
                            {"name": "health", "label": "健康状况", "type": "text", "sensitive": True},
                        ],
                    }
                ],
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    return load_form(path)


def test_sensitive_table_column_is_masked_or_refused(tmp_path: Path) -> None:
    try:
        form = _form_with_sensitive_column(tmp_path)
    except DefinitionError:
        return  # refusing the definition is as good as masking it
    data = validate_submission(form, {"visits": [{"household": "3-201", "health": "糖尿病"}]})

    assert "糖尿病" not in json.dumps(mask_sensitive(form, data), ensure_ascii=False)


def test_choice_field_without_choices_is_a_definition_error(tmp_path: Path) -> None:
    path = tmp_path / "broken-form.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "id": "broken-form",
                "version": 1,
                "title": "坏表单",
                "clause": "6.1.1",
                "fields": [
                    {"name": "ok", "label": "正常", "type": "text"},
                    {"name": "level", "label": "层面", "type": "choice"},
                ],
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )

    with pytest.raises(DefinitionError) as caught:
        load_form(path)
    message = str(caught.value)
    assert f"{path}: fields.1: " in message
    assert "choice 字段必须给出 choices" in message


def test_unknown_form_id_lists_the_known_ones() -> None:
    with pytest.raises(NotFoundError) as caught:
        get_form("intake")
    assert "needs-assessment" in str(caught.value)


def test_a_choice_may_be_given_by_its_label_and_the_key_is_kept(sample_forms: dict[str, Any]) -> None:
    """Issue 15: `forms show` lists 问卷调查 beside `questionnaire`; a data file may use either."""
    data = copy.deepcopy(sample_forms["baseline-measures"])
    table = next(f for f in get_form("baseline-measures").fields if f.name == "indicators")
    labels = next(c for c in table.columns or () if c.name == "method").choices or {}
    data["indicators"] = [{**row, "method": labels[row["method"]]} for row in data["indicators"]]
    clean = validate_submission(get_form("baseline-measures"), data)
    assert [row["method"] for row in clean["indicators"]] == ["questionnaire", "scale"]
    plan = copy.deepcopy(sample_forms["goals-and-tasks"])
    plan["methods"] = ["资源整合法", "consensus"]
    assert validate_submission(get_form("goals-and-tasks"), plan)["methods"] == ["resource_integration", "consensus"]
    with pytest.raises(FormError) as refused:
        validate_submission(get_form("goals-and-tasks"), {**plan, "methods": ["资源整合"]})  # no such label
    assert any("服务方式" in field for field, _ in refused.value.problems)
