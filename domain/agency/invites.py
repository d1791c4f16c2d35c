"""Giving a person on record a way in: a one-time link to set a password, printed for the operator and
sent through the person's own channels. A reset also stops the old password and every session."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from swflow.config.errors import RefusedError
from swflow.config.settings import get_settings
from swflow.db import PEOPLE_STREAM, append_event, unit_of_work
from swflow.domain.outbox import enqueue
from swflow.domain.people.accounts import lock_account
from swflow.domain.people.links import issue_link, link_url
from swflow.domain.people.records import get_person

__all__ = ["invite_person"]


def invite_person(person_id: str, kind: Literal["invite", "reset"], actor: str, now: datetime) -> str:
    """A set-password link for the person (recorded; sent to their channels); returns its address."""
    with unit_of_work() as session:
        person = get_person(session, person_id)
        if not person.active:
            raise RefusedError(f"{person_id} 已停用，不能开通账号")
        if kind == "reset":
            lock_account(session, person_id, now)
        token = issue_link(session, person_id, "set_password", {"kind": kind}, now)
        url = link_url("set_password", token)
        event = "account.reset" if kind == "reset" else "account.invited"
        append_event(session, PEOPLE_STREAM, event, actor=actor, at=now, payload={"person": person_id})
        enqueue(
            session,
            key=f"account:{kind}:{person_id}:{now.isoformat()}",
            recipient=person,
            template="account_invite",
            context={
                "project_id": "",
                "project_name": "",
                "community": "",
                "link": url,
                "kind": kind,
                "link_hours": get_settings().link_hours,
            },
            now=now,
            urgent=True,
        )
        return url
