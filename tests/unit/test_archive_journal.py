"""The archive's own record: migrations are current, and tampering with events is detected."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import delete, func, select, update

from swflow import db, domain
from swflow.config.errors import ArchiveNotInitialisedError
from swflow.config.settings import get_settings
from swflow.db.chain import ChainBreak
from swflow.db.engine import HEAD, _alembic_config, unit_of_work
from swflow.db.tables import Event


def test_head_constant_matches_the_newest_migration() -> None:
    scripts = ScriptDirectory.from_config(_alembic_config("sqlite://"))
    assert scripts.get_current_head() == HEAD


def test_uninitialised_archive_says_to_run_init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SWFLOW_DATABASE_URL", raising=False)
    monkeypatch.setenv("SWFLOW_HOME", str(tmp_path / "never-initialised"))
    get_settings.cache_clear()
    try:
        with pytest.raises(ArchiveNotInitialisedError, match="swflow init"):
            db.ensure_current()
    finally:
        get_settings.cache_clear()


def test_migrating_twice_is_harmless(archive_home: Path) -> None:
    db.migrate()
    db.ensure_current()


def _verify(project_id: str) -> ChainBreak | None:
    with db.read_session() as session:
        return db.verify_stream(session, db.project_stream(project_id))


def test_chain_of_a_real_project_is_intact(awaiting_assessment: str) -> None:
    assert len(domain.project_events(awaiting_assessment)) >= 5
    assert _verify(awaiting_assessment) is None


@pytest.mark.tampers
def test_edited_event_payload_is_detected(awaiting_assessment: str) -> None:
    stream = db.project_stream(awaiting_assessment)
    with unit_of_work() as session:
        session.execute(
            update(Event)
            .where(Event.stream == stream, Event.kind == "form.submitted")
            .values(payload={"stage": "assessment", "round": 1, "form": "needs-assessment", "data_sha256": "0" * 64})
        )
        edited = session.execute(
            select(Event.seq).where(Event.stream == stream, Event.kind == "form.submitted")
        ).scalar_one()

    found = _verify(awaiting_assessment)

    assert found is not None
    assert found.seq == edited
    assert "被修改" in found.reason


@pytest.mark.tampers
def test_deleted_last_event_is_detected_by_the_stream_head(awaiting_assessment: str) -> None:
    stream = db.project_stream(awaiting_assessment)
    with unit_of_work() as session:
        last = session.execute(select(func.max(Event.seq)).where(Event.stream == stream)).scalar_one()
        session.execute(delete(Event).where(Event.stream == stream, Event.seq == last))

    found = _verify(awaiting_assessment)

    assert found is not None
    assert found.seq == last - 1
    assert "末尾事件被删除" in found.reason


@pytest.mark.tampers
def test_tampering_with_one_project_leaves_others_intact(launch: Callable[..., str], awaiting_assessment: str) -> None:
    other = launch()
    with unit_of_work() as session:
        session.execute(
            update(Event).where(Event.stream == db.project_stream(awaiting_assessment)).values(actor="someone-else")
        )

    assert _verify(awaiting_assessment) is not None
    assert _verify(other) is None
