"""The archive's tables. Domain state lives here; Prefect only keeps run states (docs/architecture.md, contract 2)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Base",
    "Person",
    "Project",
    "ProjectMember",
    "Stage",
    "WorkItem",
    "FormSubmission",
    "GateDecision",
    "Escalation",
    "OutboxMessage",
    "Event",
    "EventHead",
    "RunState",
]


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the archive")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Person(Base):
    __tablename__ = "people"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[Any]]
    qualifications: Mapped[list[Any]]
    notify: Mapped[list[Any]]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    community: Mapped[str | None] = mapped_column(String(200), doc="where they work: the §8.1.3 staffing report")
    updated_at: Mapped[datetime]


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    community: Mapped[str] = mapped_column(String(200))
    template_id: Mapped[str] = mapped_column(String(64))
    template_version: Mapped[int]
    template_snapshot: Mapped[dict[str, Any]]
    forms_snapshot: Mapped[dict[str, Any]]
    manager_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    supervisor_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    status: Mapped[str] = mapped_column(String(20))
    flow_run_id: Mapped[str | None] = mapped_column(String(36), index=True)
    run_state: Mapped[str | None] = mapped_column(String(24), doc="the run's state as the flow last reported it")
    run_heartbeat_at: Mapped[datetime | None] = mapped_column(
        doc="last sign of life of the process running the project's flow (the reconciler's crash test)"
    )
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class ProjectMember(Base):
    __tablename__ = "project_members"
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)
    position: Mapped[int] = mapped_column(default=0, doc="order given at launch; 0 leads")


class Stage(Base):
    __tablename__ = "stages"
    __table_args__ = (
        UniqueConstraint("project_id", "key"),
        Index("ix_stages_gate_escalation", "status", "gate_next_escalation_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    key: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(24))
    round: Mapped[int] = mapped_column(default=0)
    gate_attempt: Mapped[int] = mapped_column(default=1)
    gate_step: Mapped[int] = mapped_column(default=1, server_default="1")
    gate_assignee: Mapped[str | None] = mapped_column(String(64), doc="claimed or delegated to")
    gate_due_at: Mapped[datetime | None]
    gate_next_escalation_at: Mapped[datetime | None]
    gate_escalation_step: Mapped[int] = mapped_column(default=0, server_default="0")
    at_risk: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    opened_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class WorkItem(Base):
    __tablename__ = "work_items"
    __table_args__ = (
        UniqueConstraint("stage_id", "form_id", "round", "activity"),
        Index("ix_work_items_open_due", "status", "due_at"),
        Index("ix_work_items_escalation", "status", "next_escalation_at"),
        Index("ix_work_items_assignee_open", "assignee_id", "status", "due_at"),  # 我的待办
        Index("ix_work_items_stage_round", "stage_id", "round", "status"),  # a stage's open forms
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id"))
    form_id: Mapped[str] = mapped_column(String(64))
    round: Mapped[int]
    activity: Mapped[str] = mapped_column(String(64), default="", server_default="", doc="schedule row key")
    title: Mapped[str | None] = mapped_column(String(200))
    required: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    assignee_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    status: Mapped[str] = mapped_column(String(20))
    opened_at: Mapped[datetime]
    due_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    submission_id: Mapped[int | None]
    next_escalation_at: Mapped[datetime | None]
    escalation_step: Mapped[int] = mapped_column(default=0, server_default="0")


class FormSubmission(Base):
    __tablename__ = "form_submissions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    form_id: Mapped[str] = mapped_column(String(64))
    form_version: Mapped[int]
    round: Mapped[int]
    data: Mapped[dict[str, Any]]
    submitted_by: Mapped[str] = mapped_column(ForeignKey("people.id"))
    submitted_at: Mapped[datetime]


class GateDecision(Base):
    __tablename__ = "gate_decisions"
    __table_args__ = (UniqueConstraint("stage_id", "round", "step"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id"))
    round: Mapped[int]
    step: Mapped[int] = mapped_column(default=1)
    outcome: Mapped[str] = mapped_column(String(10))
    decided_by: Mapped[str] = mapped_column(ForeignKey("people.id"))
    comment: Mapped[str] = mapped_column(Text, default="")
    redo_forms: Mapped[list[Any] | None]
    decided_at: Mapped[datetime]
    applied_at: Mapped[datetime | None]


class Escalation(Base):
    """One escalation step handled for one work item, gate or quality record: unique, so it is sent once."""

    __tablename__ = "escalations"
    __table_args__ = (UniqueConstraint("subject", "subject_id", "round", "gate_step", "step"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id"), doc="none for agency-wide records")
    subject: Mapped[str] = mapped_column(
        String(16), doc="item, gate, or a quality record: supervision, complaint, action, certificate, risk_review"
    )
    subject_id: Mapped[int]
    round: Mapped[int]
    gate_step: Mapped[int]
    step: Mapped[str] = mapped_column(String(40))
    fired_at: Mapped[datetime]
    recipients: Mapped[list[Any]]
    skipped: Mapped[bool] = mapped_column(Boolean)


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id"), index=True)
    recipient_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    channel: Mapped[str] = mapped_column(Text)
    template: Mapped[str] = mapped_column(String(64))
    context: Mapped[dict[str, Any]]
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64), doc="the dispatcher holding the lease")
    claimed_until: Mapped[datetime | None] = mapped_column(doc="lease end: after it another dispatcher may send")


class Event(Base):
    """Append-only and hash-chained per stream (one stream per project, one for people)."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("stream", "seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    stream: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(String(64), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[str] = mapped_column(String(40), doc="ISO 8601 UTC; text so the hash input is exact")
    flow_run_id: Mapped[str | None] = mapped_column(String(36))
    run_state: Mapped[str | None] = mapped_column(String(24))
    via: Mapped[dict[str, Any] | None] = mapped_column(JSON, doc="the door the act came through (cli, web, link)")
    payload: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class RunState(Base):
    """A Prefect state of a project's flow run, copied so the archive outlives Prefect's retention."""

    __tablename__ = "run_states"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, doc="Prefect's state id")
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    flow_run_id: Mapped[str] = mapped_column(String(36))
    type: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(40))
    timestamp: Mapped[str] = mapped_column(String(40))
    message: Mapped[str | None] = mapped_column(Text)


class EventHead(Base):
    """The last event of each stream: locked to append, so appends never race."""

    __tablename__ = "event_heads"
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))
