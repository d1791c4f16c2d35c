"""The project dossier: `data.json` (complete, round-trippable), `index.html` and `tables.xlsx`.

Sensitive form fields are masked unless the viewer named by `--as` may see them (the project's
team, its supervisor, and directors). Channel addresses (which hold tokens) never leave.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.errors import NotFoundError, RefusedError
from forms_spec import FormSpec, mask_sensitive

from .chain import canonical_json
from .db import read_session, unit_of_work
from .journal import append_event, project_stream, verify_stream
from .models import (
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
from .reports import indicator_report, scorecard_report

__all__ = ["FORMAT", "may_see_sensitive", "project_data", "export_project", "import_project"]

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


def may_see_sensitive(session: Session, project: Project, person_id: str | None) -> bool:
    """The project's team (manager, supervisor, workers) and directors see sensitive fields."""
    if person_id is None:
        return False
    person = session.get(Person, person_id)
    if person is None:
        raise NotFoundError(f"没有人员 {person_id}")
    members = session.execute(select(ProjectMember.person_id).where(ProjectMember.project_id == project.id)).scalars()
    return person_id in set(members) or "director" in person.roles


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
    return data


def export_project(project_id: str, out: Path, viewer: str | None, now: datetime) -> dict[str, Path]:
    """Write the dossier into `out` and record the export as an event of the project."""
    from .dossier import render_dossier, write_tables_xlsx

    data = project_data(project_id, viewer)
    data["exported_at"] = now.isoformat()
    out.mkdir(parents=True, exist_ok=True)
    paths = {"data": out / "data.json", "html": out / "index.html", "xlsx": out / "tables.xlsx"}
    paths["data"].write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    paths["html"].write_text(render_dossier(data), encoding="utf-8")
    write_tables_xlsx(data, paths["xlsx"])
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
    return paths


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def _parse(model: type[Any], row: dict[str, Any]) -> Any:
    values = {}
    for column in model.__table__.columns:
        if column.key not in row:
            continue
        value = row[column.key]
        if value is not None and isinstance(column.type, UtcDateTime):
            value = datetime.fromisoformat(value)
        values[column.key] = value
    return model(**values)


def import_project(data: dict[str, Any]) -> str:
    """Load an exported project into this archive: the same rows, the same events, the same hashes."""
    if {k: data.get(k) for k in FORMAT} != FORMAT:
        raise RefusedError(f"不是 swflow 项目档案（需要 {FORMAT}）")
    project_id = str(data["project"]["id"])
    with unit_of_work() as session:
        if session.get(Project, project_id) is not None:
            raise RefusedError(f"项目 {project_id} 已在本档案库中，不能重复导入")
        for person in data["people"]:
            if session.get(Person, person["id"]) is None:
                session.add(
                    Person(
                        **person,
                        notify=[],
                        active=False,
                        updated_at=datetime.fromisoformat(data["project"]["created_at"]),
                    )
                )
        session.flush()
        session.add(_parse(Project, data["project"]))
        session.flush()
        for name, model in TABLES:
            session.add_all(_parse(model, row) for row in data[name])
            session.flush()
        session.add_all(_parse(Event, row) for row in data["events"])
        if data["head"]:
            session.add(EventHead(stream=project_stream(project_id), **data["head"]))
        session.flush()
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            _advance_sequences(session)
        broken = verify_stream(session, project_stream(project_id))
        if broken is not None:
            raise RefusedError(f"导入的事件链在第 {broken.seq} 个事件处不完整：{broken.reason}")
    return project_id


def _advance_sequences(session: Session) -> None:
    """Rows came in with their ids: move PostgreSQL's sequences past them."""
    from sqlalchemy import text

    for model in (Stage, WorkItem, FormSubmission, GateDecision, Escalation, OutboxMessage, Event):
        table = model.__tablename__
        session.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 1))")
        )
