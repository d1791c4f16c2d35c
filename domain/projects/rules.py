"""Pure rules of a project: who may decide a gate, four eyes, who may submit, stage states.

No SQLAlchemy here: every rule is a function of plain values, unit-tested on its own.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from swflow.config.templates import APPROVER_TITLES
from swflow.domain.people.rules import ROLE_TITLES

__all__ = [
    "OUTCOME_WORDS",
    "StageStatus",
    "ProjectStatus",
    "GateContext",
    "why_not_decide",
    "why_not_claim",
    "why_not_delegate",
    "why_not_submit",
    "pause_key",
    "ROLE_OF_STEP",
]


OUTCOME_WORDS = {"approve": "通过", "return": "退回修改", "reject": "否决"}  # a gate decision, as people say it


class StageStatus:
    PENDING = "pending"  # not reached yet
    OPEN = "open"  # forms being filled
    AWAITING_DECISION = "awaiting_decision"  # all forms in, gate waits
    DECIDED = "decided"  # a final decision is recorded, the flow has not applied it yet
    APPROVED = "approved"
    REJECTED = "rejected"


class ProjectStatus:
    RUNNING = "running"
    COMPLETED = "completed"
    TERMINATED = "terminated"


ROLE_OF_STEP = {"supervisor": "supervisor", "supervisors": "supervisor", "director": "director"}


@dataclass(frozen=True)
class GateContext:
    """Everything the gate rules look at, for the current step of the current round."""

    stage_title: str
    stage_status: str
    steps: tuple[str, ...]
    step: int
    assignee: str | None  # who claimed the step or had it delegated to them
    supervisor_id: str
    manager_id: str
    manager_may_decide: bool
    submitters: frozenset[str]
    earlier_deciders: frozenset[str]
    open_forms: tuple[str, ...]

    @property
    def step_kind(self) -> str:
        return self.steps[min(self.step, len(self.steps)) - 1]

    @property
    def is_group_step(self) -> bool:
        return self.step_kind != "supervisor"

    def step_label(self) -> str:
        return f"第 {self.step}/{len(self.steps)} 步（{APPROVER_TITLES.get(self.step_kind, self.step_kind)}）"


def _state_problem(gate: GateContext) -> str | None:
    if gate.stage_status == StageStatus.DECIDED:
        return f"阶段「{gate.stage_title}」的本轮审核已有决定（already decided）"
    if gate.stage_status in (StageStatus.APPROVED, StageStatus.REJECTED):
        return f"阶段「{gate.stage_title}」已结束（状态：{gate.stage_status}）"
    if gate.stage_status != StageStatus.AWAITING_DECISION:
        waiting = "、".join(gate.open_forms) or "无"
        return f"阶段「{gate.stage_title}」还有表单未提交（{waiting}），现在不能审核"
    return None


def _four_eyes_problem(gate: GateContext, person_id: str) -> str | None:
    if person_id in gate.submitters:
        return f"四眼原则：{person_id} 提交过本阶段的表单，不能审核自己的工作"
    if person_id == gate.manager_id and not gate.manager_may_decide:
        return f"四眼原则：{person_id} 是本项目的项目主管，模板不允许主管审核本项目"
    if person_id in gate.earlier_deciders:
        return f"四眼原则：{person_id} 已决定本轮的前一步，后一步须由另一人决定"
    return None


def _eligible(gate: GateContext, person_id: str, roles: Collection[str]) -> str | None:
    """Why the person is not the decider of the current step, or None."""
    if gate.assignee is not None:
        if person_id != gate.assignee:
            return f"{person_id} 不是本阶段的审核人（{gate.step_label()}已由 {gate.assignee} 认领或受托）"
        return None
    if gate.step_kind == "supervisor":
        if person_id != gate.supervisor_id:
            return f"{person_id} 不是本阶段的审核人（{gate.step_label()}：项目督导 {gate.supervisor_id}）"
        return None
    role = ROLE_OF_STEP[gate.step_kind]
    if role not in roles:
        return f"{person_id} 不是本阶段的审核人（{gate.step_label()}需要「{ROLE_TITLES[role]}」角色）"
    return None


def why_not_decide(gate: GateContext, person_id: str, person_roles: Collection[str]) -> str | None:
    """The reason `person_id` may not decide this gate now, or None when they may."""
    return _state_problem(gate) or _eligible(gate, person_id, person_roles) or _four_eyes_problem(gate, person_id)


def why_not_claim(gate: GateContext, person_id: str, person_roles: Collection[str]) -> str | None:
    if problem := _state_problem(gate):
        return problem
    if not gate.is_group_step:
        return f"本阶段{gate.step_label()}由项目督导 {gate.supervisor_id} 决定，无需认领"
    if gate.assignee == person_id:
        return f"{person_id} 已认领本步审核"
    return _eligible(gate, person_id, person_roles) or _four_eyes_problem(gate, person_id)


def why_not_delegate(
    gate: GateContext,
    by: str,
    by_roles: Collection[str],
    to: str,
    to_roles: Collection[str],
    to_qualification: str | None,
) -> str | None:
    """Only the current decider delegates, and only to a qualified person of the step's role."""
    if gate.stage_status not in (StageStatus.OPEN, StageStatus.AWAITING_DECISION):
        return _state_problem(gate)
    if gate.is_group_step and gate.assignee is None:
        return f"本步审核尚未被认领：{by} 须先认领（swflow claim）才能委托"
    if problem := _eligible(gate, by, by_roles):
        return problem
    if to == by:
        return "不能委托给自己"
    role = ROLE_OF_STEP[gate.step_kind]
    if role not in to_roles:
        return f"受托人 {to} 没有「{ROLE_TITLES[role]}」角色"
    if to_qualification:
        return to_qualification
    return _four_eyes_problem(gate, to)


def why_not_submit(
    stage_status: str,
    stage_title: str,
    is_assignee: bool,
    person_id: str,
    steps_approved: int = 0,
    filled_by: str | None = None,
) -> str | None:
    """`steps_approved`: steps of this round's gate already approved. A form never changes under a
    decision: a later step would approve what an earlier approver never saw (DESIGN "Gates").
    `filled_by`: who the template reserves the form for (its evaluator, "评估方 name（id）")."""
    if stage_status not in (StageStatus.OPEN, StageStatus.AWAITING_DECISION):
        return f"阶段「{stage_title}」现在不接受提交（状态：{stage_status}）"
    if steps_approved > 0:
        return (
            f"阶段「{stage_title}」本轮审核已有 {steps_approved} 步批准，表单不能再改：否则后面的审核人会批准"
            "前面的审核人没有看过的内容。如需修改，请当前审核人退回本阶段"
        )
    if not is_assignee and filled_by:
        return f"{person_id} 不能提交此表单：模板规定它由{filled_by}填写（evaluator_forms：项目团队不评自己的项目）"
    if not is_assignee:
        return f"{person_id} 不是此表单的负责人"
    return None


def pause_key(stage_key: str, round_: int, attempt: int) -> str:
    """The suspend key of a gate: `<stage>-gate-<round>`, suffixed after refused inputs."""
    base = f"{stage_key}-gate-{round_}"
    return base if attempt <= 1 else f"{base}-attempt-{attempt}"
