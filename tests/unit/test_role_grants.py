"""Deciding roles (supervisor, director) are never given by one person alone (issue 20, part 4): the
operator's first import sets the agency up; after that a director confirms, through a link bound to
them, and every change of roles or channels is an event naming who ran the import."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

import pytest
import yaml

from swflow import domain
from swflow.app.cli.main import main
from swflow.config.errors import RefusedError
from swflow.domain.agency.grants import confirm_grant, import_people_held, open_grant_link
from swflow.domain.people.links import LinkRefused
from swflow.domain.people.records import list_people

from ._support import DIRECTOR, NOW, WORKER


@pytest.fixture(autouse=True)
def _signing_key(archive_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Links are signed with the web's key (`swflow init` makes it)."""
    from swflow.config.settings import get_settings

    monkeypatch.setenv("SWFLOW_WEB_SECRET", "test-secret-" + "k" * 32)
    get_settings.cache_clear()


def _people_events(kind: str) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from swflow.db import read_session
    from swflow.db.tables import Event

    with read_session() as session:
        rows = session.execute(select(Event).where(Event.stream == "people", Event.kind == kind).order_by(Event.seq))
        return [{"actor": e.actor, "payload": e.payload} for e in rows.scalars()]


def _roles(person_id: str) -> list[str]:
    return list(next(p["roles"] for p in list_people() if p["id"] == person_id))


def _promote(people: list[domain.PersonRecord], person: str, roles: list[str]) -> domain.PersonRecord:
    return next(p for p in people if p.id == person).model_copy(update={"roles": roles})


def test_the_first_import_sets_the_agency_up_and_says_what_changed(people: list[domain.PersonRecord]) -> None:
    [first] = _people_events("people.imported")
    assert first["actor"] == "test" and first["payload"]["held_for_director"] == {}
    assert first["payload"]["changes"][DIRECTOR]["before"] is None  # new
    assert first["payload"]["changes"][DIRECTOR]["after"]["roles"] == ["director"]
    assert "director" in _roles(DIRECTOR)


def test_a_deciding_role_waits_for_a_director(people: list[domain.PersonRecord]) -> None:
    report = import_people_held([_promote(people, WORKER, ["worker", "supervisor"])], "cli:someone", NOW)
    assert report.held == {WORKER: ["supervisor"]} and report.asked == [DIRECTOR] and len(report.links) == 1
    assert _roles(WORKER) == ["worker"]  # not until a director confirms
    [asked] = _people_events("people.grant_requested")
    assert asked["actor"] == "cli:someone" and asked["payload"]["roles"] == ["supervisor"]
    [message] = [m for m in domain.due_messages(NOW, limit=100) if m.template == "roles_grant_requested"]
    assert message.recipient_id == DIRECTOR and message.context["link"] == report.links[0]
    token = report.links[0].rsplit("/", 1)[1]
    shown = open_grant_link(token, NOW)
    assert (shown.person_id, shown.roles, shown.requested_by, shown.held_now) == (
        WORKER,
        ["supervisor"],
        "cli:someone",
        True,
    )
    with pytest.raises(RefusedError, match="发给另一位人员"):
        confirm_grant(token, NOW, by=WORKER)  # signed in as someone else: not theirs to use
    confirm_grant(token, NOW, by=None)
    assert _roles(WORKER) == ["worker", "supervisor"]
    [granted] = _people_events("people.roles_granted")
    assert granted["actor"] == DIRECTOR and granted["payload"]["roles"] == ["supervisor"]
    with pytest.raises(LinkRefused, match="只能用一次"):
        confirm_grant(token, NOW)


def test_a_worker_cannot_make_themselves_director_by_import(people: list[domain.PersonRecord]) -> None:
    report = import_people_held([_promote(people, WORKER, ["worker", "director"])], "cli:wang", NOW)
    assert report.held == {WORKER: ["director"]} and "director" not in _roles(WORKER)


def test_a_channel_change_is_recorded_without_the_address(people: list[domain.PersonRecord]) -> None:
    record = _promote(people, DIRECTOR, ["director"]).model_copy(update={"notify": ["mailto://attacker@example.org"]})
    import_people_held([record], "cli:mallory", NOW)
    last = _people_events("people.imported")[-1]
    change = last["payload"]["changes"][DIRECTOR]
    assert last["actor"] == "cli:mallory" and change["before"]["channels"] != change["after"]["channels"]
    assert "attacker" not in str(last["payload"])


def test_the_cli_names_the_os_user_and_prints_the_confirmation_link(
    people: list[domain.PersonRecord], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "people.yaml"
    promoted = _promote(people, WORKER, ["worker", "supervisor"]).model_dump(mode="json")
    path.write_text(yaml.safe_dump({"people": [promoted]}, allow_unicode=True), encoding="utf-8")
    assert main(["people", "import", str(path)]) == 0
    out = capsys.readouterr().out
    assert "督导 角色须机构负责人确认后生效" in out and DIRECTOR in out and "确认链接：" in out
    assert _people_events("people.imported")[-1]["actor"] == f"cli:{getpass.getuser()}"
    assert _roles(WORKER) == ["worker"]


def test_a_director_asking_for_a_deciding_role_is_not_the_one_who_confirms_it(
    people: list[domain.PersonRecord],
) -> None:
    from swflow.db import unit_of_work
    from swflow.domain.people.links import issue_link
    from swflow.domain.people.records import write_people

    second = domain.PersonRecord(id="he.director", name="何主任", roles=["director"])
    with unit_of_work() as session:  # a second director, as the agency's setup gave it
        write_people(session, [second], "test", NOW)
    report = import_people_held([_promote(people, WORKER, ["worker", "supervisor"])], DIRECTOR, NOW)
    assert report.held == {WORKER: ["supervisor"]} and report.asked == ["he.director"]  # not the one asking
    [asked] = _people_events("people.grant_requested")
    assert asked["payload"]["asked"] == ["he.director"]
    subject = {"person": WORKER, "roles": ["supervisor"], "requested_by": DIRECTOR}
    with unit_of_work() as session:  # a link to the asker (an older release sent one): refused when used
        token = issue_link(session, DIRECTOR, "grant_roles", subject, NOW)
    with pytest.raises(RefusedError, match="须由另一位机构负责人确认"):
        confirm_grant(token, NOW)
    assert "supervisor" not in _roles(WORKER)
    confirm_grant(report.links[0].rsplit("/", 1)[1], NOW)
    assert "supervisor" in _roles(WORKER)
