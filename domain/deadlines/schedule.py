"""Deadlines of a project's work: when a work item or a gate starts waiting, its escalation steps
are scheduled from its policy (data in the template), so a sweep finds it by an indexed column."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from swflow.config.calendar import due_at
from swflow.config.escalation import EscalationPolicy, get_policy
from swflow.config.settings import get_settings
from swflow.db.snapshot import stage_spec
from swflow.db.tables import Project, Stage, WorkItem
from swflow.domain.deadlines.rules import next_fire

__all__ = ["policy_for", "schedule_item", "schedule_gate", "SweepReport"]


def policy_for(project: Project, stage_key: str) -> EscalationPolicy:
    spec = stage_spec(project, stage_key)
    return get_policy(spec.get("escalation_policy") or project.template_snapshot["escalation_policy"])


def schedule_item(project: Project, stage: Stage, item: WorkItem) -> None:
    steps = policy_for(project, stage.key).steps
    item.escalation_step = 0
    item.next_escalation_at = next_fire(item.due_at, steps, 0)


def schedule_gate(project: Project, stage: Stage, now: datetime) -> None:
    """The gate's current step starts waiting now: due after the rule's working days."""
    gate = stage_spec(project, stage.key)["gate"]
    stage.gate_due_at = due_at(now, int(gate.get("within_days", 3)), get_settings().workday_end_hour)
    stage.gate_escalation_step = 0
    stage.gate_next_escalation_at = next_fire(stage.gate_due_at, policy_for(project, stage.key).steps, 0)


@dataclass
class SweepReport:
    escalated: int = 0
    skipped_steps: int = 0
    messages: int = 0
    at_risk: list[str] = field(default_factory=list)
    reassigned: list[int] = field(default_factory=list)
