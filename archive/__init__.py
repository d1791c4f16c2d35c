"""The archive: records, the rules for writing them, and the acts that write them."""

from .db import ensure_current, migrate, read_session, unit_of_work
from .gates import Decided, claim_gate, delegate_gate, gate_summary, record_decision
from .journal import project_stream, stream_title, verify_all, verify_stream
from .outbox import PendingMessage, due_messages, list_messages, record_delivery
from .people import PeopleFile, PersonRecord, import_people
from .projects import LaunchPlan, LaunchRequest, prepare_launch, record_launch
from .quality import models as _quality_models  # noqa: F401  (registers the quality tables on Base)
from .queries import inbox, list_projects, project_events, project_status, undelivered_decisions
from .registry import models as _registry_models  # noqa: F401  (registers the registry tables on Base)
from .stages import (
    GateOutcome,
    GateState,
    apply_gate_reply,
    close_project,
    open_stage,
    read_gate,
    remaining_stages,
)
from .work import Submitted, submit_form

__all__ = [
    "Decided",
    "GateOutcome",
    "GateState",
    "LaunchPlan",
    "LaunchRequest",
    "PendingMessage",
    "PeopleFile",
    "PersonRecord",
    "Submitted",
    "apply_gate_reply",
    "claim_gate",
    "close_project",
    "delegate_gate",
    "gate_summary",
    "due_messages",
    "ensure_current",
    "import_people",
    "inbox",
    "list_messages",
    "list_projects",
    "migrate",
    "open_stage",
    "prepare_launch",
    "project_events",
    "project_status",
    "project_stream",
    "read_gate",
    "read_session",
    "record_decision",
    "record_delivery",
    "record_launch",
    "remaining_stages",
    "submit_form",
    "undelivered_decisions",
    "unit_of_work",
    "verify_stream",
    "verify_all",
    "stream_title",
]
