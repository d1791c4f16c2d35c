"""Deadlines and escalation: when each step of a policy fires (working days), scheduling a project's
work and gates, and the engine that escalates the agency's own records."""

from .records import DueRecord, Notice, directors, due_rows, fire, record_context, send
from .rules import Audience, StepDue, audience, fire_time, next_fire, step_due
from .schedule import SweepReport, policy_for, schedule_gate, schedule_item

__all__ = [
    "Audience",
    "DueRecord",
    "Notice",
    "StepDue",
    "SweepReport",
    "audience",
    "directors",
    "due_rows",
    "fire",
    "fire_time",
    "next_fire",
    "policy_for",
    "record_context",
    "schedule_gate",
    "schedule_item",
    "send",
    "step_due",
]
