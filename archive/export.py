"""The project dossier: `data.json` (complete, round-trippable), `index.html` and `tables.xlsx`.

Sensitive form fields are masked unless the viewer named by `--as` may see them (the project's
team, its supervisor, and directors). Channel addresses (which hold tokens) never leave. Each survey's
summary (`surveys`) holds counts, means and tests, no answer; an export made before it has none.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.archive.checkpoints import write_checkpoint
from swflow.archive.dossier_trust import Trust, dossier_trust, sign_dossier
from swflow.archive.reports import indicator_report, scorecard_report
from swflow.config.errors import FormError, NotFoundError, RefusedError, StorageError, bad_path, os_error_text
from swflow.db.chain import canonical_json
from swflow.db.engine import read_session, unit_of_work
from swflow.db.journal import append_event, project_stream, verify_stream
from swflow.db.tables import (
    Escalation,
    Event,
    EventHead,
    FormSubmission,
    GateDecision,
    OutboxMessage,
    Person,
    Project,
    ProjectMember,
    RunState,
    Stage,
    UtcDateTime,
    WorkItem,
)
from swflow.domain.people.visibility import may_see_sensitive
from swflow.domain.projects.stages import READ_ONLY_IMPORT
from swflow.domain.projects.surveys import survey_report
from swflow.forms_spec import FormSpec, mask_sensitive

__all__ = ["FORMAT", "may_see_sensitive", "project_data", "record_export", "export_project", "import_project"]

FORMAT = {"format": "swflow-project-archive", "version": 1}
TABLES: list[tuple[str, type[Any]]] = [
    ("members", ProjectMember),
    ("stages", Stage),
    ("work_items", WorkItem),
    ("submissions", FormSubmission),
    ("decisions", GateDecision),
    ("escalations", Escalation),
    ("outbox", OutboxMessage),
    ("run_states", RunState),
]


def _row(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in obj.__table__.columns:
        value = getattr(obj, column.key)
        out[column.key] = value.isoformat() if isinstance(value, datetime) else value
    return out


def project_data(project_id: str, viewer: str | None) -> dict[str, Any]:
    """Every record of the project, sensitive fields masked for a viewer who may not see them."""
    with read_session() as session:
        project = session.get(Project, project_id)
        if project is None:
            raise NotFoundError(f"没有项目 {project_id}")
        clear = may_see_sensitive(session, project, viewer)
        data: dict[str, Any] = {**FORMAT, "project": _row(project), "masked": not clear, "viewer": viewer}
        for name, model in TABLES:
            query = select(model).where(model.project_id == project_id)
            data[name] = [_row(r) for r in session.execute(query.order_by(*model.__table__.primary_key)).scalars()]
        for message in data["outbox"]:
            message["channel"] = message["channel"].split("://", 1)[0] + "://…"  # tokens stay home
            # a signed one-tap link decides as its person until it expires: it never leaves the archive
            message["context"] = {
                key: ("…" if key.endswith("_link") and value else value) for key, value in message["context"].items()
            }
        if not clear:
            for sub in data["submissions"]:
                sub["data"] = mask_sensitive(
                    FormSpec.model_validate(project.forms_snapshot[sub["form_id"]]), sub["data"]
                )
        ids = {m["person_id"] for m in data["members"]} | {d["decided_by"] for d in data["decisions"]}
        people = session.execute(select(Person).where(Person.id.in_(ids)).order_by(Person.id)).scalars()
        data["people"] = [
            {"id": p.id, "name": p.name, "roles": p.roles, "qualifications": p.qualifications} for p in people
        ]
        events = session.execute(
            select(Event).where(Event.stream == project_stream(project_id)).order_by(Event.seq)
        ).scalars()
        data["events"] = [{k: v for k, v in _row(e).items() if k != "id"} for e in events]
        head = session.get(EventHead, project_stream(project_id))
        data["head"] = {"seq": head.seq, "hash": head.hash} if head else None
    data["indicators"] = indicator_report(project_id)
    data["scorecard"] = scorecard_report(project_id)
    data["surveys"] = survey_report(project_id)  # aggregates only (no answer): nothing to mask
    return data


DOSSIER_FILES = {"data": "data.json", "html": "index.html", "xlsx": "tables.xlsx"}


def _check_out(out: Path) -> None:
    """Refuse, before anything is read or written, an --out that would write somewhere else; a path
    the system cannot even look at (a name too long, a loop of links) is bad input too."""
    try:
        _check_out_path(out)
    except OSError as exc:
        raise bad_path("--out", out, exc) from exc


def _check_out_path(out: Path) -> None:
    def refuse(why: str) -> FormError:
        return FormError(f"--out：{out} {why}", [("--out", why)])

    if out.is_symlink():
        raise refuse("是符号链接：请给出一个真实的目录")
    if out.exists() and not out.is_dir():
        raise refuse("已存在且不是目录")
    parent = out.absolute().parent
    if not parent.is_dir():
        raise refuse(f"的上级目录 {parent} 不存在")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise refuse(f"的上级目录 {parent} 不可写")
    for name in DOSSIER_FILES.values():
        target = out / name
        if target.is_symlink():
            raise refuse(f"中的 {name} 是符号链接：导出不会写到链接指向的地方")
        if target.exists() and not target.is_file():
            raise refuse(f"中的 {name} 已存在且不是普通文件")


def export_project(project_id: str, out: Path, viewer: str | None, now: datetime) -> dict[str, Path]:
    """Write the dossier into `out`: into a folder beside it first, recorded as an event of the
    project, and only then moved into place, so no file leaves without its record."""
    from swflow.archive.dossier import render_dossier, write_tables_xlsx

    _check_out(out)
    data = project_data(project_id, viewer)
    data["exported_at"] = now.isoformat()
    write_checkpoint(now, f"export:{project_id}")  # the dossier's events are signed in this archive first
    sign_dossier(data)  # the latest checkpoint and the agency's signature over the rest
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.absolute().parent))
    try:
        try:
            (staging / DOSSIER_FILES["data"]).write_text(
                json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8"
            )
            (staging / DOSSIER_FILES["html"]).write_text(render_dossier(data), encoding="utf-8")
            write_tables_xlsx(data, staging / DOSSIER_FILES["xlsx"])
        except OSError as exc:
            raise StorageError(f"导出没有完成，什么也没有留下：{os_error_text(exc)}") from exc
        record_export(project_id, data, viewer, now)
        paths = {kind: out / name for kind, name in DOSSIER_FILES.items()}
        if not out.exists():
            staging.rename(out)
        else:
            for kind, name in DOSSIER_FILES.items():
                os.replace(staging / name, paths[kind])  # replaces a link itself, never writes through it
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return paths


def record_export(project_id: str, data: dict[str, Any], viewer: str | None, now: datetime) -> None:
    with unit_of_work() as session:
        append_event(
            session,
            project_stream(project_id),
            "archive.exported",
            actor=viewer or "cli",
            at=now,
            payload={
                "masked": data["masked"],
                "events": len(data["events"]),
                "head": data["head"],
                "data_sha256": _sha(canonical_json(data)),
            },
        )


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def _bad(where: str, rule: str) -> FormError:
    return FormError(f"档案文件不完整或格式不对：{where} {rule}，没有导入任何内容", [(where, rule)])


def _parse(model: type[Any], row: Any, where: str) -> Any:
    """One exported row as a model, each value of its column's type (the file may have been edited)."""
    if not isinstance(row, dict):
        raise _bad(where, "必须是映射（键: 值）")
    values = {}
    for column in model.__table__.columns:
        if column.key not in row:
            continue
        value = row[column.key]
        try:
            expected: Any = datetime if isinstance(column.type, UtcDateTime) else column.type.python_type
        except NotImplementedError:  # JSON columns take any JSON
            expected = object
        if value is not None and expected is datetime:
            try:
                value = datetime.fromisoformat(value) if isinstance(value, str) else None
            except ValueError:
                value = None
            if value is None or value.tzinfo is None:
                raise _bad(f"{where}.{column.key}", "必须是带时区的 ISO 8601 时间")
        elif value is not None and not isinstance(value, expected) and not (expected is float and type(value) is int):
            raise _bad(f"{where}.{column.key}", f"类型不对（应为 {expected.__name__}）")
        values[column.key] = value
    return model(**values)


