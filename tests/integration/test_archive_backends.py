"""The archive's acts and races on SQLite and on PostgreSQL (skipped with a reason when absent)."""

from __future__ import annotations

import multiprocessing
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from swflow import db, domain
from swflow.app.samples import form_samples
from swflow.config.errors import AlreadyDecidedError
from swflow.config.settings import get_settings
from tests.conftest import SAMPLES

PG_ADMIN_URL = os.environ.get("SWFLOW_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def _pg_database() -> Iterator[str]:
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:  # any failure to connect means: no PostgreSQL here
        pytest.skip(f"PostgreSQL 不可用（{PG_ADMIN_URL}）：{type(exc).__name__}；此测试跳过")
    name = f"swflow_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        from swflow.db.engine import engine_for

        engine_for(f"{base}/{name}").dispose()
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def archive_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("SWFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("SWFLOW_PREFECT_PORT", "9")  # nothing listens: resumes are deferred
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'archive.db'}"
        monkeypatch.setenv("SWFLOW_DATABASE_URL", url)
        get_settings.cache_clear()
        db.migrate()
        yield url
    else:
        for url in _pg_database():
            monkeypatch.setenv("SWFLOW_DATABASE_URL", url)
            get_settings.cache_clear()
            db.migrate()
            yield url
    get_settings.cache_clear()


def _people() -> list[domain.PersonRecord]:
    text = (SAMPLES / "people.yaml").read_text(encoding="utf-8").replace("{receiver}", "json://127.0.0.1:9")
    return domain.PeopleFile.model_validate(yaml.safe_load(text)).people


def _project_awaiting_decision() -> str:
    domain.import_people(_people(), "test", NOW)
    plan = domain.prepare_launch(
        domain.LaunchRequest(
            template_id="elderly-care-brief",
            name="后端测试",
            community="幸福社区",
            manager_id="zhou.pm",
            supervisor_id="li.supervisor",
            worker_ids=["wang.worker"],
        ),
        NOW.date(),
    )
    domain.record_launch(plan, "00000000-0000-0000-0000-000000000000", NOW)
    domain.open_stage(plan.project_id, "assessment", NOW)
    data = form_samples()["needs-assessment"]
    domain.submit_form(plan.project_id, "needs-assessment", "wang.worker", data, NOW)
    return plan.project_id


def test_decision_is_recorded_once_and_the_chain_holds(archive_url: str) -> None:
    project = _project_awaiting_decision()
    decided = domain.record_decision(project, "assessment", "li.supervisor", "approve", "", NOW)
    with pytest.raises(AlreadyDecidedError):
        domain.record_decision(project, "assessment", "li.supervisor", "return", "再改", NOW)
    outcome = domain.apply_gate_reply(project, "assessment", 1, decided.decision_id, NOW)
    assert outcome.kind == "approved"
    again = domain.apply_gate_reply(project, "assessment", 1, decided.decision_id, NOW)
    assert again.kind == "approved"
    kinds = [e["kind"] for e in domain.project_events(project)]
    assert kinds.count("stage.approved") == 1
    with db.read_session() as session:
        assert db.verify_stream(session, db.project_stream(project)) is None


def _decide_at_the_barrier(barrier: Any, project: str, outcome: str, results: Any) -> None:
    get_settings.cache_clear()
    from swflow.db.engine import after_fork

    after_fork()
    barrier.wait()
    try:
        domain.record_decision(project, "assessment", "li.supervisor", outcome, "意见", NOW)
        results.put("recorded")
    except AlreadyDecidedError:
        results.put("already decided")


def test_fifty_races_of_two_processes_each_record_exactly_one_decision(archive_url: str) -> None:
    """Two real processes decide the same gate at the same instant, fifty times over."""
    context = multiprocessing.get_context("fork")
    for _ in range(50):
        project = _project_awaiting_decision()
        barrier, results = context.Barrier(2), context.Queue()
        workers = [
            context.Process(target=_decide_at_the_barrier, args=(barrier, project, outcome, results))
            for outcome in ("approve", "return")
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
            assert worker.exitcode == 0
        assert sorted(results.get(timeout=5) for _ in workers) == ["already decided", "recorded"]
        decisions = domain.project_status(project)["stages"][0]["decisions"]
        assert len(decisions) == 1
        with db.read_session() as session:
            assert db.verify_stream(session, db.project_stream(project)) is None


def test_two_simultaneous_cli_decisions_exit_0_and_3(archive_url: str) -> None:
    project = _project_awaiting_decision()
    env = {**os.environ}
    argv = [
        sys.executable,
        "-m",
        "swflow.app.cli",
        "approve",
        project,
        "assessment",
        "--by",
        "li.supervisor",
    ]
    procs = [
        subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    results = [(p.wait(timeout=60), p.stderr.read() if p.stderr else "") for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 3], results
    assert any("already decided" in err for code, err in results if code == 3)
    decisions = domain.project_status(project)["stages"][0]["decisions"]
    assert len(decisions) == 1
    with db.read_session() as session:
        assert db.verify_stream(session, db.project_stream(project)) is None


def _register_at_the_barrier(barrier: Any, name: str, results: Any) -> None:
    get_settings.cache_clear()
    from swflow.config.errors import RefusedError
    from swflow.db.engine import after_fork
    from swflow.domain import registry

    after_fork()
    data = {"name": name, "gender": "female", "birth_year": 1944, "phone": "13800138000"}
    barrier.wait()
    try:
        registry.register_person(registry.Registration(data=data), "wang.worker", NOW)
        results.put("registered")
    except RefusedError as exc:
        results.put("duplicate" if "重复登记" in str(exc) else str(exc))


def test_two_simultaneous_registrations_of_one_person_register_it_once(archive_url: str) -> None:
    """The duplicate check and the insert cannot interleave (PostgreSQL: an advisory lock per identity)."""
    from sqlalchemy import func, select

    from swflow.db.registry_tables import ServedPerson

    domain.import_people(_people(), "test", NOW)
    context = multiprocessing.get_context("fork")
    for race in range(30):
        barrier, results = context.Barrier(2), context.Queue()
        workers = [
            context.Process(target=_register_at_the_barrier, args=(barrier, f"王秀英{race}", results)) for _ in "ab"
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
            assert worker.exitcode == 0
        assert sorted(results.get(timeout=5) for _ in workers) == ["duplicate", "registered"]
    with db.read_session() as session:
        assert session.execute(select(func.count()).select_from(ServedPerson)).scalar_one() == 30
