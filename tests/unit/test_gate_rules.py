"""Who may decide a gate: the supervisor named at launch, never on their own work (four eyes)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from archive.rules import GateContext, StageStatus, pause_key, role_problems, why_not_submit
from archive.rules import why_not_decide as why_not

SUPERVISOR, MANAGER, WORKER = "li.supervisor", "zhou.pm", "wang.worker"


def _gate(**changes: Any) -> GateContext:
    gate = GateContext(
        stage_title="需求评估",
        stage_status=StageStatus.AWAITING_DECISION,
        approvers=("supervisor",),
        supervisor_id=SUPERVISOR,
        manager_id=MANAGER,
        submitters=frozenset({WORKER}),
        open_forms=(),
    )
    return replace(gate, **changes)


def test_projects_supervisor_may_decide_a_waiting_gate() -> None:
    assert why_not(_gate(), SUPERVISOR, ["supervisor"]) is None


def test_another_supervisor_may_not_decide() -> None:
    reason = why_not(_gate(), "sun.supervisor", ["supervisor"])
    assert reason is not None
    assert "sun.supervisor 不是本阶段的审核人" in reason


def test_worker_who_filled_the_form_may_not_decide() -> None:
    reason = why_not(_gate(), WORKER, ["worker"])
    assert reason is not None
    assert "不是本阶段的审核人" in reason


def test_supervisor_cannot_approve_own_submission() -> None:
    gate = _gate(submitters=frozenset({SUPERVISOR}))
    reason = why_not(gate, SUPERVISOR, ["supervisor"])
    assert reason is not None
    assert "四眼原则" in reason
    assert "提交过本阶段的表单" in reason


def test_project_manager_cannot_approve_their_own_project() -> None:
    gate = _gate(supervisor_id=MANAGER)
    reason = why_not(gate, MANAGER, ["manager", "supervisor"])
    assert reason is not None
    assert "四眼原则" in reason
    assert "项目主管" in reason


def test_director_who_manages_the_project_cannot_approve_it() -> None:
    gate = _gate(approvers=("director",), manager_id="chen.director")
    reason = why_not(gate, "chen.director", ["director", "manager"])
    assert reason is not None
    assert "项目主管" in reason


def test_director_may_decide_a_gate_that_names_directors() -> None:
    gate = _gate(approvers=("supervisor", "director"))
    assert why_not(gate, "chen.director", ["director"]) is None


def test_director_may_not_decide_a_supervisor_gate() -> None:
    assert why_not(_gate(), "chen.director", ["director"]) is not None


def test_gate_with_open_forms_cannot_be_decided() -> None:
    gate = _gate(stage_status=StageStatus.OPEN, open_forms=("needs-assessment",))
    reason = why_not(gate, SUPERVISOR, ["supervisor"])
    assert reason is not None
    assert "还有表单未提交（needs-assessment）" in reason


def test_stage_not_yet_opened_cannot_be_decided() -> None:
    assert why_not(_gate(stage_status=StageStatus.PENDING), SUPERVISOR, ["supervisor"]) is not None


def test_gate_already_decided_this_round_cannot_be_decided_again() -> None:
    reason = why_not(_gate(stage_status=StageStatus.DECIDED), SUPERVISOR, ["supervisor"])
    assert reason is not None
    assert "already decided" in reason


def test_closed_stage_cannot_be_decided() -> None:
    for closed in (StageStatus.APPROVED, StageStatus.REJECTED):
        reason = why_not(_gate(stage_status=closed), SUPERVISOR, ["supervisor"])
        assert reason is not None
        assert "已结束" in reason


def test_only_the_assignee_may_submit_to_an_open_stage() -> None:
    assert why_not_submit(StageStatus.OPEN, "需求评估", True, WORKER) is None
    assert why_not_submit(StageStatus.AWAITING_DECISION, "需求评估", True, WORKER) is None
    refused = why_not_submit(StageStatus.OPEN, "需求评估", False, "zhao.worker")
    assert refused == "zhao.worker 不是此表单的负责人"


def test_decided_or_pending_stage_takes_no_submission() -> None:
    for status in (StageStatus.PENDING, StageStatus.DECIDED, StageStatus.APPROVED):
        assert why_not_submit(status, "需求评估", True, WORKER) is not None


def test_role_problems_name_each_person_lacking_the_role() -> None:
    problems = role_problems(
        [
            (MANAGER, "manager", ["manager"]),
            (WORKER, "supervisor", ["worker"]),
            ("new.hire", "worker", []),
        ]
    )
    assert problems == [
        "wang.worker 没有「supervisor」角色（现有：worker）",
        "new.hire 没有「worker」角色（现有：无）",
    ]


def test_pause_key_names_stage_and_round() -> None:
    assert pause_key("assessment", 1, 1) == "assessment-gate-1"
    assert pause_key("assessment", 2, 1) == "assessment-gate-2"


def test_pause_key_after_refused_inputs_counts_the_attempt() -> None:
    assert pause_key("assessment", 1, 2) == "assessment-gate-1-attempt-2"
    assert pause_key("evaluation", 3, 5) == "evaluation-gate-3-attempt-5"
