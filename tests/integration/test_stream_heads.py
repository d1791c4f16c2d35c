"""A stream's first event, appended by two transactions at once on PostgreSQL (two dispatchers, two
sweeps writing to `messages` for the first time): the second waits for the first's head and follows it
(seq 1, then 2), instead of failing on the events' unique (stream, seq) once the first commits. The
first transaction holds its uncommitted head until PostgreSQL shows the second waiting on a lock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from swflow import db
from swflow.app.local import wait_for
from swflow.config.settings import get_settings
from swflow.db.engine import unit_of_work
from swflow.db.journal import append_event, verify_stream

from .test_two_sweeps import _clean_env, _pg_database

pytestmark = pytest.mark.postgres
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def pg_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    _clean_env(monkeypatch, tmp_path)
    for url in _pg_database():
        monkeypatch.setenv("SWFLOW_DATABASE_URL", url)
        get_settings.cache_clear()
        db.migrate()
        yield url
    get_settings.cache_clear()


def _lock_waiters(url: str) -> int:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
    return int(row[0]) if row else 0


def test_two_first_appends_to_a_new_stream_follow_each_other(pg_url: str) -> None:
    first_in, second_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def second() -> None:
        first_in.wait(timeout=30)
        try:
            with unit_of_work() as session:
                append_event(session, "new-stream", "test.second", actor="b", at=NOW)
        except BaseException as exc:  # reported to the test below
            errors.append(exc)
        finally:
            second_done.set()

    thread = threading.Thread(target=second)
    thread.start()
    with unit_of_work() as session:
        append_event(session, "new-stream", "test.first", actor="a", at=NOW)
        session.flush()  # the new head is written (uncommitted) before the second transaction tries
        first_in.set()
        # the first commits only once the second is waiting for a lock (on the new head): the race
        wait_for("the second transaction waiting on a lock", lambda: _lock_waiters(pg_url) or second_done.is_set())
        assert not second_done.is_set(), errors
    thread.join(timeout=30)
    assert errors == []
    with unit_of_work() as session:
        from swflow.db.tables import Event

        kinds = [(e.seq, e.kind) for e in session.query(Event).filter_by(stream="new-stream").order_by(Event.seq)]
        assert kinds == [(1, "test.first"), (2, "test.second")]
        assert verify_stream(session, "new-stream") is None
