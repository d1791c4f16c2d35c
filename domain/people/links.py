"""Signed links bound to one person, one purpose and one subject (ids only): a one-time link to set a
password, a one-tap link to decide a gate. Each is a row (expiry, single use) and a token that carries
only the row's id, signed with the agency's key so a changed character is caught before the archive
is asked. Opening a link never acts; using it is a separate, recorded step."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import update
from sqlalchemy.orm import Session

from swflow.config.errors import RefusedError, SwflowError
from swflow.config.settings import get_settings
from swflow.db.engine import unit_of_work
from swflow.db.journal import PEOPLE_STREAM, append_event
from swflow.db.tables import Person
from swflow.db.web_tables import PersonLink

__all__ = [
    "Purpose",
    "OpenedLink",
    "LinkRefused",
    "issue_link",
    "open_link",
    "use_link",
    "link_url",
    "refusals_recorded",
]

Purpose = Literal["set_password", "decide", "grant_roles"]
_PATHS = {"set_password": "set-password", "decide": "l", "grant_roles": "grant"}


class LinkRefused(RefusedError):
    """A link that cannot be used: tampered, unknown, expired, used, or not this person's."""

    def __init__(self, reason: str, link_id: str | None = None, person_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.link_id, self.person_id = reason, link_id, person_id


@contextmanager
def refusals_recorded(now: datetime) -> Iterator[None]:
    """Around an act that uses a link: the act's own transaction is rolled back when the link is
    refused, so the refusal is recorded in a transaction of its own, then passed on."""
    try:
        yield
    except LinkRefused as refused:
        with unit_of_work() as session:
            append_event(
                session,
                PEOPLE_STREAM,
                "link.refused",
                actor=refused.person_id or "unknown",
                at=now,
                payload={"link": refused.link_id, "reason": refused.reason},
            )
        raise


@dataclass(frozen=True)
class OpenedLink:
    id: str
    person_id: str
    purpose: str
    subject: dict[str, Any]
    expires_at: datetime


def _serializer(purpose: str) -> URLSafeSerializer:
    secret = get_settings().web_secret
    if secret is None:
        raise SwflowError("尚未生成签名密钥：请先运行 `swflow serve`（或 `swflow init`）")
    return URLSafeSerializer(secret.get_secret_value(), salt=f"swflow-{purpose}")


def issue_link(
    session: Session, person_id: str, purpose: Purpose, subject: dict[str, Any], now: datetime, hours: int | None = None
) -> str:
    """Inside the caller's transaction: a new link for `person_id`; returns its token."""
    link = PersonLink(
        id=secrets.token_hex(16),
        person_id=person_id,
        purpose=purpose,
        subject=subject,
        created_at=now,
        expires_at=now + timedelta(hours=hours or get_settings().link_hours),
    )
    session.add(link)
    return str(_serializer(purpose).dumps({"l": link.id}))


def link_url(purpose: Purpose, token: str) -> str:
    return f"{get_settings().link_base}/{_PATHS[purpose]}/{token}"


def _refuse(session: Session, link_id: str | None, person_id: str | None, reason: str, now: datetime) -> LinkRefused:
    return LinkRefused(reason, link_id, person_id)


def _check(session: Session, token: str, purpose: Purpose, now: datetime, lock: bool) -> PersonLink:
    try:
        link_id = _serializer(purpose).loads(token).get("l")
    except (BadSignature, AttributeError, ValueError):
        link_id = None
    if not isinstance(link_id, str):
        raise _refuse(session, None, None, "链接无效（可能被改动过或不完整）", now)
    link = session.get(PersonLink, link_id, with_for_update=lock)
    if link is None or link.purpose != purpose:
        raise _refuse(session, link_id, None, "链接无效（没有这条链接）", now)
    if link.used_at is not None:
        raise _refuse(session, link.id, link.person_id, "链接已经用过，每条链接只能用一次", now)
    if link.expires_at <= now:
        raise _refuse(session, link.id, link.person_id, "链接已过期，请重新申请", now)
    person = session.get(Person, link.person_id)
    if person is None or not person.active:
        raise _refuse(session, link.id, link.person_id, "链接所属的人员已停用", now)
    return link


def _opened(link: PersonLink) -> OpenedLink:
    return OpenedLink(link.id, link.person_id, link.purpose, dict(link.subject), link.expires_at)


def open_link(token: str, purpose: Purpose, now: datetime) -> OpenedLink:
    """What a GET of the link may do: say what it is for. Nothing is acted on; a refusal is recorded."""
    with refusals_recorded(now), unit_of_work() as session:
        return _opened(_check(session, token, purpose, now, lock=False))


def use_link(session: Session, token: str, purpose: Purpose, now: datetime, by: str | None = None) -> OpenedLink:
    """Inside the caller's transaction (the act the link is for): mark it used, once. `by`, when
    given, is the person who must own it (a signed-in person using someone else's link is refused)."""
    link = _check(session, token, purpose, now, lock=True)
    if by is not None and by != link.person_id:
        raise _refuse(session, link.id, by, "这条链接是发给另一位人员的，不能由您使用", now)
    done = session.execute(
        update(PersonLink).where(PersonLink.id == link.id, PersonLink.used_at.is_(None)).values(used_at=now)
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        raise LinkRefused("链接已经用过，每条链接只能用一次", link.id, link.person_id)
    return _opened(link)
