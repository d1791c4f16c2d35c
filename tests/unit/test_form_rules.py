"""Issue 15, part 4: checks across fields and forms, written as data (`rules:` of a form): each
refusal names the field, and for a rule between two fields or forms, the other one too; a refused
submission writes nothing."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from swflow import domain
from swflow.config.errors import FormError
from swflow.db.engine import read_session
from swflow.db.tables import Event, FormSubmission
from swflow.forms_spec import Baseline, FormContext, FormSpec, get_form, validate_submission

from ._support import NOW, WORKER, pass_up_to_evaluation

TODAY = NOW.date()


def _form(rules: list[dict[str, Any]], **extra_fields: Any) -> dict[str, Any]:
    return {
        "id": "measures-check",
        "version": 1,
        "title": "测量记录",
        "clause": "6.1.1",
        "fields": [
            {"name": "start", "label": "开始日期", "type": "date", "required": True},
            {"name": "end", "label": "结束日期", "type": "date"},
            {"name": "note", "label": "说明", "type": "text"},
            {
                "name": "post",
                "label": "后测",
                "type": "table",
                "columns": [
                    {"name": "indicator", "label": "指标", "type": "text", "required": True},
                    {"name": "measured_on", "label": "测量日期", "type": "date"},
                ],
            },
            *extra_fields.get("fields", []),
        ],
        "rules": rules,
    }


def _problems(form: FormSpec, data: dict[str, Any], context: FormContext | None = None) -> list[tuple[str, str]]:
    with pytest.raises(FormError) as refused:
        validate_submission(form, data, context)
    return refused.value.problems


@pytest.mark.parametrize(
    ("rule", "wanted"),
    [
        ({"kind": "not_future", "field": "note"}, "rules.0.field：not_future 只能用于 date 字段，note 是 text"),
        ({"kind": "unique", "field": "post.unit"}, "rules.0.field：表单没有字段 post.unit"),
        ({"kind": "not_before", "field": "end", "other": "note"}, "rules.0.other：note（text）与 end（date）类型不同"),
        (
            {"kind": "not_before", "field": "post.measured_on", "other": "start"},
            "rules.0.other：表格 post 没有列 start",
        ),
        ({"kind": "unique", "field": "note"}, "unique 的 field 须是表格的一列"),
        ({"kind": "not_future", "field": "end", "other": "start"}, "other 只用于 not_before"),
    ],
)
def test_a_rule_naming_what_the_form_does_not_have_is_refused_with_its_path(rule: dict[str, Any], wanted: str) -> None:
    with pytest.raises(ValueError, match=wanted):
        FormSpec.model_validate(_form([rule]))


def test_not_before_names_both_fields_and_needs_no_project() -> None:
    form = FormSpec.model_validate(_form([{"kind": "not_before", "field": "end", "other": "start"}]))
    assert _problems(form, {"start": "2026-03-10", "end": "2026-03-09"}) == [
        ("结束日期（end）", "不能早于开始日期（start）的 2026-03-10")
    ]
    assert validate_submission(form, {"start": "2026-03-10", "end": "2026-03-10"})["end"] == "2026-03-10"


def test_unique_rows_name_both_rows_whitespace_and_case_aside() -> None:
    form = FormSpec.model_validate(_form([{"kind": "unique", "field": "post.indicator"}]))
    rows = [{"indicator": "孤独感 平均分"}, {"indicator": "探访比例"}, {"indicator": " 孤独感  平均分 "}]
    assert _problems(form, {"start": "2026-03-01", "post": rows}) == [
        ("后测（post） › 第 3 行 › 指标（indicator）", "与第 1 行重复（孤独感  平均分），每行须不同")
    ]


def test_dates_of_what_happened_are_not_after_the_day_of_submission() -> None:
    form = FormSpec.model_validate(_form([{"kind": "not_future", "field": "post.measured_on"}]))
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    data = {"start": "2026-01-01", "post": [{"indicator": "a", "measured_on": TODAY.isoformat()}]}
    assert validate_submission(form, data, FormContext(today=TODAY))["post"][0]["measured_on"] == str(TODAY)
    data["post"].append({"indicator": "b", "measured_on": tomorrow})
    assert _problems(form, data, FormContext(today=TODAY)) == [
        ("后测（post） › 第 2 行 › 测量日期（measured_on）", f"不能晚于提交当天（{TODAY}）：记录的是已经发生的事")
    ]
    assert validate_submission(form, data)["post"][1]["measured_on"] == tomorrow  # no project, no today


def test_within_project_runs_from_the_launch_day_to_the_close_or_today() -> None:
    form = FormSpec.model_validate(_form([{"kind": "within_project", "field": "start"}]))
    running = FormContext(today=date(2026, 6, 1), launched=date(2026, 3, 2))
    assert _problems(form, {"start": "2026-03-01"}, running) == [
        ("开始日期（start）", "不能早于项目启动日（2026-03-02）")
    ]
    assert _problems(form, {"start": "2026-06-02"}, running) == [
        ("开始日期（start）", "不能晚于提交当天（2026-06-01）")
    ]
    closed = FormContext(today=date(2026, 9, 1), launched=date(2026, 3, 2), closed=date(2026, 8, 31))
    assert _problems(form, {"start": "2026-09-01"}, closed) == [
        ("开始日期（start）", "不能晚于项目结项日（2026-08-31）")
    ]
    assert validate_submission(form, {"start": "2026-08-31"}, closed)["start"] == "2026-08-31"


def test_a_post_measure_needs_a_baseline_of_the_same_indicator() -> None:
    form = FormSpec.model_validate(_form([{"kind": "has_baseline", "field": "post.indicator"}]))
    data = {"start": "2026-01-01", "post": [{"indicator": "探访比例"}, {"indicator": "睡眠质量"}]}
    where = "基线测量 › 指标"
    baseline = Baseline(where=where, indicators=frozenset({"探访比例", "孤独感平均分"}), marked=True)
    assert _problems(form, data, FormContext(today=TODAY, baselines={"b.indicators": baseline})) == [
        (
            "后测（post） › 第 2 行 › 指标（indicator）",
            f"基线（{where}）中没有指标「睡眠质量」（已有：孤独感平均分、探访比例）",
        )
    ]
    none_yet = Baseline(where=where, indicators=frozenset(), marked=True, submitted=False)
    problems = _problems(form, data, FormContext(today=TODAY, baselines={"b.indicators": none_yet}))
    assert len(problems) == 2 and all("本项目还没有提交基线（基线测量 › 指标）" in rule for _, rule in problems)
    assert validate_submission(form, data, FormContext(today=TODAY))["post"]  # a template with no baseline form


def test_shipped_forms_say_what_they_check() -> None:
    kinds = {
        (form_id, r.kind, r.field)
        for form_id in ("evaluation-results", "service-plan")
        for r in get_form(form_id).rules
    }
    assert kinds == {
        ("evaluation-results", "unique", "post.indicator"),
        ("evaluation-results", "has_baseline", "post.indicator"),
        ("evaluation-results", "not_future", "post.measured_on"),
        (
            "service-plan",
            "not_before",
            "end_date",
        ),
    }


def _written(project_id: str) -> tuple[int, int]:
    with read_session() as session:
        subs = session.scalar(
            select(func.count()).select_from(FormSubmission).where(FormSubmission.project_id == project_id)
        )
        events = session.scalar(select(func.count()).select_from(Event))
    return int(subs or 0), int(events or 0)


def test_an_outcome_post_measure_with_no_baseline_is_refused_naming_both_forms(
    project_id: str, pass_stage: Any, sample_forms: dict[str, Any]
) -> None:
    pass_up_to_evaluation(pass_stage, project_id)
    domain.open_stage(project_id, "evaluation", NOW)
    outcome = sample_forms["outcome-evaluation"]
    outcome["post_measures"].append({"indicator": "社区参与率", "value": 40})
    outcome["post_measures"].append(dict(outcome["post_measures"][0]))
    before = _written(project_id)
    with pytest.raises(FormError) as refused:
        domain.submit_form(project_id, "outcome-evaluation", WORKER, outcome, NOW)
    problems = dict(refused.value.problems)
    assert "后测（post_measures） › 第 3 行 › 指标（indicator）" in problems
    assert (
        "基线（需求评估表 › 基线测量）中没有指标「社区参与率」"
        in problems["后测（post_measures） › 第 3 行 › 指标（indicator）"]
    )
    assert problems["后测（post_measures） › 第 4 行 › 指标（indicator）"].startswith("与第 1 行重复")
    assert _written(project_id) == before


def test_an_activity_recorded_for_tomorrow_is_refused_and_nothing_is_written(
    project_id: str, pass_stage: Any, sample_forms: dict[str, Any]
) -> None:
    for stage, form in (("assessment", "needs-assessment"), ("planning", "service-plan")):
        assert pass_stage(project_id, stage, form).kind == "approved"
    domain.open_stage(project_id, "execution", NOW)
    record = {**sample_forms["activity-record"], "activity_date": (TODAY + timedelta(days=1)).isoformat()}
    before = _written(project_id)
    with pytest.raises(FormError, match=r"活动日期（activity_date）：不能晚于提交当天"):
        domain.submit_form(project_id, "activity-record", WORKER, record, NOW)
    assert _written(project_id) == before


def test_the_stage_that_records_a_schedule_is_due_when_its_last_activity_ends(
    launch: Any, sample_forms: dict[str, Any]
) -> None:
    from swflow.db.tables import Stage, WorkItem

    from ._registry import ASSESSMENT, PARTICIPATION, PLANNING, _pass

    schedule = sample_forms["service-schedule"]
    schedule["activities"][1] |= {"start": "2026-04-01", "duration_days": 200}  # well past the stage's 90 days
    project_id = launch(template_id=PARTICIPATION)
    _pass(project_id, "assessment", ASSESSMENT, sample_forms)
    _pass(project_id, "planning", PLANNING, sample_forms)
    domain.open_stage(project_id, "execution", NOW)
    with read_session() as session:
        stage = session.execute(
            select(Stage).where(Stage.project_id == project_id, Stage.key == "execution")
        ).scalar_one()
        items = {
            i.activity: i.due_at
            for i in session.execute(select(WorkItem).where(WorkItem.stage_id == stage.id)).scalars()
        }
    assert stage.due_at == items["a2"] and items["a2"] > items[""]  # the forms keep the stage's own duration
    assert stage.due_at.date() > date(2027, 1, 1)
