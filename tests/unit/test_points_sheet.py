"""Issue 15, part 2: points-based sheets — items with maximum points, evidence per item where the
sheet asks for it, a total and a grade band swflow computes; an agency's sheet through a project."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from swflow.config.errors import FormError
from swflow.db.engine import read_session
from swflow.db.tables import FormSubmission
from swflow.forms_spec import FormSpec, validate_submission

from ._support import pass_up_to_evaluation
from .test_agency_definitions import _agency_template, _definitions, _launch

EVIDENCE = {"path": "attachments/sign-in.pdf", "sha256": "a" * 64}
SHEET: dict[str, Any] = {
    "id": "funder-evaluation",
    "version": 1,
    "title": "出资方末期评估表",
    "clause": "6.1.4",
    "category": "quality_monitoring",
    "fields": [
        {
            "name": "items",
            "label": "评分项",
            "type": "table",
            "required": True,
            "points": {
                "items": [
                    {"key": "plan", "label": "服务计划完整可行", "max": 30},
                    {"key": "records", "label": "过程记录完整", "max": 30, "evidence": True},
                    {"key": "outcome", "label": "服务成效", "max": 40, "evidence": True},
                ],
                "grades": [{"grade": "优秀", "min": 90}, {"grade": "良好", "min": 75}, {"grade": "合格", "min": 60},
                           {"grade": "不合格", "min": 0}],
            },
            "columns": [
                {"name": "item", "label": "评分项", "type": "choice", "required": True},
                {"name": "points", "label": "得分", "type": "number", "required": True},
                {"name": "evidence", "label": "佐证材料", "type": "attachment"},
                {"name": "comment", "label": "评分说明", "type": "text"},
            ],
        },
        {"name": "total", "label": "总分", "type": "number", "required": True, "total_of": "items"},
        {"name": "grade", "label": "等级", "type": "text", "required": True, "grade_of": "items"},
    ],
}  # fmt: skip


def _rows(plan: float = 28, records: float = 25, outcome: float = 34) -> list[dict[str, Any]]:
    return [
        {"item": "plan", "points": plan},
        {"item": "records", "points": records, "evidence": EVIDENCE},
        {"item": "outcome", "points": outcome, "evidence": EVIDENCE},
    ]


def _problems(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(FormError) as refused:
        validate_submission(FormSpec.model_validate(SHEET), data)
    return dict(refused.value.problems)


def test_the_total_and_the_grade_are_computed_and_an_item_may_be_named_by_its_label() -> None:
    form = FormSpec.model_validate(SHEET)
    assert form.fields[0].columns and form.fields[0].columns[0].choices == {
        "plan": "服务计划完整可行",
        "records": "过程记录完整",
        "outcome": "服务成效",
    }  # written once, under points.items
    rows = _rows()
    rows[0]["item"] = "服务计划完整可行"
    clean = validate_submission(form, {"items": rows})
    assert (clean["total"], clean["grade"], clean["items"][0]["item"]) == (87, "良好", "plan")
    assert validate_submission(form, clean) == clean  # the record, submitted again, says the same
    assert validate_submission(form, {"items": _rows(30, 30, 30)})["grade"] == "优秀"
    assert validate_submission(form, {"items": _rows(10, 10, 10)})["grade"] == "不合格"


def test_a_sheet_missing_an_item_repeating_one_or_over_its_maximum_is_refused() -> None:
    rows = _rows(outcome=41)[:2] + [{"item": "plan", "points": 1}]
    problems = _problems({"items": rows})
    assert problems == {
        "评分项（items）": "缺少评分项：服务成效（每一项都要打分）",
        "评分项（items） › 第 3 行 › 评分项（item）": "与第 1 行是同一评分项「服务计划完整可行」",
    }
    assert _problems({"items": _rows(outcome=40.5)}) == {
        "评分项（items） › 第 3 行 › 得分（points）": "「服务成效」的得分须在 0–40 之间"
    }


def test_an_item_that_asks_for_evidence_is_refused_without_it() -> None:
    rows = _rows()
    del rows[2]["evidence"]
    assert _problems({"items": rows}) == {
        "评分项（items） › 第 3 行 › 佐证材料（evidence）": "「服务成效」须附佐证材料"
    }


def test_a_total_or_grade_given_by_hand_must_agree() -> None:
    assert _problems({"items": _rows(), "total": 90, "grade": "优秀"}) == {
        "总分（total）": "应为 87（各评分项得分之和，由系统计算，可以不填）",
        "等级（grade）": "应为 良好（总分 87 对应的等级，由系统计算，可以不填）",
    }
    assert validate_submission(FormSpec.model_validate(SHEET), {"items": _rows(), "total": 87})["total"] == 87


@pytest.mark.parametrize(
    ("change", "wanted"),
    [
        (
            lambda s: s["fields"][0]["columns"].pop(2),
            r"points：评分表须是 table，且有列 item（choice）、points（number）、evidence",
        ),
        (lambda s: s["fields"][0]["points"]["grades"].pop(), r"最低一档的 min 须为 0"),
        (lambda s: s["fields"][0]["points"]["grades"].reverse(), r"等级须从高到低排列"),
        (lambda s: s["fields"][0]["points"]["grades"][0].update(min=120), r"最高一档的 min（120）超过了满分 100"),
        (
            lambda s: s["fields"][1].update(total_of="comment"),
            r"total\.total_of：没有评分表（带 points 的表格）comment",
        ),
        (lambda s: s["fields"][2].update(type="integer"), r"grade_of 只能用于 text 字段"),
        (
            lambda s: s["fields"][0]["columns"][0].update(choices={"plan": "计划"}),
            r"item 列的 choices 须与 points\.items",
        ),
    ],
)
def test_a_sheet_that_does_not_add_up_is_refused_as_a_definition(change: Any, wanted: str) -> None:
    sheet = copy.deepcopy(SHEET)
    change(sheet)
    with pytest.raises(ValueError, match=wanted):
        FormSpec.model_validate(sheet)


def test_an_agency_points_sheet_runs_through_a_project_and_is_archived_with_its_total_and_grade(
    archive_home: Path, people: Any, pass_stage: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    (_definitions(archive_home, "forms") / "funder-evaluation.yaml").write_text(
        yaml.safe_dump(SHEET, allow_unicode=True), encoding="utf-8"
    )
    _agency_template(archive_home, capsys)
    project = _launch("our-elderly")
    pass_up_to_evaluation(pass_stage, project)
    assert pass_stage(project, "evaluation", "funder-evaluation", {"items": _rows(30, 28, 33)}).kind == "approved"
    with read_session() as session:
        sub = session.execute(select(FormSubmission).where(FormSubmission.form_id == "funder-evaluation")).scalar_one()
        assert (sub.data["total"], sub.data["grade"], sub.project_id) == (91, "优秀", project)
