"""Append events to a stream's hash chain, and verify a chain."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

from sqlalchemy import Text, select, type_coerce
from sqlalchemy.orm import Session

from swflow.db.chain import GENESIS, ChainBreak, event_hash, find_break
from swflow.db.tables import Event, EventHead, Project

__all__ = [
    "acting_through",
    "current_door",
    "append_event",
    "lock_streams",
    "event_body",
    "verify_stream",
    "verify_all",
    "stream_title",
    "project_stream",
    "PEOPLE_STREAM",
    "MESSAGES_STREAM",
]

PEOPLE_STREAM = "people"
MESSAGES_STREAM = "messages"  # the queued-message events of notifications that belong to no project

# The door the current act came through (DESIGN "Doors"): set by the door, read by every event.
_door: ContextVar[dict[str, Any] | None] = ContextVar("swflow_door", default=None)


@contextmanager
def acting_through(door: str, **details: Any) -> Iterator[None]:
    """Every event appended inside is marked with this door: `cli` (+ os_user), `web` (+ session),
    `link` (+ link). The door authenticates; the event says how the act arrived."""
    token = _door.set({"door": door, **details})
    try:
        yield
    finally:
        _door.reset(token)


def current_door() -> dict[str, Any] | None:
    return _door.get()


def project_stream(project_id: str) -> str:
    return f"project:{project_id}"


def event_body(event: Event) -> dict[str, Any]:
    """What the hash covers: everything but the hashes and the row id. `run_state` (schema 0005) and
    `via` (0010) are left out when empty, so events written before them keep their hashes."""
    body = {
        "stream": event.stream,
        "seq": event.seq,
        "kind": event.kind,
        "actor": event.actor,
        "at": event.at,
        "flow_run_id": event.flow_run_id,
        "run_state": event.run_state,
        "via": event.via,
        "payload": event.payload,
    }
    for optional in ("run_state", "via"):  # added later (0005, 0010): older events keep their hashes
        if body[optional] is None:
            del body[optional]
    return body


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def lock_streams(session: Session, streams: Iterable[str]) -> None:
    """Take the heads of these streams in one fixed order (by name), for a transaction about to append
    to several: two such transactions (two deadline sweeps on PostgreSQL) then wait for each other in
    a line, never in a circle. SQLite writes one transaction at a time: nothing to take there."""
    names = sorted(set(streams))
    if names:
        query = select(EventHead.stream).where(EventHead.stream.in_(names)).order_by(EventHead.stream)
        session.execute(query.with_for_update()).all()


def _new_head(session: Session, stream: str) -> EventHead:
    """A stream's first event: its head is made, or found made by a transaction that got there first
    (two dispatchers, two sweeps appending to the `messages` stream for the first time at once)."""
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        head = EventHead(stream=stream, seq=0, hash=GENESIS)
        session.add(head)
        return head
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # on PostgreSQL this waits for the other transaction's head, if any, and then adds nothing
    session.execute(insert(EventHead).values(stream=stream, seq=0, hash=GENESIS).on_conflict_do_nothing())
    return session.execute(select(EventHead).where(EventHead.stream == stream).with_for_update()).scalar_one()


def append_event(
    session: Session,
    stream: str,
    kind: str,
    actor: str,
    at: datetime,
    payload: dict[str, Any] | None = None,
    flow_run_id: str | None = None,
) -> Event:
    """Add the next event of `stream` inside the caller's transaction, locking the stream head.

    A project's event carries the project's flow-run id and the run's state as last reported."""
    head = session.execute(select(EventHead).where(EventHead.stream == stream).with_for_update()).scalar_one_or_none()
    if head is None:
        head = _new_head(session, stream)
    run_state = None
    if stream.startswith("project:"):
        project = session.get(Project, stream.removeprefix("project:"))
        if project is not None:
            flow_run_id = flow_run_id or project.flow_run_id
            run_state = project.run_state
    event = Event(
        stream=stream,
        run_state=run_state,
        seq=head.seq + 1,
        kind=kind,
        actor=actor,
        at=_iso(at),
        flow_run_id=flow_run_id,
        via=_door.get(),
        payload=payload or {},
        prev_hash=head.hash,
    )
    event.hash = event_hash(event.prev_hash, event_body(event))
    head.seq, head.hash = event.seq, event.hash
    session.add(event)
    session.flush()
    return event


def _loaded(value: Any) -> Any:
    """A JSON cell as stored: SQLite hands back its text, PostgreSQL the value it parsed."""
    return json.loads(value) if isinstance(value, str) else value


