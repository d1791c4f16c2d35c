"""Fixtures of the unit tier: a throw-away SQLite archive with the sample people and a project."""

from __future__ import annotations

import copy
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import yaml

from swflow import db, domain
from swflow.config.settings import get_settings

from ._support import FLOW_RUN_ID, MANAGER, NOW, SAMPLES, SECOND_WORKER, SUPERVISOR, WORKER


def _sample(name: str) -> Any:
    return yaml.safe_load((SAMPLES / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def _parsed_form_samples() -> dict[str, dict[str, Any]]:
    from swflow.app.samples import form_samples

    return form_samples()


@pytest.fixture
def sample_forms(_parsed_form_samples: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Valid data for every shipped form (app/samples/forms/*.yaml): parsed once, a fresh copy per test."""
    return copy.deepcopy(_parsed_form_samples)


@pytest.fixture(scope="session")
def _migrated_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An archive migrated once per session: running the migrations was most of a test's setup."""
    path = tmp_path_factory.mktemp("migrated") / "archive.db"
    db.migrate(f"sqlite:///{path}")
    return path


@pytest.fixture
def archive_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _migrated_archive: Path, request: pytest.FixtureRequest
) -> Iterator[Path]:
    """A fresh SWFLOW_HOME with a migrated SQLite archive (a copy); no other SWFLOW_* setting leaks in.

    Afterwards the archive must still agree with itself (every chain intact, every record as its events
    and seals say), unless the test changes it behind the acts' back on purpose (`tampers`): every act a
    unit test runs is thereby checked for leaving a record its events do not account for."""
    for name in [n for n in os.environ if n.startswith("SWFLOW_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SWFLOW_HOME", str(tmp_path))
    get_settings.cache_clear()
    with (
        closing(sqlite3.connect(_migrated_archive)) as source,
        closing(sqlite3.connect(tmp_path / "archive.db")) as copy_,
    ):
        source.backup(copy_)
    yield tmp_path
    if request.node.get_closest_marker("tampers") is None and (tmp_path / "archive.db").exists():
        _agrees_with_itself(f"sqlite:///{tmp_path / 'archive.db'}")
    get_settings.cache_clear()


def _agrees_with_itself(url: str) -> None:
    from swflow.archive.integrity import verify_records

    with db.read_session(url) as session:
        found = [f"{s}: {b.reason}" for s, b in db.verify_all(session) if b is not None]
        found += [str(b) for b in verify_records(session)]
    assert found == [], f"the test left an archive that disagrees with its events: {found[:5]}"


@pytest.fixture
def people(archive_home: Path) -> list[domain.PersonRecord]:
    """The sample people (notify URLs point at a closed local port) and a second worker."""
    records = [
        {**p, "notify": [u.replace("{receiver}", "json://127.0.0.1:9") for u in p["notify"]]}
        for p in _sample("people.yaml")["people"]
    ]
    records.append(
        {
            "id": SECOND_WORKER,
            "name": "赵社工",
            "roles": ["worker"],
            "qualifications": [{"kind": "certificate", "level": "助理社会工作师", "number": "ASW-2023-0009"}],
            "notify": ["json://127.0.0.1:9/zhao.worker"],
        }
    )
    parsed = [domain.PersonRecord.model_validate(r) for r in records]
    domain.import_people(parsed, actor="test", now=NOW)
    return parsed


@pytest.fixture
def launch(people: list[domain.PersonRecord]) -> Callable[..., str]:
    """Launch an elderly-care-brief project through the archive acts, with a fake flow run id."""

    def _launch(**changes: Any) -> str:
        request = domain.LaunchRequest.model_validate(
            {
                "template_id": "elderly-care-brief",
                "name": "幸福社区独居老人关爱",
                "community": "幸福社区",
                "manager_id": MANAGER,
                "supervisor_id": SUPERVISOR,
                "worker_ids": [WORKER, SECOND_WORKER],
                **changes,
            }
        )
        plan = domain.prepare_launch(request, NOW.date())
        domain.record_launch(plan, FLOW_RUN_ID, NOW)
        return plan.project_id

    return _launch


@pytest.fixture
def project_id(launch: Callable[..., str]) -> str:
    return launch()


@pytest.fixture
def awaiting_assessment(project_id: str, sample_forms: dict[str, Any]) -> str:
    """A project whose assessment form is in: the gate waits for the supervisor."""
    domain.open_stage(project_id, "assessment", NOW)
    domain.submit_form(project_id, "needs-assessment", WORKER, sample_forms["needs-assessment"], NOW)
    return project_id


@pytest.fixture
def pass_stage(sample_forms: dict[str, Any]) -> Callable[..., domain.GateOutcome]:
    """Open a stage, submit its form, record the supervisor's decision and apply it."""

    def _pass(
        project_id: str,
        stage: str,
        form: str,
        data: dict[str, Any] | None = None,
        outcome: str = "approve",
        comment: str = "",
    ) -> domain.GateOutcome:
        domain.open_stage(project_id, stage, NOW)
        domain.submit_form(project_id, form, WORKER, data or sample_forms[form], NOW)
        decided = domain.record_decision(
            project_id,
            stage,
            SUPERVISOR,
            outcome,  # type: ignore[arg-type]
            comment,
            NOW,
        )
        gate = domain.read_gate(project_id, stage)
        return domain.apply_gate_reply(project_id, stage, gate.attempt, decided.decision_id, NOW)

    return _pass
