"""An archive made by the previous release (before the house moved into rooms under `swflow`) opens,
migrates to the same head, keeps its chains intact and takes the next act. The fixture was written by
that release's own code: a project whose assessment was returned once."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from swflow import db, domain
from swflow.config.settings import get_settings

from ._support import NOW, SUPERVISOR

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "archive-0009-previous-release.db"


@pytest.fixture
def previous_archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in [n for n in os.environ if n.startswith("SWFLOW_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SWFLOW_HOME", str(tmp_path))
    get_settings.cache_clear()
    shutil.copy(FIXTURE, tmp_path / "archive.db")
    db.migrate()
    db.ensure_current()
    [project] = domain.list_projects()
    yield project["id"]
    get_settings.cache_clear()


def test_the_previous_releases_archive_reaches_the_same_head_with_its_chains_intact(previous_archive: str) -> None:
    with db.read_session() as session:
        assert [(stream, broken) for stream, broken in db.verify_all(session) if broken is not None] == []
    status = domain.project_status(previous_archive)
    assessment = status["stages"][0]
    assert assessment["round"] == 2 and [d["outcome"] for d in assessment["decisions"]] == ["return"]


def test_the_previous_releases_project_takes_its_next_act(previous_archive: str, sample_forms: dict) -> None:
    domain.submit_form(previous_archive, "needs-assessment", "wang.worker", sample_forms["needs-assessment"], NOW)
    decided = domain.record_decision(previous_archive, "assessment", SUPERVISOR, "approve", "同意", NOW)
    gate = domain.read_gate(previous_archive, "assessment")
    assert domain.apply_gate_reply(previous_archive, "assessment", gate.attempt, decided.decision_id, NOW).kind == (
        "approved"
    )
    with db.read_session() as session:
        assert db.verify_stream(session, db.project_stream(previous_archive)) is None


def test_the_upgraded_schema_is_the_one_a_fresh_archive_gets(previous_archive: str, tmp_path: Path) -> None:
    """Tables, columns, types, indexes and keys of the upgraded file against the models (what a fresh
    archive is made from): Alembic's comparison finds nothing to change."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from swflow.db.tables import Base

    engine = db.engine_for(get_settings().archive_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_the_upgraded_archive_agrees_with_its_events(previous_archive: str) -> None:
    """Its rows against the events that wrote them, as `archive verify` checks (records made before
    seals and agency-message events existed are checked for what they carry)."""
    from swflow.archive.integrity import verify_records

    with db.read_session() as session:
        assert [str(b) for b in verify_records(session)] == []
