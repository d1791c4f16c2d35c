"""The tables of the web door: accounts (a password for a person on record), web sessions, signed
links (one-time sign-in links and one-tap decision links) and form drafts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .tables import Base

__all__ = ["Account", "WebSession", "PersonLink", "FormDraft"]


class Account(Base):
    """A person's password (argon2id) and the record of wrong attempts that slows the account down."""

    __tablename__ = "accounts"
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), primary_key=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[datetime | None]
    sessions_valid_after: Mapped[datetime | None] = mapped_column(doc="sessions begun before this are over")
    updated_at: Mapped[datetime]


class WebSession(Base):
    """A signed-in browser: the cookie carries the id, signed; the row says whether it still holds."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_person", "person_id"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class PersonLink(Base):
    """A signed link bound to one person, one purpose and one subject; expires; used once."""

    __tablename__ = "person_links"
    __table_args__ = (Index("ix_person_links_person", "person_id"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    purpose: Mapped[str] = mapped_column(String(20), doc="set_password | decide")
    subject: Mapped[dict[str, Any]] = mapped_column(JSON, doc="ids only: project, stage, round, step")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class FormDraft(Base):
    """What a worker typed and saved without submitting (a phone that loses signal keeps its work)."""

    __tablename__ = "form_drafts"
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), primary_key=True)
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id"), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    saved_at: Mapped[datetime]
