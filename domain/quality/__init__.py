"""Quality management and service guarantees (§7.3–§7.5, §8.1): supervision, incidents,
complaints, their actions, staffing and certificates. Each act is one transaction with its
events and its outbox rows; deadlines escalate through the agency's sweep (swflow.domain.agency.sweep)."""

from swflow.db import quality_tables as models
from swflow.domain.quality.actions import ACTION_KINDS, ActionInput, complete_action, list_actions
from swflow.domain.quality.complaints import (
    CHANNELS,
    ComplaintIntake,
    acknowledge_complaint,
    add_complaint_action,
    answer_complaint,
    close_complaint,
    list_complaints,
    open_complaint,
    show_complaint,
)
from swflow.domain.quality.incidents import (
    IncidentReport,
    close_incident,
    incident_choices,
    list_incidents,
    report_incident,
    review_risk_rules,
    show_incident,
)
from swflow.domain.quality.report import quality_report, render_quality_html
from swflow.domain.quality.staffing import staffing_report, watch_people
from swflow.domain.quality.supervision import (
    SessionRecord,
    coverage,
    list_sessions,
    record_session,
    show_session,
)

__all__ = [
    "ACTION_KINDS",
    "CHANNELS",
    "ActionInput",
    "ComplaintIntake",
    "IncidentReport",
    "SessionRecord",
    "acknowledge_complaint",
    "add_complaint_action",
    "answer_complaint",
    "close_complaint",
    "close_incident",
    "complete_action",
    "coverage",
    "incident_choices",
    "list_actions",
    "list_complaints",
    "list_incidents",
    "list_sessions",
    "models",
    "open_complaint",
    "quality_report",
    "record_session",
    "render_quality_html",
    "report_incident",
    "review_risk_rules",
    "show_complaint",
    "show_incident",
    "show_session",
    "staffing_report",
    "watch_people",
]
