"""`swflow archive backup` while others write, and `swflow archive restore` into an empty home."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import threading
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from swflow import db
from swflow.app.cli.main import main
from swflow.archive.backup import ARCHIVE_STREAM, examine_file
from swflow.config.settings import get_settings
from swflow.db.engine import HEAD
from swflow.db.tables import Event, EventHead

from ._support import NOW

PREVIOUS_RELEASE = Path(__file__).resolve().parents[1] / "fixtures" / "archive-0009-previous-release.db"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _events(*, but: str | None = None) -> list[tuple[Any, ...]]:
    with db.read_session() as session:
        rows = session.execute(select(Event).order_by(Event.id)).scalars()
        return [(e.id, e.stream, e.seq, e.kind, e.hash, e.prev_hash) for e in rows if e.stream != but]


def _heads(*, but: str | None = None) -> dict[str, tuple[int, str]]:
    with db.read_session() as session:
        rows = session.execute(select(EventHead)).scalars()
        return {h.stream: (h.seq, h.hash) for h in rows if h.stream != but}


def _use_home(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    monkeypatch.setenv("SWFLOW_HOME", str(home))
    get_settings.cache_clear()


def _write_events(stop: threading.Event, written: list[int]) -> None:
    while not stop.is_set():
        with db.unit_of_work() as session:
            db.append_event(session, "writer", "test.written", actor="test", at=NOW, payload={"n": len(written)})
        written.append(1)


def test_backup_taken_while_events_are_written_is_consistent_and_verifies(
    awaiting_assessment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stop, written = threading.Event(), []
    writer = threading.Thread(target=_write_events, args=(stop, written))
    writer.start()
    try:
        while len(written) < 20:
            threading.Event().wait(0.01)
        before = len(written)
        assert main(["archive", "backup", "--out", str(tmp_path / "b.db")]) == 0
        during = len(written)
        while len(written) < during + 20:  # the writer went on after the backup
            threading.Event().wait(0.01)
    finally:
        stop.set()
        writer.join()
    out = tmp_path / "b.db"
    copy = examine_file(out)  # integrity, head, every chain
    assert copy.head == HEAD and copy.projects == 1
    assert os.stat(out).st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".b.db")] == []  # no staging left
    live = [e for e in _events() if e[1] == "writer"]
    with closing(sqlite3.connect(out)) as copied_db:
        query = "SELECT id, stream, seq, kind, hash, prev_hash FROM events WHERE stream = 'writer' ORDER BY id"
        copied = [tuple(row) for row in copied_db.execute(query)]
    assert before <= len(copied) <= during + 1
    assert copied == live[: len(copied)]  # a snapshot: a prefix of the live chain, no gap, no torn write
    printed = capsys.readouterr().out
    assert copy.sha256 in printed and f"{copy.size:,} 字节" in printed and "项目 1 个" in printed
    [recorded] = [e for e in _all_live() if e.stream == ARCHIVE_STREAM]
    assert recorded.kind == "archive.backed_up"
    assert recorded.payload["sha256"] == _sha(out) and recorded.payload["bytes"] == out.stat().st_size
    assert recorded.payload["events"] == copy.events and recorded.payload["projects"] == 1


def _all_live() -> list[Event]:
    with db.read_session() as session:
        return list(session.execute(select(Event).order_by(Event.id)).scalars())


def test_restore_into_an_empty_home_gives_the_same_events_and_heads(
    awaiting_assessment: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "b.db"
    assert main(["archive", "backup", "--out", str(out)]) == 0
    events, heads = _events(but=ARCHIVE_STREAM), _heads(but=ARCHIVE_STREAM)
    capsys.readouterr()

    _use_home(monkeypatch, tmp_path / "restored")
    assert main(["archive", "restore", str(out)]) == 0
    printed = capsys.readouterr().out
    assert _sha(out) in printed and "项目 1 个" in printed
    archive = tmp_path / "restored" / "archive.db"
    assert os.stat(archive).st_mode & 0o777 == 0o600
    assert _events(but=ARCHIVE_STREAM) == events and _heads(but=ARCHIVE_STREAM) == heads
    [restored] = [e for e in _all_live() if e.stream == ARCHIVE_STREAM]
    assert restored.kind == "archive.restored" and restored.payload["sha256"] == _sha(out)
    assert main(["archive", "verify"]) == 0
    assert main(["status", awaiting_assessment]) == 0


def test_restore_migrates_a_backup_made_at_an_older_head(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("SWFLOW_")]:
        monkeypatch.delenv(name)
    old = tmp_path / "old.db"
    shutil.copy(PREVIOUS_RELEASE, old)
    assert examine_file(old).head != HEAD
    _use_home(monkeypatch, tmp_path / "home")
    assert main(["archive", "restore", str(old)]) == 0
    copy = examine_file(tmp_path / "home" / "archive.db", chains=True)
    assert copy.head == HEAD and copy.projects == 1
    assert _sha(old) == _sha(PREVIOUS_RELEASE)  # the backup itself is left as it was


@pytest.mark.parametrize("case", ["exists", "symlink", "dangling symlink", "no parent"])
def test_backup_refuses_an_out_that_is_not_a_new_file(
    archive_home: Path, tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    place = tmp_path / "out"
    place.mkdir()
    out = place / "b.db"
    if case == "exists":
        out.write_bytes(b"keep me")
    elif case == "symlink":
        (place / "elsewhere").write_bytes(b"keep me")
        out.symlink_to(place / "elsewhere")
    elif case == "dangling symlink":
        out.symlink_to(place / "nowhere")
    else:
        out = place / "missing" / "b.db"
    listing = {p.name: p.read_bytes() if p.is_file() else None for p in place.iterdir()}
    assert main(["archive", "backup", "--out", str(out)]) == 2
    assert "--out" in capsys.readouterr().err
    assert {p.name: p.read_bytes() if p.is_file() else None for p in place.iterdir()} == listing
    assert _heads() == {}  # nothing recorded


def test_restore_refuses_a_home_that_has_an_archive(
    archive_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "b.db"
    assert main(["archive", "backup", "--out", str(out)]) == 0
    before = _sha(archive_home / "archive.db"), _events()
    assert main(["archive", "restore", str(out)]) == 3
    assert "已有档案库" in capsys.readouterr().err
    assert (_sha(archive_home / "archive.db"), _events()) == before


def test_a_corrupted_backup_is_refused_before_anything_is_copied(
    awaiting_assessment: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "b.db"
    assert main(["archive", "backup", "--out", str(out)]) == 0
    data = bytearray(out.read_bytes())
    third = len(data) // 3
    data[third : 2 * third] = b"\xa5" * third  # the middle third overwritten
    out.write_bytes(bytes(data))
    capsys.readouterr()
    _use_home(monkeypatch, tmp_path / "restored")
    assert main(["archive", "restore", str(out)]) in (2, 3)
    assert "不是可用的 swflow 档案库备份" in capsys.readouterr().err
    assert not (tmp_path / "restored").exists()


@pytest.mark.parametrize("content", [b"", b"not a database at all\n" * 100, b"SQLite format 3\x00" + b"\x00" * 4000])
def test_a_file_that_is_not_an_archive_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [n for n in os.environ if n.startswith("SWFLOW_")]:
        monkeypatch.delenv(name)
    foreign = tmp_path / "foreign.db"
    foreign.write_bytes(content)
    _use_home(monkeypatch, tmp_path / "home")
    assert main(["archive", "restore", str(foreign)]) == 2
    assert "不是可用的 swflow 档案库备份" in capsys.readouterr().err
    assert not (tmp_path / "home").exists()


def test_a_postgresql_archive_is_sent_to_pg_dump_and_pg_restore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [n for n in os.environ if n.startswith("SWFLOW_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SWFLOW_DATABASE_URL", "postgresql://nobody@127.0.0.1:9/none")
    _use_home(monkeypatch, tmp_path / "home")
    assert main(["archive", "backup", "--out", str(tmp_path / "b.dump")]) == 3
    assert "pg_dump --format=custom" in capsys.readouterr().err
    (tmp_path / "b.db").write_bytes(b"")
    assert main(["archive", "restore", str(tmp_path / "b.db")]) == 3
    assert "pg_restore" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.db"]
