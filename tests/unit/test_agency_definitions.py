"""Issue 15, part 1: the agency's own forms and templates in `$SWFLOW_HOME/definitions/`, loaded beside
swflow's, checked the same way; a higher version of one of swflow's wins for new projects only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from swflow import domain
from swflow.app.cli.main import main
from swflow.config.errors import DefinitionError
from swflow.config.templates import get_template

from ._support import FLOW_RUN_ID, MANAGER, NOW, SECOND_WORKER, SUPERVISOR, WORKER, pass_up_to_evaluation

FUNDER_SHEET = {
    "id": "funder-evaluation",
    "version": 1,
    "title": "出资方末期评估表",
    "clause": "6.1.4",
    "category": "quality_monitoring",
    "fields": [
        {"name": "overall_grade", "label": "综合等级", "type": "choice", "required": True,
         "choices": {"excellent": "优秀", "good": "良好", "pass": "合格", "fail": "不合格"}},
        {"name": "points", "label": "得分", "type": "integer", "required": True, "min": 0, "max": 100},
        {"name": "evidence", "label": "佐证材料说明", "type": "textarea", "required": True},
    ],
}  # fmt: skip


def _definitions(home: Path, kind: str) -> Path:
    folder = home / "definitions" / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _agency_template(home: Path, capsys: pytest.CaptureFixture[str], **evaluation: Any) -> Path:
    """`templates new --from elderly-care-brief --id our-elderly`, its evaluation stage given the funder's sheet."""
    assert main(["templates", "new", "--from", "elderly-care-brief", "--id", "our-elderly"]) == 0
    path = home / "definitions" / "templates" / "our-elderly.yaml"
    assert str(path) in capsys.readouterr().out
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["stages"][-1] = {**data["stages"][-1], "forms": ["funder-evaluation"], **evaluation}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _launch(template_id: str) -> str:
    request = domain.LaunchRequest(
        template_id=template_id,
        name="本机构模板的项目",
        community="幸福社区",
        manager_id=MANAGER,
        supervisor_id=SUPERVISOR,
        worker_ids=[WORKER, SECOND_WORKER],
    )
    plan = domain.prepare_launch(request, NOW.date())
    domain.record_launch(plan, FLOW_RUN_ID, NOW)
    return plan.project_id


def test_an_agency_form_in_an_agency_template_runs_through_a_whole_project(
    archive_home: Path, people: Any, pass_stage: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    (_definitions(archive_home, "forms") / "funder-evaluation.yaml").write_text(
        yaml.safe_dump(FUNDER_SHEET, allow_unicode=True), encoding="utf-8"
    )
    path = _agency_template(archive_home, capsys)
    assert main(["templates", "validate", str(path)]) == 0
    assert main(["forms", "show", "funder-evaluation"]) == 0
    assert "excellent=优秀" in capsys.readouterr().out

    project = _launch("our-elderly")
    pass_up_to_evaluation(pass_stage, project)
    sheet = {"overall_grade": "良好", "points": 86, "evidence": "活动签到表、满意度问卷 60 份"}  # a label for the grade
    assert pass_stage(project, "evaluation", "funder-evaluation", sheet).kind == "approved"
    domain.close_project(project, NOW)
    status = domain.project_status(project)
    assert status["status"] == "completed" and status["template"]["id"] == "our-elderly"


def test_a_template_naming_a_form_no_one_has_is_refused_with_its_path(
    archive_home: Path, people: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _agency_template(archive_home, capsys)  # names funder-evaluation, which is not written
    assert main(["templates", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "stages.3.forms" in err and "没有表单 funder-evaluation" in err
    with pytest.raises(DefinitionError, match="funder-evaluation"):
        _launch("our-elderly")


def test_a_template_naming_an_unknown_escalation_policy_is_refused(
    archive_home: Path, people: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    (_definitions(archive_home, "forms") / "funder-evaluation.yaml").write_text(
        yaml.safe_dump(FUNDER_SHEET, allow_unicode=True), encoding="utf-8"
    )
    path = _agency_template(archive_home, capsys, escalation_policy="weekly-nagging")
    assert main(["templates", "validate", str(path)]) == 2
    assert "stages.3.escalation_policy: 没有升级策略 weekly-nagging" in capsys.readouterr().err


def test_a_higher_version_of_a_shipped_template_wins_for_new_projects_only(
    archive_home: Path, people: Any, launch: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    running = launch()  # elderly-care-brief v1, pinned at launch
    assert main(["templates", "new", "--from", "elderly-care-brief"]) == 0
    path = archive_home / "definitions" / "templates" / "elderly-care-brief.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data["version"] == get_template("elderly-care-brief").version == 2
    data["stages"][0]["duration_days"] = 3
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    newer = _launch("elderly-care-brief")
    assert domain.project_status(newer)["template"]["version"] == 2
    assert domain.project_status(running)["template"]["version"] == 1


def test_an_agency_file_that_does_not_raise_the_version_is_refused_naming_it(
    archive_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = FUNDER_SHEET | {"id": "needs-assessment", "version": 1}
    path = _definitions(archive_home, "forms") / "needs.yaml"
    path.write_text(yaml.safe_dump(shipped, allow_unicode=True), encoding="utf-8")
    assert main(["forms", "list"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "版本须高于 1" in err


def test_templates_new_refuses_to_overwrite_or_take_a_taken_id(
    archive_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["templates", "new", "--from", "elderly-care-brief", "--id", "disability"]) == 3
    assert "已有模板 disability" in capsys.readouterr().err
    assert main(["templates", "new", "--from", "elderly-care-brief", "--id", "ours"]) == 0
    assert main(["templates", "new", "--from", "elderly-care-brief", "--id", "ours"]) == 3  # now it is taken
    assert "已有模板 ours" in capsys.readouterr().err
    assert sorted(p.name for p in (archive_home / "definitions" / "templates").iterdir()) == ["ours.yaml"]


def test_a_scorecard_whose_indicators_are_not_the_forms_is_refused_by_templates_validate(
    archive_home: Path, people: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from swflow.config.scorecards import get_scorecard

    card = get_scorecard("default").model_dump(mode="json")
    card |= {"id": "funder-card", "version": 1}
    card["dimensions"][0]["indicators"][0]["key"] = "needs_met"  # the scorecard form does not list it
    (_definitions(archive_home, "scorecards") / "funder-card.yaml").write_text(
        yaml.safe_dump(card, allow_unicode=True), encoding="utf-8"
    )
    assert main(["templates", "new", "--from", "children-youth", "--id", "our-children"]) == 0
    path = archive_home / "definitions" / "templates" / "our-children.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    capsys.readouterr()
    for scorecard, wanted in (
        ("funder-card", "stages.3.forms: 表单 scorecard v1 的 scores.indicator 选项与记分卡 funder-card v1 的指标不一致"
         "（表单缺少：needs_met；记分卡没有：needs_identified）"),
        ("no-such-card", "scorecard: 没有记分卡 no-such-card"),
    ):  # fmt: skip
        path.write_text(yaml.safe_dump({**data, "scorecard": scorecard}, allow_unicode=True), encoding="utf-8")
        assert main(["templates", "validate", str(path)]) == 2
        assert wanted in capsys.readouterr().err
    path.write_text(yaml.safe_dump({**data, "scorecard": "default"}, allow_unicode=True), encoding="utf-8")
    assert main(["templates", "validate", str(path)]) == 0
