"""Service projects: launch, stages and their rounds, work items and forms, gates and their
decisions, escalation of late work, the project's run (recovery), and the read models of status."""

from .drafts import discard_draft, save_draft, submit_work_item
from .gate_view import gate_summary
from .gates import Decided, claim_gate, delegate_gate, record_decision
from .launch import LaunchPlan, LaunchRequest, prepare_launch, record_launch
from .queries import inbox, list_projects, project_events, project_status, undelivered_decisions
from .stages import GateOutcome, GateState, apply_gate_reply, close_project, open_stage, read_gate, remaining_stages
from .work import Submitted, submit_form
from .work_view import WorkItemView, work_item_view

__all__ = [
    "Decided",
    "GateOutcome",
    "GateState",
    "LaunchPlan",
    "LaunchRequest",
    "Submitted",
    "WorkItemView",
    "apply_gate_reply",
    "claim_gate",
    "close_project",
    "delegate_gate",
    "discard_draft",
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
    "save_draft",
    "submit_form",
    "submit_work_item",
    "undelivered_decisions",
    "work_item_view",
]
