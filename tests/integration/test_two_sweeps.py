"""Two deadline sweeps at the same moment, in two processes, against one archive (SQLite and PostgreSQL):
every escalation step of every late work item and waiting gate is recorded once (one `escalations` row,
one `deadline.escalated` event), each person hears of each step once, the outbox holds what one sweep
alone queues on an identical twin archive, the hash chains stay intact, and a third sweep at the same
moment adds nothing. The moments are given by the injected clock; nothing waits for time to pass."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import secrets
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from swflow import db, domain
from swflow.app.samples import SAMPLES, form_samples
from swflow.config.clock import SHANGHAI
from swflow.config.escalation import get_policy
from swflow.config.settings import get_settings
from swflow.db.engine import after_fork, engine_for
from swflow.db.journal import MESSAGES_STREAM
from swflow.db.tables import Escalation, Event, EventHead, OutboxMessage, Project, Stage, WorkItem
from swflow.domain.agency import SweepReport, sweep

PG_ADMIN_URL = os.environ.get("SWFLOW_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)  # a Monday with no holiday near it
MANAGER, SUPERVISOR, WORKER, DIRECTOR = "zhou.pm", "li.supervisor", "wang.worker", "chen.director"
PROJECTS = 3


def at(day: str, hour: int = 10) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), SHANGHAI).replace(hour=hour)


# Each project's assessment gate waits from its start (due 3 working days later) while its planning form
# is open (due 5 working days later): the moments walk both through reminder, due, overdue_2 and overdue_5.
MOMENTS = [at(d) for d in ("2026-03-04", "2026-03-05", "2026-03-06", "2026-03-09", "2026-03-11", "2026-03-13")]
MOMENTS += [at(d) for d in ("2026-03-16", "2026-03-17", "2026-03-18")]


def _let_go(url: str) -> None:
    engine_for(url).dispose()
    engine_for(url, writer=False).dispose()


def _pg_database(template: str = "") -> Iterator[str]:
    """A new PostgreSQL database (a copy of `template`, a database nobody is connected to, if given)."""
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:  # any failure to connect means: no PostgreSQL here
        pytest.skip(f"PostgreSQL 不可用（{PG_ADMIN_URL}）：{type(exc).__name__}；此测试跳过")
    name = f"swflow_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    try:
        yield url
    finally:
        _let_go(url)
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.close()


def _archive(kind: str, tmp_path: Path, name: str) -> Iterator[str]:
    return iter([f"sqlite:///{tmp_path / name}"]) if kind == "sqlite" else _pg_database()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def archive_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The archive the two sweeps share, migrated; `twin_url` names a second one of the same kind."""
    _clean_env(monkeypatch, tmp_path)
    for url in _archive(request.param, tmp_path, "archive.db"):
        monkeypatch.setenv("SWFLOW_DATABASE_URL", url)
        get_settings.cache_clear()
        db.migrate()
        yield url
    get_settings.cache_clear()


@pytest.fixture
def twin_url(archive_url: str, tmp_path: Path) -> Iterator[str]:
    """A second archive of the same kind, where one sweep alone runs: what the pair must match."""
    for url in _archive("sqlite" if archive_url.startswith("sqlite") else "postgresql", tmp_path, "twin.db"):
        db.migrate(url)
        yield url


def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [n for n in os.environ if n.startswith("SWFLOW_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SWFLOW_HOME", str(tmp_path))


def _use(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("SWFLOW_DATABASE_URL", url)
    get_settings.cache_clear()


def _set_up(projects: int = PROJECTS, opposite: bool = False) -> None:
    """The sample people (notify URLs at a closed local port) and `projects` projects, the i-th started
    i days after NOW: its needs assessment is in (the gate waits) and its planning form is open.

    Items and gates fall due in the same project order. With `opposite` every project starts at NOW, the
    i-th assessment is in i minutes later and its planning opens 2·projects − i minutes later: the items
    fall due in the gates' reverse project order (the race test below)."""
    people = yaml.safe_load((SAMPLES / "people.yaml").read_text(encoding="utf-8"))["people"]
    records = [{**p, "notify": [u.replace("{receiver}", "json://127.0.0.1:9") for u in p["notify"]]} for p in people]
    domain.import_people([domain.PersonRecord.model_validate(r) for r in records], actor="test", now=NOW)
    assessment = form_samples()["needs-assessment"]
    for index in range(projects):
        start = NOW if opposite else NOW + timedelta(days=index)
        request = domain.LaunchRequest.model_validate(
            {
                "template_id": "elderly-care-brief",
                "name": f"项目 {index}",
                "community": "幸福社区",
                "manager_id": MANAGER,
                "supervisor_id": SUPERVISOR,
                "worker_ids": [WORKER],
            }
        )
        plan = domain.prepare_launch(request, start.date())
        domain.record_launch(plan, None, start)
        domain.open_stage(plan.project_id, "assessment", start)
        submitted = start + timedelta(minutes=index if opposite else 0)
        domain.submit_form(plan.project_id, "needs-assessment", WORKER, assessment, submitted)
        domain.open_stage(
            plan.project_id, "planning", start + timedelta(minutes=2 * projects - index if opposite else 0)
        )


def _sweep_at_the_barrier(barrier: Any, moment: datetime, results: Any) -> None:
    get_settings.cache_clear()
    after_fork()
    barrier.wait()
    try:
        report = sweep(moment)
    except BaseException as exc:  # the parent says what went wrong
        results.put(f"{type(exc).__name__}: {exc}")
        raise
    results.put(report)


def _two_sweeps(moment: datetime) -> list[SweepReport]:
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_sweep_at_the_barrier, args=(barrier, moment, results)) for _ in "ab"]
    for worker in workers:
        worker.start()
    reports = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    failed = [r for r in reports if not isinstance(r, SweepReport)]
    assert failed == [] and [w.exitcode for w in workers] == [0, 0], f"a sweep failed at {moment}: {failed}"
    return reports