def _check_shape(data: Any) -> None:
    if not isinstance(data, dict) or {k: data.get(k) for k in FORMAT} != FORMAT:
        raise FormError(f"不是 swflow 项目档案（需要 {FORMAT}）", [("format", "swflow-project-archive")])
    if not isinstance(data.get("project"), dict) or not isinstance(data["project"].get("id"), str):
        raise _bad("project", "须有项目编号 id")
    for name in ["people", "events", *(n for n, _ in TABLES)]:
        if not isinstance(data.get(name), list):
            raise _bad(name, "必须是列表")
    for index, person in enumerate(data["people"]):
        if not isinstance(person, dict) or set(person) != {"id", "name", "roles", "qualifications"}:
            raise _bad(f"people[{index}]", "须恰有 id、name、roles、qualifications")
    head = data.get("head")
    if head is not None and (not isinstance(head, dict) or set(head) != {"seq", "hash"}):
        raise _bad("head", "须是 {seq, hash} 或 null")


def import_project(data: Any, actor: str, now: datetime) -> tuple[str, Trust]:
    """Load an exported project into this archive: the same rows, the same events, the same hashes,
    then one event of this archive saying who imported it and whether its signature holds. A file
    that is not a whole export is refused (exit 2) with nothing written; an unsigned or foreign one
    is a read-only record whose people get no role."""
    from sqlalchemy.exc import StatementError

    _check_shape(data)
    trust = dossier_trust(data)
    try:
        return _import(data, trust, actor, now), trust
    except StatementError as exc:  # a row the archive's constraints refuse: the file was edited
        raise _bad("记录", f"不符合档案库的约束（{type(exc.orig).__name__}）") from exc


