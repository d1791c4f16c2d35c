"""The record against its events, on SQLite and PostgreSQL: random changes of random cells of the
archive's tables are all found, and none crashes the check (issue 20, part 1)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

import yaml
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from swflow import db, domain
from swflow.app.samples import form_samples
from swflow.archive.integrity import COMPARED, verify_records
from swflow.db.registry_tables import VolunteerCertificate
from swflow.db.seals import SEALED, sealed_columns
from swflow.db.tables import Base, Event, EventHead
from swflow.domain import quality, registry
from tests.conftest import SAMPLES
from tests.integration.test_archive_backends import NOW, archive_url  # noqa: F401 - the fixture

MUTATIONS = 1200  # every target column, in a shuffled round, six times or more (CI's 30-minute budget)
EVENT_COLUMNS = ("stream", "seq", "kind", "actor", "at", "flow_run_id", "run_state", "via", "payload",
                 "prev_hash", "hash")  # fmt: skip
TARGETS = [(name, column) for name, columns in COMPARED.items() for column in columns]
# the agency's records and the rows that belong to them, against their seals (a volunteer's
# certificate needs activity records this archive has none of: its seal is tested in the unit tier)
SEALED_TABLES = {m for table, children in SEALED.values() for m in (table, *(c.model for c in children))}
TARGETS += [
    (m.__tablename__, c) for m in sorted(SEALED_TABLES - {VolunteerCertificate}, key=str) for c in sealed_columns(m)
]
TARGETS += [("events", c) for c in EVENT_COLUMNS] + [("event_heads", c) for c in ("stream", "seq", "hash")]
MODELS = {mapper.local_table.name: mapper.class_ for mapper in Base.registry.mappers}
# a stage cannot move to another project quietly: every project has each stage key once (unique)
GUARDED = {"stages.project_id"}
# one record of each agency kind: every other key a reference could take is refused by a foreign key
GUARDED |= {
    f"{table}.{column}"
    for table, columns in {
        "served_people": ("id",), "consents": ("id", "person_id"), "enrolments": ("person_id",),
        "referrals": ("id", "person_id", "consent_id"), "referral_follow_ups": ("referral_id",),
        "supervision_sessions": ("id",), "supervision_attendees": ("session_id",), "organisations": ("id",),
        "resource_links": ("organisation_id",), "volunteers": ("id",), "volunteer_trainings": ("volunteer_id",),
    }.items()
    for column in columns
}  # fmt: skip


def _candidates(session: Session, table: str, column: str, rows: list[Any]) -> list[Any]:
    """Values a forger would write: for a reference, every key of the table it points at."""
    target = MODELS[table].__table__.c[column]
    for key in target.foreign_keys:
        return list(session.execute(select(key.column)).scalars())
    return [getattr(r, column) for r in rows]


def _launch(name: str, workers: list[str], supervisor: str = "li.supervisor") -> str:
    request = domain.LaunchRequest(
        template_id="elderly-care-brief",
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
    _build_records(first)
    return [first, second, third]


def _build_records(project: str) -> None:
    """One of each agency record through the acts, with the rows that belong to them."""
    due = (NOW + timedelta(days=7)).date().isoformat()
    complaint = quality.open_complaint(
        {"channel": "phone", "content": "活动临时取消", "contact": "张先生 13912345678", "project": project},
        "chen.director",
        NOW,
    )["id"]
    quality.add_complaint_action(
        complaint, "zhou.pm", "corrective", {"text": "提前通知", "owner": "zhou.pm", "due": due}, NOW
    )
    quality.acknowledge_complaint(complaint, "zhou.pm", "已联系", NOW)
    quality.report_incident(
        {"kind": "accident", "severity": "severe", "occurred_at": "2026-11-30T19:20:00", "place": "幸福路 1 号",
         "people_involved": "李阿姨", "description": "起身跌倒", "handling": "送医", "project": project},
        "wang.worker",
        NOW,
    )  # fmt: skip
    quality.record_session(
        {"supervisees": ["wang.worker"], "held_on": "2026-11-30", "mode": "individual", "topics": ["哀伤反应"],
         "decisions": "每周通一次电话", "actions": [{"owner": "wang.worker", "due": due, "text": "整理个案记录"}]},
        "li.supervisor",
        NOW,
    )  # fmt: skip
    fields = {"name": "王秀英", "gender": "female", "birth_year": 1944, "phone": "13800138000"}
    consent = [registry.ConsentGiven(purpose="referral", given_on=NOW.date())]
    served = registry.register_person(
        registry.Registration(data=fields, project=project, consents=consent), "wang.worker", NOW
    )["id"]
    referral = registry.open_referral(
        served,
        {"service": "心理咨询", "agency": "心理中心", "urgency": "normal", "reason": "情绪低落"},
        "wang.worker",
        NOW,
    )["id"]
    registry.update_referral(referral, "wang.worker", "机构已接收", NOW + timedelta(hours=1), status="accepted")
    helper = registry.register_volunteer(
        {"name": "刘志愿", "gender": "male", "birth_year": 1990, "phone": "13900000001"}, NOW.date(), "wang.worker", NOW
    )
    registry.record_training(helper, "急救培训", NOW.date(), 2, "wang.worker", NOW)
    org = registry.add_organisation(
        {"name": "幸福物业", "kind": "property_company", "community": "幸福社区"}, "wang.worker", NOW
    )
    registry.link_resource(org, project, {"need": "缺少场地", "resource": "会所二楼", "method": "resource_integration"},
                           "wang.worker", NOW)  # fmt: skip


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
    if isinstance(value, date):
        return value + timedelta(days=rng.choice([1, -1, 30]))
    if isinstance(value, float):
        return value + rng.choice([0.5, 1, 10])
    if value is None:
        return choices[0] if choices else "改"
    raise AssertionError(f"no mutation for {type(value)}")


def _filled(table: str, column: str, others: list[Any]) -> Any:
    """A value where the record has none yet (a complaint not answered, an action not done)."""
    if any(o is not None for o in others):
        return next(o for o in others if o is not None)
    column_type = MODELS[table].__table__.c[column].type
    kind = getattr(column_type, "impl_instance", column_type).python_type
    fills = {datetime: NOW, date: NOW.date(), int: 1, float: 1.5, bool: True, dict: {"篡改": 1}}
    return fills.get(kind, "改")


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
    order = list(TARGETS)
    rng.shuffle(order)
    attempt = 0
    while sum(tried.values()) < MUTATIONS:
        table, column = order[attempt % len(order)]  # a round of every target, then the next round
        attempt += 1
        with Session(engine) as session:
            victim = session.merge(rng.choice(rows[table]), load=True)
            before = getattr(victim, column)
            others = _candidates(session, table, column, rows[table])
            after = _changed(before, others, rng) if before is not None else _filled(table, column, others)
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
    """The chain's own tables are among the targets: a head moved back with its last event deleted.
    (The third project: the first one's stream ends with copies of agency-record events, whose own
    streams keep them; a copy cut off the end of a project's stream is the checkpoints' to name.)"""
    project = _build_archive()[2]
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