_COLUMNS = ("stream", "seq", "kind", "actor", "at", "flow_run_id", "run_state", "via", "payload", "prev_hash", "hash")
Row = tuple[int, str, str, dict[str, Any]]


def _events_query(*where: Any) -> Any:
    columns = [
        type_coerce(getattr(Event, name), Text) if name in ("payload", "via") else getattr(Event, name)
        for name in _COLUMNS
    ]
    return select(*columns).where(*where).order_by(Event.stream, Event.seq)


def _parsed(fields: dict[str, Any]) -> Row | ChainBreak:
    try:
        fields["payload"], fields["via"] = _loaded(fields["payload"]), _loaded(fields["via"])
    except ValueError:
        return ChainBreak(fields["seq"], "内容不是有效的 JSON（事件被改动）")
    return fields["seq"], fields["prev_hash"], fields["hash"], event_body(Event(**fields))


def stream_rows(session: Session, stream: str) -> Iterator[Row | ChainBreak]:
    """(seq, prev_hash, hash, body) per event of `stream` in seq order, read as stored, so a payload
    that is not JSON any more is a break of its event, not a crash of the reader."""
    for row in session.execute(_events_query(Event.stream == stream)):
        parsed = _parsed(row._asdict())
        yield parsed
        if isinstance(parsed, ChainBreak):
            return


def _first_break(rows: Iterator[Row | ChainBreak]) -> ChainBreak | None:
    unreadable: list[ChainBreak] = []

    def readable() -> Iterator[Row]:
        for row in rows:
            if isinstance(row, ChainBreak):
                unreadable.append(row)
                return
            yield row

    found = find_break(readable())
    return found or (unreadable[0] if unreadable else None)


def _verdict(rows: list[Row | ChainBreak], head: tuple[int, str] | None) -> ChainBreak | None:
    """The stream's first break; else its head must name its last event, and events need a head."""
    result = _first_break(iter(rows))
    if result is not None:
        return result
    last = rows[-1] if rows else None
    assert not isinstance(last, ChainBreak)  # _first_break returned any break the rows hold
    if head is None and last is not None:
        return ChainBreak(last[0], "记录链没有链头（链头被删除或改名）")
    if head is not None and (last is None or (last[0], last[2]) != head):
        return ChainBreak(last[0] if last else 0, "链尾与记录的链头不符（末尾事件被删除）")
    return None


def verify_stream(session: Session, stream: str) -> ChainBreak | None:
    """The first event of `stream` whose hash, order, link or JSON is wrong, or None when intact; the
    stream's head must name its last event, and a stream with events must have a head."""
    head = session.get(EventHead, stream)
    rows = [_parsed(row._asdict()) for row in session.execute(_events_query(Event.stream == stream))]
    return _verdict(rows, (head.seq, head.hash) if head is not None else None)


STREAM_KINDS = {
    "project": "项目",
    "people": "人员名册",
    "messages": "机构通知（不属于任何项目的通知）",
    "archive": "档案库（备份与恢复）",
    "quality": "质量管理（督导覆盖、证书、风险制度）",
    "complaint": "投诉",
    "incident": "风险事件",
    "supervision": "督导记录",
    "referral": "转介",
    "person": "服务对象",
    "volunteer": "志愿者",
    "organisation": "社区组织",
    "resource_link": "资源链接",
    "definitions": "本机构的定义（模板、表单、量表）",
}


def stream_title(stream: str) -> str:
    """`complaint:3` → `投诉 #3`; `quality` → its title; an unknown kind is shown as it is."""
    kind, _, record = stream.partition(":")
    title = STREAM_KINDS.get(kind, kind)
    if not record:
        return title
    return f"{title} {record}" if kind == "project" else f"{title} #{record}"


def verify_all(session: Session) -> list[tuple[str, ChainBreak | None]]:
    """Every stream of the archive (projects and agency records), each with its first break or
    None. A stream is found by its events or by its head, so one emptied of events is caught too.
    One scan of the events and one of the heads, however many streams there are."""
    heads = {
        stream: (seq, digest)
        for stream, seq, digest in session.execute(select(EventHead.stream, EventHead.seq, EventHead.hash))
    }
    found: dict[str, ChainBreak | None] = {}
    for stream, rows in groupby(session.execute(_events_query()), key=lambda row: row.stream):
        found[stream] = _verdict([_parsed(row._asdict()) for row in rows], heads.get(stream))
    for stream in heads.keys() - found.keys():
        found[stream] = _verdict([], heads[stream])
    return sorted(found.items())
