"""Accounts, sessions and signed links (real SQLite, the clock injected): what the web door trusts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from swflow.config.errors import FormError, RefusedError
from swflow.config.settings import get_settings
from swflow.db import read_session, unit_of_work
from swflow.db.tables import Event
from swflow.domain.agency import invite_person
from swflow.domain.people.accounts import password_problem, session_of, set_password_by_link, sign_in, sign_out
from swflow.domain.people.links import LinkRefused, issue_link, open_link, refusals_recorded, use_link

from ._support import NOW, SUPERVISOR, WORKER

GOOD = "幸福社区-2026-长密码"


@pytest.fixture
def keyed(archive_home: Path, people: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWFLOW_WEB_SECRET", "unit-test-secret-" + "y" * 24)
    get_settings.cache_clear()


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def kinds() -> list[str]:
    with read_session() as session:
        return [e.kind for e in session.query(Event).filter(Event.stream == "people").order_by(Event.id)]


def refusals() -> list[str]:
    with read_session() as session:
        rows = session.query(Event).filter(Event.kind == "link.refused").order_by(Event.id)
        return [str(e.payload["reason"]) for e in rows]


@pytest.mark.parametrize("weak", ["short", "1234567890123", "aaaaaaaaaaaa"])
def test_a_weak_password_is_refused_with_the_rule(weak: str) -> None:
    assert password_problem(weak) is not None


def test_an_invited_person_sets_a_password_once_and_signs_in(keyed: None) -> None:
    url = invite_person(WORKER, "invite", "cli:test", NOW)
    assert set_password_by_link(token_of(url), GOOD, NOW) == WORKER
    me = sign_in(WORKER, GOOD, NOW)
    assert me.person_id == WORKER and session_of(me.session_id, NOW) is not None
    with pytest.raises(LinkRefused, match="用过"):
        set_password_by_link(token_of(url), "另一个-足够长的密码", NOW)
    assert "account.invited" in kinds() and "account.password_set" in kinds()


def test_a_password_that_breaks_the_rules_leaves_the_link_usable(keyed: None) -> None:
    url = invite_person(WORKER, "invite", "cli:test", NOW)
    with pytest.raises(FormError, match="至少 10"):
        set_password_by_link(token_of(url), "short", NOW)
    assert set_password_by_link(token_of(url), GOOD, NOW) == WORKER


def test_a_tampered_link_an_expired_link_and_another_persons_link_are_refused_and_recorded(keyed: None) -> None:
    url = invite_person(WORKER, "invite", "cli:test", NOW)
    token = token_of(url)
    tampered = ("A" if token[0] != "A" else "B") + token[1:]  # the payload's first character: always other bytes
    with pytest.raises(LinkRefused, match="无效"):
        open_link(tampered, "set_password", NOW)
    with pytest.raises(LinkRefused, match="过期"):
        open_link(token, "set_password", NOW + timedelta(hours=73))
    with pytest.raises(LinkRefused, match="另一位"), refusals_recorded(NOW), unit_of_work() as session:
        use_link(session, token, "set_password", NOW, by=SUPERVISOR)
    assert len(refusals()) == 3
    assert open_link(token, "set_password", NOW).person_id == WORKER  # still good for its owner


def test_a_link_for_one_purpose_does_not_open_another(keyed: None) -> None:
    with unit_of_work() as session:
        token = issue_link(session, SUPERVISOR, "decide", {"project": "P-1", "stage": "assessment"}, NOW)
    with pytest.raises(LinkRefused):
        open_link(token, "set_password", NOW)


def test_wrong_passwords_in_a_row_slow_the_account_and_are_recorded(keyed: None) -> None:
    set_password_by_link(token_of(invite_person(WORKER, "invite", "t", NOW)), GOOD, NOW)
    for _ in range(3):
        with pytest.raises(RefusedError, match="不正确"):
            sign_in(WORKER, "wrong-password", NOW)
    with pytest.raises(RefusedError, match="秒后再试"):
        sign_in(WORKER, GOOD, NOW + timedelta(seconds=10))
    assert sign_in(WORKER, GOOD, NOW + timedelta(seconds=31)).person_id == WORKER
    assert kinds().count("account.sign_in_failed") == 3


def test_an_unknown_person_and_a_wrong_password_get_the_same_answer(keyed: None) -> None:
    set_password_by_link(token_of(invite_person(WORKER, "invite", "t", NOW)), GOOD, NOW)
    with pytest.raises(RefusedError) as unknown:
        sign_in("nobody", GOOD, NOW)
    with pytest.raises(RefusedError) as wrong:
        sign_in(WORKER, "wrong-password", NOW)
    assert str(unknown.value) == str(wrong.value)


def test_a_session_ends_on_sign_out_on_idle_and_on_reset(keyed: None) -> None:
    set_password_by_link(token_of(invite_person(WORKER, "invite", "t", NOW)), GOOD, NOW)
    first = sign_in(WORKER, GOOD, NOW)
    sign_out(first.session_id, NOW)
    assert session_of(first.session_id, NOW) is None
    idle = sign_in(WORKER, GOOD, NOW)
    assert session_of(idle.session_id, NOW + timedelta(minutes=61)) is None
    kept = sign_in(WORKER, GOOD, NOW)
    url = invite_person(WORKER, "reset", "cli:test", NOW + timedelta(minutes=1))
    assert session_of(kept.session_id, NOW + timedelta(minutes=2)) is None  # every session ends at a reset
    with pytest.raises(RefusedError):
        sign_in(WORKER, GOOD, NOW + timedelta(minutes=2))  # and the old password stops working
    set_password_by_link(token_of(url), "新的-足够长的-密码", NOW + timedelta(minutes=3))
    assert sign_in(WORKER, "新的-足够长的-密码", NOW + timedelta(minutes=4)).person_id == WORKER
