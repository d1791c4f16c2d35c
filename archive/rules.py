"""Pure rules of the archive: who may decide, four eyes, stage states. No SQLAlchemy here."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

__all__ = [
    "StageStatus",
    "ProjectStatus",
    "GateContext",
    "why_not_decide",
    "why_not_submit",
    "role_problems",
    "pause_key",
]


class StageStatus:
    PENDING = "pending"  # not reached yet
    OPEN = "open"  # forms being filled
    AWAITING_DECISION = "awaiting_decision"  # all forms in, gate waits
    DECIDED = "decided"  # a decision is recorded, the flow has not applied it yet
    APPROVED = "approved"
    REJECTED = "rejected"


class ProjectStatus:
    RUNNING = "running"
    COMPLETED = "completed"
    TERMINATED = "terminated"


@dataclass(frozen=True)
class GateContext:
    stage_title: str
    stage_status: str
    approvers: tuple[str, ...]
    supervisor_id: str
    manager_id: str
    submitters: frozenset[str]
    open_forms: tuple[str, ...]


def why_not_decide(gate: GateContext, person_id: str, person_roles: Collection[str]) -> str | None:
    """The reason `person_id` may not decide this gate now, or None when they may."""
    if gate.stage_status == StageStatus.DECIDED:
        return f"阶段「{gate.stage_title}」的本轮审核已有决定（already decided）"
    if gate.stage_status in (StageStatus.APPROVED, StageStatus.REJECTED):
        return f"阶段「{gate.stage_title}」已结束（状态：{gate.stage_status}）"
    if gate.stage_status != StageStatus.AWAITING_DECISION:
        waiting = "、".join(gate.open_forms) or "无"
        return f"阶段「{gate.stage_title}」还有表单未提交（{waiting}），不能审核"
    allowed = ("supervisor" in gate.approvers and person_id == gate.supervisor_id) or (
        "director" in gate.approvers and "director" in person_roles
    )
    if not allowed:
        return f"{person_id} 不是本阶段的审核人（审核人：{'、'.join(gate.approvers)}）"
    if person_id in gate.submitters:
        return f"四眼原则：{person_id} 提交过本阶段的表单，不能审核自己的工作"
    if person_id == gate.manager_id:
        return f"四眼原则：{person_id} 是本项目的项目主管，不能审核本项目的阶段"
    return None


def why_not_submit(stage_status: str, stage_title: str, is_assignee: bool, person_id: str) -> str | None:
    if stage_status not in (StageStatus.OPEN, StageStatus.AWAITING_DECISION):
        return f"阶段「{stage_title}」现在不接受提交（状态：{stage_status}）"
    if not is_assignee:
        return f"{person_id} 不是此表单的负责人"
    return None


def role_problems(assignments: Iterable[tuple[str, str, Collection[str]]]) -> list[str]:
    """For (person, wanted role, their roles): a line for each person lacking the role."""
    return [
        f"{person} 没有「{role}」角色（现有：{'、'.join(roles) or '无'}）"
        for person, role, roles in assignments
        if role not in roles
    ]


def pause_key(stage_key: str, round_: int, attempt: int) -> str:
    """The suspend key of a gate: `<stage>-gate-<round>`, suffixed after refused inputs."""
    base = f"{stage_key}-gate-{round_}"
    return base if attempt <= 1 else f"{base}-attempt-{attempt}"
