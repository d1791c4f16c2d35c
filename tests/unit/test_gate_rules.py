"""Who may decide, claim or delegate a gate: the supervisor named at launch or a role group, step by
step, never on their own work (four eyes); and who is qualified (§8.1.1)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from swflow.domain.people.rules import qualification_problem, role_problems
from swflow.domain.projects.rules import (
    GateContext,
    StageStatus,
    pause_key,
    why_not_claim,
    why_not_delegate,
    why_not_submit,
)
from swflow.domain.projects.rules import why_not_decide as why_not

SUPERVISOR, MANAGER, WORKER = "li.supervisor", "zhou.pm", "wang.worker"
OTHER_SUPERVISOR, DIRECTOR = "sun.supervisor", "chen.director"
TODAY = date(2026, 3, 2)


def _gate(**changes: Any) -> GateContext:
    gate = GateContext(
        stage_title="需求评估",
        stage_status=StageStatus.AWAITING_DECISION,
        steps=("supervisor",),
        step=1,
        assignee=None,
        supervisor_id=SUPERVISOR,
        manager_id=MANAGER,
        manager_may_decide=False,
        submitters=frozenset({WORKER}),
        earlier_deciders=frozenset(),
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
    gate = _gate(steps=("director",), manager_id="chen.director")
    reason = why_not(gate, "chen.director", ["director", "manager"])
    assert reason is not None
    assert "项目主管" in reason


def test_director_may_decide_the_director_step_of_a_gate() -> None:
    gate = _gate(steps=("supervisor", "director"), step=2, earlier_deciders=frozenset({SUPERVISOR}))
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


def test_director_may_not_decide_the_supervisor_step_of_a_two_step_gate() -> None:
    gate = _gate(steps=("supervisor", "director"), step=1)
    reason = why_not(gate, DIRECTOR, ["director"])
    assert reason is not None
    assert "chen.director 不是本阶段的审核人" in reason


def test_any_supervisor_may_decide_a_supervisors_group_step() -> None:
    gate = _gate(steps=("supervisors",))
    assert why_not(gate, OTHER_SUPERVISOR, ["supervisor"]) is None


def test_person_outside_the_role_group_may_not_decide() -> None:
    gate = _gate(steps=("supervisor", "director"), step=2, earlier_deciders=frozenset({SUPERVISOR}))
    reason = why_not(gate, OTHER_SUPERVISOR, ["supervisor"])
    assert reason is not None
    assert "sun.supervisor 不是本阶段的审核人" in reason
    assert "机构负责人" in reason


def test_director_may_not_decide_a_supervisors_group_step() -> None:
    reason = why_not(_gate(steps=("supervisors",)), DIRECTOR, ["director"])
    assert reason is not None
    assert "不是本阶段的审核人" in reason
    assert "督导" in reason


def test_member_of_the_group_who_submitted_a_form_may_not_decide() -> None:
    gate = _gate(steps=("supervisors",), submitters=frozenset({WORKER, OTHER_SUPERVISOR}))
    reason = why_not(gate, OTHER_SUPERVISOR, ["worker", "supervisor"])
    assert reason is not None
    assert "四眼原则" in reason
    assert "提交过本阶段的表单" in reason


def test_manager_in_the_role_group_may_not_decide_by_default() -> None:
    gate = _gate(steps=("supervisors",))
    reason = why_not(gate, MANAGER, ["manager", "supervisor"])
    assert reason is not None
    assert "项目主管" in reason


def test_manager_may_decide_when_the_template_allows_it() -> None:
    gate = _gate(steps=("supervisors",), manager_may_decide=True)
    assert why_not(gate, MANAGER, ["manager", "supervisor"]) is None


def test_decider_of_step_one_may_not_decide_step_two() -> None:
    gate = _gate(steps=("supervisors", "director"), step=2, earlier_deciders=frozenset({"zheng.both"}))
    reason = why_not(gate, "zheng.both", ["supervisor", "director"])
    assert reason is not None
    assert "四眼原则" in reason
    assert "前一步" in reason
    assert why_not(gate, DIRECTOR, ["director"]) is None


def test_claimed_group_step_is_decided_by_the_claimer_only() -> None:
    gate = _gate(steps=("supervisors",), assignee=OTHER_SUPERVISOR)
    reason = why_not(gate, SUPERVISOR, ["supervisor"])
    assert reason is not None
    assert "li.supervisor 不是本阶段的审核人" in reason
    assert "sun.supervisor" in reason
    assert why_not(gate, OTHER_SUPERVISOR, ["supervisor"]) is None


def test_delegated_supervisor_step_is_decided_by_the_delegate_only() -> None:
    gate = _gate(assignee=OTHER_SUPERVISOR)
    reason = why_not(gate, SUPERVISOR, ["supervisor"])
    assert reason is not None
    assert "li.supervisor 不是本阶段的审核人" in reason
    assert why_not(gate, OTHER_SUPERVISOR, ["supervisor"]) is None


# claiming


def test_member_may_claim_an_unclaimed_group_step() -> None:
    assert why_not_claim(_gate(steps=("supervisors",)), OTHER_SUPERVISOR, ["supervisor"]) is None


def test_step_of_the_projects_supervisor_cannot_be_claimed() -> None:
    reason = why_not_claim(_gate(), SUPERVISOR, ["supervisor"])
    assert reason is not None
    assert "无需认领" in reason


def test_non_member_cannot_claim_a_group_step() -> None:
    reason = why_not_claim(_gate(steps=("director",)), SUPERVISOR, ["supervisor"])
    assert reason is not None
    assert "不是本阶段的审核人" in reason


def test_claimed_step_cannot_be_claimed_by_another_member() -> None:
    gate = _gate(steps=("supervisors",), assignee=OTHER_SUPERVISOR)
    reason = why_not_claim(gate, SUPERVISOR, ["supervisor"])
    assert reason is not None
    assert "已由 sun.supervisor 认领" in reason


def test_claimer_claiming_again_is_told_they_hold_it() -> None:
    gate = _gate(steps=("supervisors",), assignee=OTHER_SUPERVISOR)
    assert why_not_claim(gate, OTHER_SUPERVISOR, ["supervisor"]) == "sun.supervisor 已认领本步审核"


def test_member_who_submitted_a_form_cannot_claim() -> None:
    gate = _gate(steps=("supervisors",), submitters=frozenset({OTHER_SUPERVISOR}))
    reason = why_not_claim(gate, OTHER_SUPERVISOR, ["supervisor"])
    assert reason is not None
    assert "四眼原则" in reason


def test_manager_cannot_claim_unless_the_template_allows_it() -> None:
    gate = _gate(steps=("supervisors",))
    assert why_not_claim(gate, MANAGER, ["manager", "supervisor"]) is not None
    assert why_not_claim(replace(gate, manager_may_decide=True), MANAGER, ["manager", "supervisor"]) is None


@pytest.mark.parametrize("status", [StageStatus.OPEN, StageStatus.DECIDED, StageStatus.APPROVED])
def test_step_cannot_be_claimed_unless_the_gate_waits(status: str) -> None:
    gate = _gate(steps=("supervisors",), stage_status=status, open_forms=("needs-assessment",))
    assert why_not_claim(gate, OTHER_SUPERVISOR, ["supervisor"]) is not None


# delegating


def _delegate(gate: GateContext, by: str = SUPERVISOR, to: str = OTHER_SUPERVISOR, **kw: Any) -> str | None:
    args: dict[str, Any] = {"by_roles": ["supervisor"], "to_roles": ["supervisor"], "to_qualification": None, **kw}
    return why_not_delegate(gate, by, args["by_roles"], to, args["to_roles"], args["to_qualification"])


def test_projects_supervisor_may_delegate_to_a_qualified_supervisor() -> None:
    assert _delegate(_gate()) is None


def test_supervisor_may_delegate_while_forms_are_still_open() -> None:
    assert _delegate(_gate(stage_status=StageStatus.OPEN, open_forms=("needs-assessment",))) is None


def test_delegate_without_the_steps_role_is_refused() -> None:
    reason = _delegate(_gate(), to=WORKER, to_roles=["worker"])
    assert reason == "受托人 wang.worker 没有「督导」角色"


def test_delegate_without_a_valid_qualification_is_refused() -> None:
    problem = "wu.supervisor 的资格证书已过期（有效期至 2025-06-30），没有有效的证书或学历（§8.1.1）"
    assert _delegate(_gate(), to="wu.supervisor", to_qualification=problem) == problem


def test_supervisor_cannot_delegate_to_themselves() -> None:
    assert _delegate(_gate(), to=SUPERVISOR) == "不能委托给自己"


def test_someone_who_is_not_the_decider_cannot_delegate() -> None:
    reason = _delegate(_gate(), by=OTHER_SUPERVISOR, to="wu.supervisor")
    assert reason is not None
    assert "sun.supervisor 不是本阶段的审核人" in reason


def test_supervisor_who_delegated_cannot_delegate_again() -> None:
    reason = _delegate(_gate(assignee=OTHER_SUPERVISOR), to="wu.supervisor")
    assert reason is not None
    assert "li.supervisor 不是本阶段的审核人" in reason


def test_delegate_who_submitted_a_form_is_refused() -> None:
    reason = _delegate(_gate(submitters=frozenset({OTHER_SUPERVISOR})))
    assert reason is not None
    assert "四眼原则" in reason


def test_group_step_must_be_claimed_before_it_is_delegated() -> None:
    gate = _gate(steps=("director",))
    reason = _delegate(gate, by=DIRECTOR, to="he.director", by_roles=["director"], to_roles=["director"])
    assert reason is not None
    assert "须先认领" in reason


def test_claimer_may_delegate_a_group_step_to_another_member() -> None:
    gate = _gate(steps=("director",), assignee=DIRECTOR)
    assert _delegate(gate, by=DIRECTOR, to="he.director", by_roles=["director"], to_roles=["director"]) is None


@pytest.mark.parametrize("status", [StageStatus.PENDING, StageStatus.DECIDED, StageStatus.APPROVED])
def test_gate_that_does_not_wait_cannot_be_delegated(status: str) -> None:
    assert _delegate(_gate(stage_status=status)) is not None


# qualifications (§8.1.1)


def test_person_without_any_qualification_is_not_qualified() -> None:
    problem = qualification_problem("new.hire", [], TODAY)
    assert problem is not None
    assert "new.hire" in problem
    assert "§8.1.1" in problem


def test_expired_certificate_is_not_a_qualification() -> None:
    problem = qualification_problem("qian.worker", [{"kind": "certificate", "valid_until": "2025-12-31"}], TODAY)
    assert problem is not None
    assert "qian.worker" in problem
    assert "过期" in problem
    assert "2025-12-31" in problem


@pytest.mark.parametrize(
    "qualifications",
    [
        [{"kind": "certificate"}],
        [{"kind": "certificate", "valid_until": "2026-03-02"}],
        [{"kind": "degree", "level": "社会工作硕士"}],
        [{"kind": "certificate", "valid_until": "2025-12-31"}, {"kind": "degree", "level": "社会工作学士"}],
    ],
    ids=["certificate-without-end", "certificate-ending-today", "degree", "expired-certificate-and-degree"],
)
def test_valid_certificate_or_degree_qualifies(qualifications: list[dict[str, Any]]) -> None:
    assert qualification_problem("wang.worker", qualifications, TODAY) is None


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
        "wang.worker 没有「督导」角色（现有：worker）",
        "new.hire 没有「社工」角色（现有：无）",
    ]


def test_pause_key_names_stage_and_round() -> None:
    assert pause_key("assessment", 1, 1) == "assessment-gate-1"
    assert pause_key("assessment", 2, 1) == "assessment-gate-2"


def test_pause_key_after_refused_inputs_counts_the_attempt() -> None:
    assert pause_key("assessment", 1, 2) == "assessment-gate-1-attempt-2"
    assert pause_key("evaluation", 3, 5) == "evaluation-gate-3-attempt-5"
