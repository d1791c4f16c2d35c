"""Each message once: dispatchers at the same time, and one killed mid-send, on SQLite and PostgreSQL,
delivering to a real HTTP receiver on 127.0.0.1. Leases are judged by the injected clock."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import secrets
import signal
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from swflow import db, domain
from swflow.config.clock import fixed_clock
from swflow.config.settings import get_settings
from swflow.db.engine import after_fork, engine_for, unit_of_work
from swflow.db.tables import OutboxMessage, Person
from swflow.domain.outbox.records import enqueue, message_id
from swflow.notifications import DispatchReport, dispatch_once
from swflow.notifications.message_ids import FIELD, HEADER

PG_ADMIN_URL = os.environ.get("SWFLOW_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
CONTEXT = {
    "project_id": "P-1A2B3C",
    "project_name": "幸福社区独居老人关爱",
    "community": "幸福社区",
    "stage": "需求评估",
    "round": 1,
    "tasks": ["需求评估表"],
    "due": "2026-03-16 18:00",
    "note": "",
    "link": "http://127.0.0.1:4200",
}


class HoldingReceiver:
    """Keeps (path, headers, body) of every POST as it arrives; a request to a path in `hold` is kept
    open (no answer) until `release` is set, as a slow webhook would."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self.hold: set[str] = set()
        self.arrived, self.release = threading.Event(), threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                receiver.messages.append((self.path, dict(self.headers.items()), body))
                if self.path in receiver.hold:
                    receiver.arrived.set()
                    receiver.release.wait(timeout=30)
                try:
                    self.send_response(200)
                    self.end_headers()
                except OSError:  # the sender was killed while we held its request
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def ids(self, path: str) -> list[tuple[str, str, str]]:
        """For each delivery to `path`: the id in the header, in the JSON field and on the last line."""
        return [(h[HEADER], b[FIELD], b["message"].rsplit("\n", 1)[-1]) for p, h, b in self.messages if p == path]


@pytest.fixture
def receiver() -> Iterator[HoldingReceiver]:
    r = HoldingReceiver()
    yield r
    r.release.set()
    r.server.shutdown()
    r.server.server_close()


def _pg_database() -> Iterator[str]:
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:  # any failure to connect means: no PostgreSQL here
        pytest.skip(f"PostgreSQL 不可用（{PG_ADMIN_URL}）：{type(exc).__name__}；此测试跳过")
    name = f"swflow_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    try:
        yield url
    finally:
        engine_for(url).dispose()
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def archive_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name in [n for n in os.environ if n.startswith("SWFLOW_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SWFLOW_HOME", str(tmp_path))
    urls = iter([f"sqlite:///{tmp_path / 'archive.db'}"]) if request.param == "sqlite" else _pg_database()
    for url in urls:
        monkeypatch.setenv("SWFLOW_DATABASE_URL", url)
        get_settings.cache_clear()
        db.migrate()
        yield url
    get_settings.cache_clear()


def _queue(count: int, channel: str, first: int = 0) -> None:
    """`count` messages to one worker on `channel`, due at NOW."""
    worker = domain.PersonRecord.model_validate(
        {
            "id": "wang.worker",
            "name": "王社工",
            "roles": ["worker"],
            "qualifications": [{"kind": "certificate", "level": "助理社会工作师", "number": "ASW-2023-0001"}],
            "notify": [channel],
        }
    )
    domain.import_people([worker], actor="test", now=NOW)
    with unit_of_work() as session:
        person = session.get(Person, "wang.worker")
        assert person is not None
        for n in range(first, first + count):
            enqueue(session, key=f"test-{n}", recipient=person, template="stage_opened", context=CONTEXT, now=NOW)


def _rows() -> list[OutboxMessage]:
    with unit_of_work() as session:
        return list(session.query(OutboxMessage).order_by(OutboxMessage.id))


def _dispatch_at_the_barrier(barrier: Any, results: Any) -> None:
    get_settings.cache_clear()
    after_fork()
    barrier.wait()
    results.put(dispatch_once(clock=fixed_clock(NOW)).sent)


def test_two_dispatchers_deliver_each_message_once(archive_url: str, receiver: HoldingReceiver) -> None:
    """Two real processes dispatch the same outbox at the same instant, three rounds of 20 messages."""
    context = multiprocessing.get_context("fork")
    for round_ in range(3):
        _queue(20, f"{receiver.url}/wang.worker", first=20 * round_)
        barrier, results = context.Barrier(2), context.Queue()
        workers = [context.Process(target=_dispatch_at_the_barrier, args=(barrier, results)) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
            assert worker.exitcode == 0
        assert sum(results.get(timeout=5) for _ in workers) == 20

        delivered = [field for _, field, _ in receiver.ids("/wang.worker")]
        assert len(delivered) == len(set(delivered)) == 20 * (round_ + 1)
    rows = _rows()
    assert {r.status for r in rows} == {"sent"} and {r.attempts for r in rows} == {1}
    assert sorted(delivered) == sorted(message_id(r.id, r.key) for r in rows)


def _dispatch(results: Any) -> None:
    get_settings.cache_clear()
    after_fork()
    results.put(dispatch_once(clock=fixed_clock(NOW)).sent)


def test_a_dispatcher_killed_mid_send_is_replaced_after_the_lease(
    archive_url: str, receiver: HoldingReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWFLOW_OUTBOX_LEASE_SECONDS", "300")
    get_settings.cache_clear()
    _queue(1, f"{receiver.url}/slow")
    receiver.hold.add("/slow")
    context = multiprocessing.get_context("fork")
    dispatcher = context.Process(target=_dispatch, args=(context.Queue(),))
    dispatcher.start()
    assert receiver.arrived.wait(timeout=30), f"the dispatcher never reached the receiver ({dispatcher.exitcode})"
    assert dispatcher.pid is not None
    os.kill(dispatcher.pid, signal.SIGKILL)  # mid-send: the receiver has the request, no answer yet
    dispatcher.join(timeout=30)
    receiver.release.set()

    [row] = _rows()
    assert (row.status, row.attempts, row.claimed_until) == ("pending", 1, NOW + timedelta(seconds=300))
    assert row.claimed_by and re.fullmatch(rf".+:{dispatcher.pid}:[0-9a-f]{{8}}", row.claimed_by)

    assert dispatch_once(clock=fixed_clock(NOW + timedelta(seconds=299))) == DispatchReport()  # still held
    assert len(receiver.ids("/slow")) == 1

    assert dispatch_once(clock=fixed_clock(NOW + timedelta(seconds=301))) == DispatchReport(sent=1)
    first, second = receiver.ids("/slow")
    assert first == second
    header, field, line = first
    assert header == field == message_id(row.id, row.key) and line == f"消息编号：{field}"
    [row] = _rows()
    assert (row.status, row.attempts, row.claimed_until) == ("sent", 2, None)
    [listed] = domain.list_messages()
    assert (listed["status"], listed["attempts"]) == ("sent", 2)
    assert dispatch_once(clock=fixed_clock(NOW + timedelta(days=1))) == DispatchReport()
    assert len(receiver.ids("/slow")) == 2