def _subjects(session: Any) -> dict[tuple[str, int], tuple[str, str]]:
    """(subject, id) → (project name, stage key): names the same thing in both archives."""
    names = {p.id: p.name for p in session.execute(select(Project)).scalars()}
    stages = {s.id: s for s in session.execute(select(Stage)).scalars()}
    found = {("gate", s.id): (names[s.project_id], s.key) for s in stages.values()}
    for item in session.execute(select(WorkItem)).scalars():
        found[("item", item.id)] = (names[item.project_id], stages[item.stage_id].key)
    return found


def _steps() -> list[tuple[Any, ...]]:
    """Every escalation row, named by project and stage rather than by id."""
    with db.read_session() as session:
        subjects = _subjects(session)
        rows = session.execute(select(Escalation).order_by(Escalation.id)).scalars()
        return sorted(
            (*subjects[(r.subject, r.subject_id)], r.subject, r.round, r.gate_step, r.step, r.skipped, *r.recipients)
            for r in rows
        )


def _escalated_events() -> list[tuple[Any, ...]]:
    with db.read_session() as session:
        subjects = _subjects(session)
        events = session.execute(select(Event).where(Event.kind == "deadline.escalated")).scalars()
        return sorted(
            (*subjects[(p["subject"], p["id"])], p["subject"], p["round"], p["gate_step"], p["step"])
            for p in (e.payload for e in events)
        )


def _notices() -> list[tuple[str, str, str, str, str]]:
    """(recipient, channel, project, task, step) for every item of every queued deadline message."""
    with db.read_session() as session:
        rows = session.execute(select(OutboxMessage).where(OutboxMessage.template == "deadline_digest")).scalars()
        return sorted(
            (r.recipient_id, r.channel, i["project_name"], i["task"], i["step"])
            for r in rows
            for i in r.context["items"]
        )


def _messages() -> list[tuple[str, str, tuple[tuple[str, str, str], ...], bool]]:
    with db.read_session() as session:
        rows = session.execute(select(OutboxMessage).where(OutboxMessage.template == "deadline_digest")).scalars()
        return sorted(
            (
                r.recipient_id,
                r.channel,
                tuple(sorted((i["project_name"], i["task"], i["step"]) for i in r.context["items"])),
                r.urgent,
            )
            for r in rows
        )


def _at_risk() -> list[tuple[str, str]]:
    with db.read_session() as session:
        names = {p.id: p.name for p in session.execute(select(Project)).scalars()}
        return sorted(
            (names[s.project_id], s.key) for s in session.execute(select(Stage).where(Stage.at_risk)).scalars()
        )


def _archive_state() -> dict[str, Any]:
    return {
        "steps": _steps(),
        "events": _escalated_events(),
        "notices": _notices(),
        "messages": _messages(),
        "at_risk": _at_risk(),
    }


def _agrees_with_itself() -> None:
    from swflow.archive.integrity import verify_records

    with db.read_session() as session:
        found = [f"{s}: {b.reason}" for s, b in db.verify_all(session) if b is not None]
        found += [str(b) for b in verify_records(session)]
    assert found == [], f"the sweeps left an archive that disagrees with its events: {found[:5]}"