def _import(data: dict[str, Any], trust: Trust, actor: str, now: datetime) -> str:
    project_id = str(data["project"]["id"])
    stream = project_stream(project_id)
    with unit_of_work() as session:
        if session.get(Project, project_id) is not None:
            raise RefusedError(f"项目 {project_id} 已在本档案库中，不能重复导入")
        for index, row in enumerate(data["people"]):
            values = {**row, "notify": [], "active": False, "updated_at": data["project"].get("created_at")}
            if not trust.trusted:  # a record nobody vouches for grants nothing
                values["roles"] = []
            person = _parse(Person, values, f"people[{index}]")
            if session.get(Person, person.id) is None:
                session.add(person)
        session.flush()
        session.add(_parse(Project, data["project"], "project"))
        session.flush()
        tables: list[tuple[str, type[Any]]] = [*TABLES, ("events", Event)]
        for name, model in tables:
            rows = [_parse(model, row, f"{name}[{i}]") for i, row in enumerate(data[name])]
            if any(getattr(r, "project_id", project_id) != project_id for r in rows) or any(
                getattr(r, "stream", stream) != stream for r in rows
            ):
                raise _bad(name, f"只能含项目 {project_id} 的记录")
            session.add_all(rows)
            session.flush()
        if data["head"]:
            session.add(_parse(EventHead, {**data["head"], "stream": project_stream(project_id)}, "head"))
        session.flush()
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            _advance_sequences(session)
        broken = verify_stream(session, project_stream(project_id))
        if broken is not None:
            raise RefusedError(f"导入的事件链在第 {broken.seq} 个事件处不完整：{broken.reason}")
        append_event(
            session,
            stream,
            "archive.imported" if trust.trusted else READ_ONLY_IMPORT,
            actor=actor,
            at=now,
            payload={"trusted": trust.trusted, "key": trust.key_id, "reason": trust.reason},
        )
    return project_id


def _advance_sequences(session: Session) -> None:
    """Rows came in with their ids: move PostgreSQL's sequences past them."""
    from sqlalchemy import text

    for model in (Stage, WorkItem, FormSubmission, GateDecision, Escalation, OutboxMessage, Event):
        table = model.__tablename__
        session.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 1))")
        )
