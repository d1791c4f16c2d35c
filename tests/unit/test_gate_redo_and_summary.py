"""Gate acts on a throw-away SQLite archive: what `return --redo` reopens, and what the gate tells
people (its summary: stage, round, step and forms, never a sensitive field or a comment)."""

# ruff: noqa: F811 - the tests' parameters name the fixtures imported from test_gate_acts
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from swflow import domain
from swflow.app.cli.main import main
from swflow.archive.history import stage_summary_markdown
from swflow.config.errors import FormError, RefusedError

from ._support import NOW, SUPERVISOR, WORKER
from .test_gate_acts import (  # noqa: F401  (fixtures)
    _apply,
    _decide,
    _events,
    _stage,
    submit_assessment,
    template_like,
    two_step,
)

# return --redo


def _two_forms(raw: dict[str, Any]) -> None:
    """Assessment asks for the assessment and the plan; the planning stage is dropped."""
    raw["stages"][0]["forms"] = ["needs-assessment", "service-plan"]
    del raw["stages"][1]


@pytest.fixture
def two_forms(launch: Callable[..., str], template_like: Callable[..., str], sample_forms: dict[str, Any]) -> str:
    project_id = launch(template_id=template_like("two-forms", _two_forms))
    domain.open_stage(project_id, "assessment", NOW)
    for form in ("needs-assessment", "service-plan"):
        domain.submit_form(project_id, form, WORKER, sample_forms[form], NOW)
    return project_id


def test_redo_naming_a_form_not_in_the_stage_is_bad_input(awaiting_assessment: str) -> None:
    with pytest.raises(FormError, match="service-plan 不是阶段「需求评估」的表单") as caught:
        _decide(awaiting_assessment, SUPERVISOR, "return", "请修改", redo=["service-plan"])

    assert [field for field, _ in caught.value.problems] == ["--redo"]
    assert _stage(awaiting_assessment)["decisions"] == []
    assert _stage(awaiting_assessment)["status"] == "awaiting_decision"


def test_return_with_redo_reopens_only_that_form(two_forms: str, sample_forms: dict[str, Any]) -> None:
    returned = _decide(two_forms, SUPERVISOR, "return", "服务计划预算需细化", redo=["service-plan"])
    assert _events(two_forms, "gate.decided")[0]["payload"]["redo"] == ["service-plan"]

    assert _apply(two_forms, returned.decision_id).kind == "returned"

    stage = _stage(two_forms)
    assert [(i["form"], i["status"]) for i in stage["work_items"] if i["round"] == 2] == [("service-plan", "open")]
    assert [t["form"] for t in domain.inbox(WORKER)["tasks"]] == ["service-plan"]
    with pytest.raises(RefusedError):
        domain.submit_form(two_forms, "needs-assessment", WORKER, sample_forms["needs-assessment"], NOW)

    domain.submit_form(two_forms, "service-plan", WORKER, sample_forms["service-plan"], NOW)

    assert (_stage(two_forms)["status"], _stage(two_forms)["round"]) == ("awaiting_decision", 2)


def test_return_without_redo_reopens_every_form(two_forms: str) -> None:
    returned = _decide(two_forms, SUPERVISOR, "return", "请全部修改")
    _apply(two_forms, returned.decision_id)

    reopened = [i["form"] for i in _stage(two_forms)["work_items"] if i["round"] == 2]
    assert sorted(reopened) == ["needs-assessment", "service-plan"]


# what the gate tells people


def test_gate_summary_names_stage_round_step_and_forms(two_step: str) -> None:
    summary = domain.gate_summary(two_step, "assessment")

    assert "阶段「需求评估」第 1 轮审核" in summary
    assert "第 1/2 步" in summary
    assert "审核人：li.supervisor" in summary
    assert "需求评估表（needs-assessment）：已提交" in summary


def test_gate_summary_tells_submitted_from_missing_forms(
    launch: Callable[..., str], template_like: Callable[..., str], sample_forms: dict[str, Any]
) -> None:
    project_id = launch(template_id=template_like("two-forms", _two_forms))
    domain.open_stage(project_id, "assessment", NOW)
    domain.submit_form(project_id, "needs-assessment", WORKER, sample_forms["needs-assessment"], NOW)

    summary = domain.gate_summary(project_id, "assessment")

    assert "（needs-assessment）：已提交" in summary
    assert "（service-plan）：未提交" in summary


def test_gate_summary_carries_no_sensitive_field(two_step: str, sample_forms: dict[str, Any]) -> None:
    sensitive = sample_forms["needs-assessment"]["key_cases"]
    assert "赵某某" in sensitive
    first = domain.gate_summary(two_step, "assessment")
    _decide(two_step, SUPERVISOR, comment="同意")

    second = domain.gate_summary(two_step, "assessment")

    assert "第 2/2 步" in second
    assert "审核人：chen.director" in second
    for summary in (first, second):
        assert "赵某某" not in summary
        assert sensitive not in summary


def test_gate_summary_after_a_return_says_so_without_the_comment(
    awaiting_assessment: str, sample_forms: dict[str, Any]
) -> None:
    """The Prefect UI is an operator's console: a comment that may name a person stays in the archive."""
    comment = "请补充独居老人王某某的情况"
    _apply(awaiting_assessment, _decide(awaiting_assessment, SUPERVISOR, "return", comment).decision_id)
    domain.submit_form(awaiting_assessment, "needs-assessment", WORKER, sample_forms["needs-assessment-revised"], NOW)

    summary = domain.gate_summary(awaiting_assessment, "assessment")
    markdown = stage_summary_markdown(awaiting_assessment, "assessment")

    assert "第 2 轮审核" in summary and "上轮已退回修改" in summary
    assert "王某某" not in summary and "王某某" not in markdown
    assert "return" in markdown and SUPERVISOR in markdown


def test_gate_summary_shows_submission_time_in_local_time(awaiting_assessment: str) -> None:
    assert NOW.strftime("已提交 %Y-%m-%d %H:%M") in domain.gate_summary(awaiting_assessment, "assessment")


# the command line (exit 2 bad input, 3 refused; the reason on stderr)


def test_cli_return_redoing_an_unknown_form_exits_2(
    awaiting_assessment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["return", awaiting_assessment, "assessment", "--by", SUPERVISOR, "--comment", "改", "--redo", "budget"]
    assert main(argv) == 2
    assert "--redo：budget" in capsys.readouterr().err
    assert _stage(awaiting_assessment)["decisions"] == []
