"""The registry tables (§8.3.2), on the archive's Base: same naming, same UTC datetimes.

Personal data lives in these rows only (`data`, checked against forms_spec/registry/*.yaml), never
in event payloads: events carry registry ids and salted digests. Forgetting a person overwrites
the row's personal fields and its salt, so no event has to change and every hash chain stays valid.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from swflow.db.tables import Base

__all__ = [
    "ServedPerson",
    "Consent",
    "Enrolment",
    "Organisation",
    "ResourceLink",
    "Volunteer",
    "VolunteerTraining",
    "VolunteerCertificate",
    "Referral",
    "ReferralFollowUp",
]


class ServedPerson(Base):
    """服务对象. `status`: active, merged (into `merged_into`) or forgotten (pseudonymised)."""

    __tablename__ = "served_people"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    data: Mapped[dict[str, Any]]
    identity_key: Mapped[str | None] = mapped_column(String(64), index=True, doc="digest of name, birth year, phone")
    salt: Mapped[str] = mapped_column(String(32), doc="salts the digests in events; overwritten when forgotten")
    status: Mapped[str] = mapped_column(String(12))
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("served_people.id"))
    registered_by: Mapped[str] = mapped_column(ForeignKey("people.id"))
    registered_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Consent(Base):
    """What a person agreed to for their data: purpose, date, who recorded it; and its withdrawal."""

    __tablename__ = "consents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("served_people.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    given_on: Mapped[date]
    given_by: Mapped[str] = mapped_column(String(12), doc="self or guardian")
    recorded_by: Mapped[str] = mapped_column(ForeignKey("people.id"))
    recorded_at: Mapped[datetime]
    withdrawn_on: Mapped[date | None]
    withdrawn_recorded_by: Mapped[str | None] = mapped_column(ForeignKey("people.id"))
    withdrawn_at: Mapped[datetime | None]


class Enrolment(Base):
    """A person served takes part in a project: its team (and supervisor) may then see their data."""

    __tablename__ = "enrolments"
    person_id: Mapped[int] = mapped_column(ForeignKey("served_people.id"), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), primary_key=True, index=True)
    joined_by: Mapped[str] = mapped_column(ForeignKey("people.id"))
    joined_at: Mapped[datetime]


class Organisation(Base):
    """A community social organisation, resident unit, owners' committee, property company or agency."""

    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    data: Mapped[dict[str, Any]]
    kind: Mapped[str] = mapped_column(String(40), index=True)
    registered_by: Mapped[str] = mapped_column(ForeignKey("people.id"))
    registered_at: Mapped[datetime]


class ResourceLink(Base):
    """§6.2.2: a resource linked to a need of a project, and the result."""

    __tablename__ = "resource_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    data: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(8), doc="open or done")
    outcome: Mapped[str | None] = mapped_column(String(16))
    result: Mapped[str] = mapped_column(Text, default="")
    linked_by: Mapped[str] = mapped_column(ForeignKey("people.id"))
    linked_at: Mapped[datetime]
    result_by: Mapped[str | None] = mapped_column(ForeignKey("people.id"))
    result_at: Mapped[datetime | None]


class Volunteer(Base):
    __tablename__ = "volunteers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    data: Mapped[dict[str, Any]]
    identity_key: Mapped[str | None] = mapped_column(String(64), index=True)
    salt: Mapped[str] = mapped_column(String(32))
    registered_on: Mapped[date]
    registered_by: Mapped[str] = mapped_column(ForeignKey("people.id"))
    registered_at: Mapped[datetime]


class VolunteerTraining(Base):
    __tablename__ = "volunteer_trainings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    course: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date]
    hours: Mapped[float]
    recorded_by: Mapped[str] = mapped_column(ForeignKey("people.id"))
    recorded_at: Mapped[datetime]


class VolunteerCertificate(Base):
    """A service certificate issued: its number, the hours it states and a digest of the page."""

    __tablename__ = "volunteer_certificates"
    __table_args__ = (UniqueConstraint("number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    number: Mapped[str] = mapped_column(String(40))
    hours: Mapped[float]
    activities: Mapped[int]
    html_sha256: Mapped[str] = mapped_column(String(64))
    issued_by: Mapped[str] = mapped_column(ForeignKey("people.id"))
    issued_at: Mapped[datetime]


class Referral(Base):
    """转介: to an agency or service, with the person's consent; follow-ups are due in working days and
    escalate like work items (`next_escalation_at` indexed, `escalations` unique per round and step)."""

    __tablename__ = "referrals"
    __table_args__ = (Index("ix_referrals_escalation", "status", "next_escalation_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("served_people.id"), index=True)
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id"))
    data: Mapped[dict[str, Any]]
    owner_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), doc="sent, accepted, in_service, declined, closed")
    opened_by: Mapped[str] = mapped_column(ForeignKey("people.id"))
    opened_at: Mapped[datetime]
    follow_up_round: Mapped[int] = mapped_column(default=1)
    follow_up_due_at: Mapped[datetime | None]
    next_escalation_at: Mapped[datetime | None]
    escalation_step: Mapped[int] = mapped_column(default=0)
    outcome: Mapped[str | None] = mapped_column(String(24))
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    closed_by: Mapped[str | None] = mapped_column(ForeignKey("people.id"))
    closed_at: Mapped[datetime | None]


class ReferralFollowUp(Base):
    """One follow-up of a referral (跟踪记录): what was learnt, the status after it, the next due date."""

    __tablename__ = "referral_follow_ups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    round: Mapped[int]
    status: Mapped[str] = mapped_column(String(12))
    note: Mapped[str] = mapped_column(Text, default="")
    late: Mapped[bool]
    next_due_at: Mapped[datetime | None]
    recorded_by: Mapped[str] = mapped_column(ForeignKey("people.id"))
    recorded_at: Mapped[datetime]
