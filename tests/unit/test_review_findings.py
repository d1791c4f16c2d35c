"""What a fresh read of issue 15's forms, sheets, evaluators and instruments found, pinned down: band
edges, sheets that could be forged or crash, rules that named what a template does not have, optional
forms filed from outside the team, instrument definitions that would never match, the evaluator's redo."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from swflow import domain
from swflow.app.cli.main import main
from swflow.config.errors import FormError, RefusedError
from swflow.forms_spec import Baseline, FormContext, FormSpec, get_form, list_forms, validate_submission
from swflow.forms_spec.instrument import Instrument, get_instrument
from swflow.forms_spec.scoring import check_answers, score_answers

from ._support import NOW, SUPERVISOR, WORKER
from .test_evaluator_role import EVALUATOR, at_evaluation, evaluator  # noqa: F401, F811 - fixtures
from .test_points_sheet import SHEET, _rows

OUTSIDER = "qian.worker"  # a worker on no project of these tests


def test_a_sheet_grade_follows_the_total_at_its_band_edge_and_points_keep_two_decimals() -> None:
    form = FormSpec.model_validate(SHEET)
    assert validate_submission(form, {"items": _rows(29.99, 30, 30)})["grade"] == "良好"  # 89.99
    assert validate_submission(form, {"items": _rows(30, 30, 30)})["grade"] == "优秀"  # 90
    with pytest.raises(FormError, match="得分最多保留两位小数"):
        validate_submission(form, {"items": _rows(29.995, 30, 30)})


def test_a_total_typed_without_a_scored_sheet_is_refused() -> None:
    sheet = copy.deepcopy(SHEET)
    sheet["fields"][0]["required"] = False
    with pytest.raises(FormError) as refused:
        validate_submission(FormSpec.model_validate(sheet), {"total": 100, "grade": "优秀"})
    assert dict(refused.value.problems) == {
        "总分（total）": "由「评分项」的得分计算：先为各评分项打分",
        "等级（grade）": "由「评分项」的得分计算：先为各评分项打分",
    }


def test_a_sheet_whose_item_or_points_may_be_left_empty_is_refused_as_a_definition() -> None:
    sheet = copy.deepcopy(SHEET)
    sheet["fields"][0]["columns"][1]["required"] = False
    with pytest.raises(ValueError, match="item 列和 points 列须 required: true"):
        FormSpec.model_validate(sheet)


def test_unique_is_refused_on_a_column_that_has_no_single_value() -> None:
    form = get_form("goals-and-tasks").model_dump(mode="json")
    form["rules"] = [{"kind": "unique", "field": "methods"}]
    with pytest.raises(ValueError, match="unique 的 field 须是表格的一列"):
        FormSpec.model_validate(form)
    table = copy.deepcopy(SHEET) | {"rules": [{"kind": "unique", "field": "items.evidence"}]}
    with pytest.raises(ValueError, match=r"unique 不能用于 attachment 列（items\.evidence）"):
        FormSpec.model_validate(table)


def test_a_numeric_indicator_matches_its_baseline() -> None:
    form = FormSpec.model_validate(
        {"id": "coded-post", "version": 1, "title": "后测（编码指标）", "clause": "6.1.4",
         "fields": [{"name": "post", "label": "后测", "type": "table", "columns": [
             {"name": "indicator", "label": "指标编码", "type": "integer", "required": True},
             {"name": "value", "label": "后测值", "type": "number", "required": True}]}],
         "rules": [{"kind": "has_baseline", "field": "post.indicator"}]}
    )  # fmt: skip
    baseline = Baseline(where="基线", indicators=frozenset({"12"}), marked=True)  # as the archive's rows give it
    context = FormContext(today=NOW.date(), baselines={"b.rows": baseline})
    assert validate_submission(form, {"post": [{"indicator": 12, "value": 3}]}, context)["post"][0]["indicator"] == 12
    with pytest.raises(FormError, match="基线（基线）中没有指标「13」（已有：12）"):
        validate_submission(form, {"post": [{"indicator": 13, "value": 3}]}, context)


def test_every_sample_passes_its_forms_rules_in_a_project_at_the_unit_clock(sample_forms: dict[str, Any]) -> None:
    context = FormContext(
        today=NOW.date(),
        launched=NOW.date() - timedelta(days=800),
        baselines={
            "baseline-measures.indicators": Baseline(
                "基线测量", frozenset(r["indicator"] for r in sample_forms["baseline-measures"]["indicators"]), True
            ),
            "needs-assessment.baseline": Baseline(
                "需求评估", frozenset(r["indicator"] for r in sample_forms["needs-assessment"]["baseline"]), False
            ),
        },
    )
    for form in list_forms():
        if form.id in sample_forms and form.rules:
            validate_submission(form, sample_forms[form.id], context)


def test_a_baseline_reference_that_names_no_table_is_refused_by_templates_validate(
    archive_home: Path, people: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = get_form("outcome-evaluation").model_dump(mode="json") | {"version": 2}
    mine["rules"][1]["baseline"] = "needs-assesment.baseline"  # a typo would switch the rule off
    folder = archive_home / "definitions" / "forms"
    folder.mkdir(parents=True)
    (folder / "outcome-evaluation.yaml").write_text(yaml.safe_dump(mine, allow_unicode=True), encoding="utf-8")
    assert (
        main(["templates", "validate", str(Path(__file__).parents[2] / "config/templates/elderly-care-brief.yaml")])
        == 2
    )
    assert "表单 outcome-evaluation 的 rules.1.baseline: 没有表单 needs-assesment" in capsys.readouterr().err


def test_an_optional_form_is_refused_from_someone_outside_the_team(launch: Any, sample_forms: dict[str, Any]) -> None:
    project_id = launch(template_id="children-youth")
    domain.open_stage(project_id, "assessment", NOW)
    log = sample_forms["data-collection-log"]
    with pytest.raises(RefusedError, match=f"{OUTSIDER} 不是项目 {project_id} 的团队成员"):
        domain.submit_form(project_id, "data-collection-log", OUTSIDER, log, NOW)
    assert domain.submit_form(project_id, "data-collection-log", WORKER, log, NOW).submission_id


@pytest.mark.parametrize(
    ("instrument_id", "answers", "score", "value", "band"),
    [
        ("phq-9", [0, 0, 0, 1, 1, 1, 1, 0, 0], "total", 4, "无或极轻微"),
        ("phq-9", [1, 1, 1, 1, 1, 0, 0, 0, 0], "total", 5, "轻度"),
        ("phq-9", [2, 2, 2, 2, 1, 0, 0, 0, 0], "total", 9, "轻度"),
        ("phq-9", [2, 2, 2, 2, 2, 0, 0, 0, 0], "total", 10, "中度"),
        ("phq-9", [2, 2, 2, 2, 2, 2, 2, 0, 0], "total", 14, "中度"),
        ("phq-9", [3, 3, 3, 3, 3, 0, 0, 0, 0], "total", 15, "中重度"),
        ("phq-9", [3, 3, 3, 3, 3, 3, 1, 0, 0], "total", 19, "中重度"),
        ("phq-9", [3, 3, 3, 3, 3, 3, 2, 0, 0], "total", 20, "重度"),
        ("who-5", [3, 3, 2, 2, 2], "index", 48, "较差"),  # ≤ 50
        ("who-5", [3, 3, 3, 2, 2], "index", 52, "良好"),
        ("who-5", [2, 2, 1, 1, 1], "index", 28, "可能抑郁，建议进一步筛查"),  # ≤ 28
        ("who-5", [2, 2, 2, 1, 1], "index", 32, "较差"),
        ("ucla-3", [2, 2, 1], "total", 5, "不孤独"),
        ("ucla-3", [2, 2, 2], "total", 6, "孤独"),
    ],
)
def test_shipped_instruments_at_their_band_edges(
    instrument_id: str, answers: list[int], score: str, value: int, band: str
) -> None:
    instrument = get_instrument(instrument_id)
    kept, problems = check_answers(instrument, {f"q{n}": a for n, a in enumerate(answers, start=1)})
    assert problems == []
    assert score_answers(instrument, kept)[score] | {"answered": 0} == {"value": value, "band": band, "answered": 0}


@pytest.mark.parametrize(
    ("change", "wanted"),
    [
        (lambda d: d["scores"].append(dict(d["scores"][0])), r"scores：计分 key 重复：total"),
        (lambda d: d["scores"][0].update(items=["q1", "q1", "q2", "q3"]), r"q1 列了两次"),
        (lambda d: d["items"][2].update(show_if={"item": "q1", "equals": ["经常"]}), r"经常 不是 q1 的回答值"),
        (
            lambda d: d["scores"].append(
                {"key": "often", "title": "经常", "method": "count", "items": ["q1"], "counts": [4]}
            ),
            r"scores\.1\.counts：4 不是 q1 的回答值",
        ),  # fmt: skip
    ],
)
def test_an_instrument_whose_conditions_could_never_match_is_refused(change: Any, wanted: str) -> None:
    data = get_instrument("ucla-3").model_dump(mode="json")
    data["scales"]["often"]["points"] = {int(k): v for k, v in data["scales"]["often"]["points"].items()}
    change(data)
    with pytest.raises(ValueError, match=wanted):
        Instrument.model_validate(data)


def test_a_returned_scorecard_goes_back_to_the_evaluator_with_the_comment_addressed_to_them(
    at_evaluation: str,  # noqa: F811 - the fixture imported above
    sample_forms: dict[str, Any],
) -> None:
    project_id = at_evaluation
    domain.submit_form(project_id, "outcome-evaluation", WORKER, sample_forms["outcome-evaluation"], NOW)
    domain.submit_form(project_id, "scorecard", EVALUATOR, sample_forms["scorecard"], NOW)
    comment = "记分卡的“服务对象满意度”评分与满意度调查结果不符，请核对后重新评分"
    decided = domain.record_decision(project_id, "evaluation", SUPERVISOR, "return", comment, NOW, redo=["scorecard"])
    gate = domain.read_gate(project_id, "evaluation")
    assert domain.apply_gate_reply(project_id, "evaluation", gate.attempt, decided.decision_id, NOW).kind == "returned"
    domain.open_stage(project_id, "evaluation", NOW)  # the flow opens the redo round
    tasks = domain.inbox(EVALUATOR)["tasks"]
    assert [t["form"] for t in tasks] == ["scorecard"]
    assert comment in str(tasks[0])  # the evaluator is told why their form came back
    assert domain.inbox(WORKER)["tasks"] == []  # the worker's form stands; nothing reassigned to them
