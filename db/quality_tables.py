"""The quality tables (§7.3–§7.5, §8.1), on the archive's Base: same naming, same UTC datetimes.

Every row with a deadline carries `next_escalation_at` (indexed) and `escalation_step`, so the
deadline sweep reads only what is due, and `escalations` (unique) records each step once.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from swflow.db.tables import Base

__all__ = [
    "SupervisionSession",
    "SupervisionAttendee",
    "SupervisionDue",
    "QualityAction",
    "Incident",
    "Complaint",
    "CertificateWatch",
    "RiskReview",
]


class SupervisionSession(Base):
    """§7.3: a supervision session. Topics, decisions and follow-ups are confidential."""

    __tablename__ = "supervision_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    supervisor_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    held_on: Mapped[date]
    mode: Mapped[str] = mapped_column(String(12), doc="individual or group")
    topics: Mapped[list[Any]]
    decisions: Mapped[str] = mapped_column(Text, default="")
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id"))
    recorded_by: Mapped[str] = mapped_column(ForeignKey("people.id"))
    recorded_at: Mapped[datetime]


class SupervisionAttendee(Base):
    __tablename__ = "supervision_attendees"
    session_id: Mapped[int] = mapped_column(ForeignKey("supervision_sessions.id"), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), primary_key=True, index=True)


class SupervisionDue(Base):
    """When a supervisee's next session is due; `cycle` counts sessions, so each cycle escalates once."""

    __tablename__ = "supervision_dues"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), unique=True)
    started_on: Mapped[date] = mapped_column(doc="when the person first needed supervision")
    last_held_on: Mapped[date | None]
    due_at: Mapped[datetime]
    cycle: Mapped[int] = mapped_column(default=0)
    next_escalation_at: Mapped[datetime | None] = mapped_column(index=True)
    escalation_step: Mapped[int] = mapped_column(default=0)


class QualityAction(Base):
    """A follow-up of a supervision session, or a corrective or preventive action of a complaint."""

    __tablename__ = "quality_actions"
    __table_args__ = (
        Index("ix_quality_actions_escalation", "status", "next_escalation_at"),
        Index("ix_quality_actions_source", "source", "source_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(12), doc="supervision or complaint")
    source_id: Mapped[int]
    kind: Mapped[str] = mapped_column(String(12), doc="follow_up, corrective or preventive")
    description: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(8), doc="open or done")
    created_by: Mapped[str] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    done_by: Mapped[str | None] = mapped_column(ForeignKey("people.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    next_escalation_at: Mapped[datetime | None]
    escalation_step: Mapped[int] = mapped_column(default=0)


class Incident(Base):
    """§7.4: an accident or incident and how it was handled. `people_involved` is sensitive."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_escalation", "status", "next_escalation_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(24))
    severity: Mapped[str] = mapped_column(String(12))
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    place: Mapped[str] = mapped_column(Text)
    people_involved: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    handling: Mapped[str] = mapped_column(Text)
    follow_up: Mapped[str] = mapped_column(Text, default="")
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id"), index=True)
    reported_by: Mapped[str] = mapped_column(ForeignKey("people.id"))
    reported_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(8), doc="open or closed")
    closed_by: Mapped[str | None] = mapped_column(ForeignKey("people.id"))
    closed_at: Mapped[datetime | None]
    close_due_at: Mapped[datetime | None] = mapped_column(doc="follow-up recorded and closed by (schema 0008)")
    work_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_items.id"), doc="the project's incident-report form it came from (0008)"
    )
    next_escalation_at: Mapped[datetime | None]
    escalation_step: Mapped[int] = mapped_column(default=0)


class Complaint(Base):
    """§7.5: a complaint from intake to closure. `contact` is sensitive. `phase` 1 escalates the
    acknowledgement deadline, 2 the answer's."""

    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_escalation", "status", "next_escalation_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(8), doc="phone, visit, online or letter")
    contact: Mapped[str] = mapped_column(Text, default="")
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id"), index=True)
    service: Mapped[str] = mapped_column(String(200), default="", doc="the service concerned, when not a project")
    content: Mapped[str] = mapped_column(Text)
    received_by: Mapped[str] = mapped_column(ForeignKey("people.id"))
    received_at: Mapped[datetime] = mapped_column(index=True)
    handler_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    status: Mapped[str] = mapped_column(String(12), doc="open, acknowledged, answered, closed")
    ack_due_at: Mapped[datetime]
    answer_due_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(ForeignKey("people.id"))
    ack_note: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[str | None] = mapped_column(ForeignKey("people.id"))
    answer: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(ForeignKey("people.id"))
    feedback: Mapped[str] = mapped_column(Text, default="")
    satisfied: Mapped[bool | None] = mapped_column(Boolean)
    phase: Mapped[int] = mapped_column(default=1)
    next_escalation_at: Mapped[datetime | None]
    escalation_step: Mapped[int] = mapped_column(default=0)


class CertificateWatch(Base):
    """§8.1.1: one certificate's expiry, watched; a renewed certificate is a new row."""

    __tablename__ = "certificate_watches"
    __table_args__ = (
        UniqueConstraint("person_id", "number", "valid_until"),
        Index("ix_certificate_watches_escalation", "status", "next_escalation_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    level: Mapped[str] = mapped_column(String(64))
    number: Mapped[str] = mapped_column(String(64))
    valid_until: Mapped[date]
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(8), doc="active or replaced")
    next_escalation_at: Mapped[datetime | None]
    escalation_step: Mapped[int] = mapped_column(default=0)


class RiskReview(Base):
    """§7.4: the periodic review of the risk management rules; the open row is the next one due."""

    __tablename__ = "risk_reviews"
    __table_args__ = (Index("ix_risk_reviews_escalation", "status", "next_escalation_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(8), doc="due or done")
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[str | None] = mapped_column(ForeignKey("people.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    next_escalation_at: Mapped[datetime | None]
    escalation_step: Mapped[int] = mapped_column(default=0)
