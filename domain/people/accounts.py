"""Accounts of people on record: a password (argon2id), sessions of the web door, and the record of
wrong passwords that slows an account down. A person acts on the web only through a session that
this room says still holds: signed out, idle too long, begun before a password change, or of a
person no longer active — over."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import update
from sqlalchemy.orm import Session

from swflow.config.errors import FormError, RefusedError
from swflow.config.settings import get_settings
from swflow.db.engine import unit_of_work
from swflow.db.journal import PEOPLE_STREAM, append_event
from swflow.db.tables import Person
from swflow.db.web_tables import Account, WebSession

__all__ = [
    "SignedIn",
    "password_problem",
    "store_password",
    "sign_in",
    "session_of",
    "sign_out",
    "end_sessions",
    "set_password_by_link",
    "lock_account",
    "FREE_ATTEMPTS",
]

FREE_ATTEMPTS = 3  # wrong passwords in a row before the account waits
_HASHER = PasswordHasher()  # argon2id, the library's current defaults
_DUMMY = _HASHER.hash("swflow-no-such-account")  # an unknown name costs what a wrong password costs


@dataclass(frozen=True)
class SignedIn:
    person_id: str
    name: str
    roles: tuple[str, ...]
    session_id: str
    csrf: str


def password_problem(password: str) -> str | None:
    """What is wrong with a new password, in a sentence, or None."""
    if len(password) < 10:
        return "密码至少 10 个字符"
    if len(password) > 200:
        return "密码最多 200 个字符"
    if password.isdigit() or len(set(password)) < 4:
        return "密码太简单：请混合使用字母、数字或符号"
    return None


def _account(session: Session, person_id: str, now: datetime) -> Account:
    account = session.get(Account, person_id, with_for_update=True)
    if account is None:
        account = Account(person_id=person_id, failed_attempts=0, updated_at=now)
        session.add(account)
    return account


def store_password(session: Session, person_id: str, password: str, now: datetime) -> None:
    """Inside the caller's transaction (a used set-password link): hash and store, and end every
    session the person had."""
    if problem := password_problem(password):
        raise FormError(f"密码：{problem}", [("password", problem)])
    account = _account(session, person_id, now)
    account.password_hash = _HASHER.hash(password)
    account.failed_attempts, account.blocked_until = 0, None
    account.sessions_valid_after, account.updated_at = now, now
    append_event(session, PEOPLE_STREAM, "account.password_set", actor=person_id, at=now, payload={"person": person_id})


def _wait(failed: int) -> timedelta:
    """After FREE_ATTEMPTS wrong passwords: 30 s, doubling with each further one, at most 15 min."""
    return timedelta(seconds=min(900, 30 * 2 ** (failed - FREE_ATTEMPTS)))


def sign_in(person_id: str, password: str, now: datetime) -> SignedIn:
    """Check the password and open a session; a wrong one is recorded (committed before the refusal)
    and, after a few in a row, the account waits before it takes another try. The refusal never says
    which part was wrong."""
    wrong = "账号或密码不正确"
    with unit_of_work() as session:
        person = session.get(Person, person_id) if person_id else None
        account = session.get(Account, person_id, with_for_update=True) if person else None
        if person is None or account is None or account.password_hash is None or not person.active:
            try:
                _HASHER.verify(_DUMMY, password or "-")
            except VerificationError:
                pass
            raise RefusedError(wrong)
        if account.blocked_until is not None and account.blocked_until > now:
            seconds = int((account.blocked_until - now).total_seconds()) + 1
            raise RefusedError(f"连续输错密码次数过多，请 {seconds} 秒后再试")
        try:
            _HASHER.verify(account.password_hash, password)
            signed_in = _open_session(session, person, account, password, now)
        except (VerificationError, InvalidHashError):
            account.failed_attempts += 1
            if account.failed_attempts >= FREE_ATTEMPTS:
                account.blocked_until = now + _wait(account.failed_attempts)
            append_event(
                session,
                PEOPLE_STREAM,
                "account.sign_in_failed",
                actor=person_id,
                at=now,
                payload={"person": person_id, "in_a_row": account.failed_attempts},
            )
            signed_in = None
    if signed_in is None:
        raise RefusedError(wrong)
    return signed_in


def _open_session(session: Session, person: Person, account: Account, password: str, now: datetime) -> SignedIn:
    account.failed_attempts, account.blocked_until = 0, None
    if account.password_hash and _HASHER.check_needs_rehash(account.password_hash):
        account.password_hash = _HASHER.hash(password)
    web = WebSession(
        id=secrets.token_urlsafe(24),
        person_id=person.id,
        csrf=secrets.token_urlsafe(24),
        created_at=now,
        last_seen_at=now,
    )
    session.add(web)
    append_event(session, PEOPLE_STREAM, "account.signed_in", actor=person.id, at=now, payload={"session": web.id})
    return SignedIn(person.id, person.name, tuple(person.roles), web.id, web.csrf)


def session_of(session_id: str, now: datetime) -> SignedIn | None:
    """The person behind a session cookie, if the session still holds."""
    idle = timedelta(minutes=get_settings().session_idle_minutes)
    with unit_of_work() as session:
        web = session.get(WebSession, session_id)
        if web is None or web.ended_at is not None or now - web.last_seen_at > idle:
            return None
        person = session.get(Person, web.person_id)
        account = session.get(Account, web.person_id)
        if person is None or not person.active or account is None:
            return None
        if account.sessions_valid_after is not None and web.created_at < account.sessions_valid_after:
            return None
        if now - web.last_seen_at > timedelta(seconds=30):  # one small write a half-minute at most
            web.last_seen_at = now
        return SignedIn(person.id, person.name, tuple(person.roles), web.id, web.csrf)


def sign_out(session_id: str, now: datetime) -> None:
    with unit_of_work() as session:
        web = session.get(WebSession, session_id, with_for_update=True)
        if web is not None and web.ended_at is None:
            web.ended_at = now
            append_event(
                session, PEOPLE_STREAM, "account.signed_out", actor=web.person_id, at=now, payload={"session": web.id}
            )


def end_sessions(session: Session, person_id: str, now: datetime) -> int:
    """Inside the caller's transaction: every open session of the person ends (deactivation)."""
    result = session.execute(
        update(WebSession).where(WebSession.person_id == person_id, WebSession.ended_at.is_(None)).values(ended_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def set_password_by_link(token: str, password: str, now: datetime) -> str:
    """The person behind a one-time link chooses a password; the link is used up, every earlier
    session ends. A password that breaks the rules leaves the link usable. Returns the person id."""
    from .links import refusals_recorded, use_link

    with refusals_recorded(now), unit_of_work() as session:
        if problem := password_problem(password):
            raise FormError(f"密码：{problem}", [("password", problem)])
        link = use_link(session, token, "set_password", now)
        store_password(session, link.person_id, password, now)
        return link.person_id


def lock_account(session: Session, person_id: str, now: datetime) -> None:
    """Inside the caller's transaction (a reset): the current password stops working and every
    session ends, until the person sets a new one through their link."""
    account = _account(session, person_id, now)
    account.password_hash, account.failed_attempts, account.blocked_until = None, 0, None
    account.sessions_valid_after, account.updated_at = now, now
    end_sessions(session, person_id, now)
