"""The record against its events, on SQLite and PostgreSQL: random changes of random cells of the
archive's tables are all found, and none crashes the check (issue 20, part 1)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from typing import Any

import yaml
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from swflow import db, domain
from swflow.app.samples import form_samples
from swflow.archive.integrity import COMPARED, verify_records
from swflow.db.tables import Base, Event, EventHead
from tests.conftest import SAMPLES
from tests.integration.test_archive_backends import NOW, archive_url  # noqa: F401 - the fixture

MUTATIONS = 2000
EVENT_COLUMNS = ("stream", "seq", "kind", "actor", "at", "flow_run_id", "run_state", "via", "payload",
                 "prev_hash", "hash")  # fmt: skip
TARGETS = [(name, column) for name, columns in COMPARED.items() for column in columns]
TARGETS += [("events", c) for c in EVENT_COLUMNS] + [("event_heads", c) for c in ("stream", "seq", "hash")]
MODELS = {mapper.local_table.name: mapper.class_ for mapper in Base.registry.mappers}
# a stage cannot move to another project quietly: every project has each stage key once (unique)
GUARDED = {"stages.project_id"}


def _candidates(session: Session, table: str, column: str, rows: list[Any]) -> list[Any]:
    """Values a forger would write: for a reference, every key of the table it points at."""
    target = MODELS[table].__table__.c[column]
    for key in target.foreign_keys:
        return list(session.execute(select(key.column)).scalars())
    return [getattr(r, column) for r in rows]


def _launch(name: str, workers: list[str], supervisor: str = "li.supervisor") -> str:
    request = domain.LaunchRequest(
        template_id="elderly-care",
        name=name,
        community="幸福社区",
        manager_id="zhou.pm",
        supervisor_id=supervisor,
        worker_ids=workers,
    )
    plan = domain.prepare_launch(request, NOW.date())
    domain.record_launch(plan, f"00000000-0000-4000-8000-{abs(hash(name)) % 10**12:012d}", NOW)
    return plan.project_id


def _decide(project: str, stage: str, outcome: str, comment: str = "", redo: list[str] | None = None) -> None:
    decided = domain.record_decision(project, stage, "li.supervisor", outcome, comment, NOW, redo)  # type: ignore[arg-type]
    domain.apply_gate_reply(project, stage, domain.read_gate(project, stage).attempt, decided.decision_id, NOW)


def _build_archive() -> list[str]:
    """Three projects through the acts: one returned, resubmitted and approved into planning; one
    rejected; one waiting at its gate with a resubmitted form."""
    text = (SAMPLES / "people.yaml").read_text(encoding="utf-8").replace("{receiver}", "json://127.0.0.1:9")
    domain.import_people(domain.PeopleFile.model_validate(yaml.safe_load(text)).people, "test", NOW)
    forms = form_samples()
    first, second = (_launch(f"完整性{n}", ["wang.worker"]) for n in range(2))
    third = _launch("完整性2", ["wang.worker"], "sun.supervisor")  # another team: rows can move between them
    for project, worker in ((first, "wang.worker"), (second, "wang.worker"), (third, "wang.worker")):
        domain.open_stage(project, "assessment", NOW)
        domain.submit_form(project, "needs-assessment", worker, forms["needs-assessment"], NOW)
    _decide(first, "assessment", "return", "请补充走访记录", ["needs-assessment"])
    changed = {**forms["needs-assessment"]}
    domain.submit_form(first, "needs-assessment", "wang.worker", changed, NOW + timedelta(hours=1))
    _decide(first, "assessment", "approve")
    domain.open_stage(first, "planning", NOW + timedelta(hours=2))
    _decide(second, "assessment", "reject", "不符合服务范围")
    domain.submit_form(third, "needs-assessment", "wang.worker", forms["needs-assessment"], NOW + timedelta(hours=3))
    return [first, second, third]


def _changed(value: Any, others: list[Any], rng: random.Random) -> Any:
    """A different value of the same kind: another row's value where one exists (a row moved to
    another project, another person named), else an edit of this one."""
    choices = [o for o in others if o != value and o is not None]
    if choices and (isinstance(value, str | int) or value is None) and rng.random() < 0.6:
        return rng.choice(choices)
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + rng.choice([1, 7, 1000])
    if isinstance(value, str):
        return value[:-1] + ("0" if value[-1:] != "0" else "1") if value and rng.random() < 0.5 else value + "改"
    if isinstance(value, dict):
        if value and rng.random() < 0.5:
            key = rng.choice(sorted(value))
            return {**value, key: _changed(value[key], [], rng) if value[key] is not None else "改"}
        return {**value, "篡改": 1}
    if isinstance(value, list):
        return [*value, "改"] if not value or rng.random() < 0.5 else value[:-1]
    if hasattr(value, "tzinfo"):  # a datetime
        return value + timedelta(seconds=rng.choice([1, 3600, -86400]))
    if value is None:
        return choices[0] if choices else "改"
    raise AssertionError(f"no mutation for {type(value)}")


def _verify(session: Session) -> list[str]:
    found = [f"{s}: {b.reason}" for s, b in db.verify_all(session) if b is not None]
    return found + [str(b) for b in verify_records(session)]


def test_an_untouched_archive_agrees_with_its_events(archive_url: str) -> None:  # noqa: F811
    _build_archive()
    with db.read_session() as session:
        assert _verify(session) == []


def test_random_changes_of_random_cells_are_all_found(archive_url: str) -> None:  # noqa: F811
    _build_archive()
    rng = random.Random(20261202)
    engine = db.engine_for(archive_url)
    tried: Counter[str] = Counter()
    missed: list[str] = []
    refused = 0
    with Session(engine, autoflush=True) as session:
        rows = {name: list(session.execute(select(MODELS[name])).scalars()) for name in {t for t, _ in TARGETS}}
        session.expunge_all()
    while sum(tried.values()) < MUTATIONS:
        table, column = rng.choice(TARGETS)
        with Session(engine) as session:
            victim = session.merge(rng.choice(rows[table]), load=True)
            before = getattr(victim, column)
            others = _candidates(session, table, column, rows[table])
            after = _changed(before, others, rng)
            setattr(victim, column, after)
            try:
                session.flush()
            except (IntegrityError, DataError):  # the database itself refused (a key, a length): not quiet
                refused += 1
                continue
            keys = sa_inspect(victim).identity
            tried[f"{table}.{column}"] += 1
            if not _verify(session):
                missed.append(f"{table}{keys}.{column}: {before!r} → {after!r}")
            session.rollback()
    assert missed == [], f"{len(missed)} of {MUTATIONS} changes not found: {missed[:10]}"
    untried = {f"{t}.{c}" for t, c in TARGETS} - set(tried) - GUARDED
    assert not untried, f"every compared column is changed at least once, not: {untried} ({refused} refused)"
    print(f"{MUTATIONS} changes, all found; {refused} refused by the database; by column: {dict(tried)}")


def test_events_and_heads_are_part_of_it(archive_url: str) -> None:  # noqa: F811
    """The chain's own tables are among the targets: a head moved back with its last event deleted."""
    project = _build_archive()[0]
    with Session(db.engine_for(archive_url)) as session:
        stream = db.project_stream(project)
        last = session.execute(select(Event).where(Event.stream == stream).order_by(Event.seq.desc())).scalars().first()
        head = session.get_one(EventHead, stream)
        assert last is not None
        head.seq, head.hash = last.seq - 1, last.prev_hash
        session.delete(last)
        session.flush()
        assert _verify(session) != []  # the chain is intact but the record (a stage, a decision) lost its event
        session.rollback()
