"""Service projects: launch, stages and their rounds, work items and forms, gates and their
decisions, escalation of late work, the project's run (recovery), and the read models of status."""

from .gates import Decided, claim_gate, delegate_gate, gate_summary, record_decision
from .launch import LaunchPlan, LaunchRequest, prepare_launch, record_launch
from .queries import inbox, list_projects, project_events, project_status, undelivered_decisions
from .stages import GateOutcome, GateState, apply_gate_reply, close_project, open_stage, read_gate, remaining_stages
from .work import Submitted, submit_form

__all__ = [
    "Decided",
    "GateOutcome",
    "GateState",
    "LaunchPlan",
    "LaunchRequest",
    "Submitted",
    "apply_gate_reply",
    "claim_gate",
    "close_project",
    "delegate_gate",
    "gate_summary",
    "inbox",
    "list_projects",
    "open_stage",
    "prepare_launch",
    "project_events",
    "project_status",
    "read_gate",
    "record_decision",
    "record_launch",
    "remaining_stages",
    "submit_form",
    "undelivered_decisions",
]