def _pair_matches(
    pair: list[SweepReport], alone: SweepReport, expected: dict[str, Any], moment: datetime, digest: bool
) -> dict[str, Any]:
    """The archive after the pair's sweeps at `moment` holds what one sweep `alone` left in `expected`."""
    state = _archive_state()
    assert sum(r.escalated for r in pair) == alone.escalated, moment
    assert sum(r.skipped_steps for r in pair) == alone.skipped_steps, moment
    for name in ("steps", "events", "notices", "at_risk"):
        assert state[name] == expected[name], f"{name} after two sweeps at {moment}"
    assert len(state["events"]) == len(set(state["events"])), moment  # one event per (subject, round, step)
    assert len(state["notices"]) == len(set(state["notices"])), moment  # each person hears of a step once
    if digest:  # one digest per person per sweep: when the pair shares the work a person may get two
        assert alone.messages <= sum(r.messages for r in pair) <= 2 * alone.messages, moment
    else:
        assert sum(r.messages for r in pair) == alone.messages, moment
        assert state["messages"] == expected["messages"], f"messages after two sweeps at {moment}"
    return state


@pytest.mark.parametrize("digest", [False, True], ids=["one-message-per-step", "digests"])
def test_two_sweeps_at_once_record_each_step_once(
    archive_url: str, twin_url: str, digest: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWFLOW_DIGEST", str(digest).lower())
    for url in (archive_url, twin_url):
        _use(monkeypatch, url)
        _set_up()
    for moment in MOMENTS:
        _use(monkeypatch, twin_url)
        alone = sweep(moment)
        assert alone.escalated > 0, f"nothing was due at {moment}: the moments no longer fit the set-up"
        expected = _archive_state()

        _use(monkeypatch, archive_url)
        state = _pair_matches(_two_sweeps(moment), alone, expected, moment, digest)
        third = sweep(moment)
        assert (third.escalated, third.skipped_steps, third.messages) == (0, 0, 0), moment
        assert _archive_state() == state, moment
    steps = len(get_policy("default").steps)
    assert len(_steps()) == 2 * steps * PROJECTS  # every step of every item and gate: fired or passed over
    for url in (archive_url, twin_url):
        _use(monkeypatch, url)
        _agrees_with_itself()


RACE_PROJECTS, RACE_ROUNDS = 8, 6


def _race_rounds(monkeypatch: pytest.MonkeyPatch, base: str) -> None:
    """One sweep alone at each moment on a copy of `base`, then RACE_ROUNDS more copies swept in pairs."""
    fresh = contextlib.contextmanager(_pg_database)
    expected: dict[datetime, tuple[SweepReport, dict[str, Any]]] = {}
    with fresh(base.rsplit("/", 1)[1]) as twin:
        _use(monkeypatch, twin)
        for moment in MOMENTS:
            expected[moment] = (sweep(moment), _archive_state())
        with db.read_session() as session:
            assert session.get(EventHead, MESSAGES_STREAM), "no digest went to `messages`: the set-up no longer fits"
    events = [set(expected[m][1]["events"]) for m in MOMENTS]
    kinds = [{e[2] for e in now - then} for then, now in zip([set(), *events[:-1]], events, strict=True)]
    assert {"item", "gate"} in kinds, "items and gates never fall due at one moment: the set-up no longer fits"
    for _ in range(RACE_ROUNDS):
        with fresh(base.rsplit("/", 1)[1]) as url:
            _use(monkeypatch, url)
            for moment in MOMENTS:
                _pair_matches(_two_sweeps(moment), *expected[moment], moment, digest=True)
            _agrees_with_itself()


@pytest.mark.postgres
def test_two_postgresql_sweeps_neither_deadlock_nor_race_for_a_new_head(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression, PostgreSQL only. Items and gates fall due in opposite project orders: two sweeps split
    them and once took the project heads in opposite orders (a deadlock). The `messages` stream has no
    head yet: both once made it (UniqueViolation on uq_events_stream). Before the fixes a round lost one
    of these races 1 to 2 times in 3, so RACE_ROUNDS fresh copies of the set-up are swept in pairs, and
    each must end as one sweep alone ends: neither sweep may fail, nothing may be recorded twice."""
    _clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv("SWFLOW_DIGEST", "true")  # digests about several projects go to the `messages` stream
    with contextlib.contextmanager(_pg_database)() as base:  # skips with the reason when PostgreSQL is unreachable
        db.migrate(base)
        _use(monkeypatch, base)
        _set_up(RACE_PROJECTS, opposite=True)
        with db.read_session() as session:
            assert session.get(EventHead, MESSAGES_STREAM) is None, "the `messages` stream already has a head"
        _let_go(base)  # the copies are made from it: nobody may be connected
        _race_rounds(monkeypatch, base)
