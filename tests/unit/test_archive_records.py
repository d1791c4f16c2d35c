"""`swflow archive verify` against what an attacker with write access to the file would do
(issue 20's findings, each reproduced): every change is a named break (exit 3), a damaged file a
sentence (exit 1), never a traceback."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from swflow import domain
from swflow.app.cli.main import main
from swflow.config.settings import get_settings
from swflow.db import engine_for
from tests.unit._support import NOW, SUPERVISOR


def _sql(statement: str, **params: Any) -> None:
    with engine_for(get_settings().archive_url).begin() as connection:
        connection.execute(text(statement), params)


def _verify(capsys: pytest.CaptureFixture[str], *project: str) -> tuple[int, str]:
    code = main(["archive", "verify", *project])
    out = capsys.readouterr()
    both = out.out + out.err
    assert "Traceback" not in both and "内部错误" not in both, both
    return code, both


@pytest.fixture
def decided(awaiting_assessment: str) -> str:
    """A project whose assessment the supervisor approved (recorded, not yet applied)."""
    domain.record_decision(awaiting_assessment, "assessment", SUPERVISOR, "approve", "同意", NOW)
    return awaiting_assessment


@pytest.mark.tampers
def test_an_event_payload_that_is_not_json_is_a_named_break(decided: str, capsys: pytest.CaptureFixture[str]) -> None:
    _sql("UPDATE events SET payload = '{\"stage\": ' WHERE stream = :s AND seq = 2", s=f"project:{decided}")
    code, out = _verify(capsys, decided)
    assert code == 3 and "第 2 个事件" in out and "JSON" in out


@pytest.mark.tampers
def test_the_last_event_deleted_with_its_head_moved_back_is_caught(
    decided: str, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = f"project:{decided}"
    with engine_for(get_settings().archive_url).begin() as connection:
        seq, prev = connection.execute(
            text("SELECT seq, prev_hash FROM events WHERE stream = :s ORDER BY seq DESC LIMIT 1"), {"s": stream}
        ).one()
        kinds = [k for (k,) in connection.execute(text("SELECT kind FROM events WHERE stream = :s"), {"s": stream})]
        # the decision's own event (and all after it) removed, the head set to the event before
        decided_seq = connection.execute(
            text("SELECT seq FROM events WHERE stream = :s AND kind = 'gate.decided'"), {"s": stream}
        ).scalar_one()
        before = connection.execute(
            text("SELECT hash FROM events WHERE stream = :s AND seq = :q"), {"s": stream, "q": decided_seq - 1}
        ).scalar_one()
        connection.execute(text("DELETE FROM events WHERE stream = :s AND seq >= :q"), {"s": stream, "q": decided_seq})
        connection.execute(
            text("UPDATE event_heads SET seq = :q, hash = :h WHERE stream = :s"),
            {"s": stream, "q": decided_seq - 1, "h": before},
        )
    assert "gate.decided" in kinds and seq >= decided_seq and prev
    code, out = _verify(capsys, decided)
    assert code == 3 and "gate_decisions" in out and "没有记录它的审核事件" in out


@pytest.mark.tampers
def test_a_project_with_every_event_and_its_head_deleted_is_caught(
    decided: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _sql("DELETE FROM events WHERE stream = :s", s=f"project:{decided}")
    _sql("DELETE FROM event_heads WHERE stream = :s", s=f"project:{decided}")
    code, out = _verify(capsys, decided)
    assert code == 3 and "没有任何事件" in out
    code, out = _verify(capsys)  # the whole archive too
    assert code == 3 and "没有任何事件" in out


@pytest.mark.tampers
def test_edited_case_notes_are_caught_by_the_hash_their_event_carries(
    decided: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _sql("UPDATE form_submissions SET data = json_set(data, '$.forged', '篡改') WHERE project_id = :p", p=decided)
    code, out = _verify(capsys, decided)
    assert code == 3 and "form_submissions" in out and "内容被改动" in out


@pytest.mark.parametrize(
    ("statement", "words"),
    [
        ("UPDATE gate_decisions SET decided_by = 'chen.director' WHERE project_id = :p", "决定人"),
        ("UPDATE gate_decisions SET comment = '全部同意，无需修改' WHERE project_id = :p", "意见"),
        ("DELETE FROM gate_decisions WHERE project_id = :p", "行被删除"),
    ],
)
@pytest.mark.tampers
def test_a_forged_or_deleted_decision_is_caught(
    decided: str, statement: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _sql(statement, p=decided)
    code, out = _verify(capsys, decided)
    assert code == 3 and "gate_decisions" in out and words in out


@pytest.mark.tampers
def test_the_status_a_page_shows_is_checked_too(decided: str, capsys: pytest.CaptureFixture[str]) -> None:
    _sql("UPDATE stages SET status = 'approved' WHERE project_id = :p AND key = 'assessment'", p=decided)
    code, out = _verify(capsys, decided)
    assert code == 3 and "stages" in out and "状态" in out


def test_random_overwrites_of_the_file_are_found_or_refused_never_a_traceback(
    decided: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ten 4 KB pages overwritten with random bytes, one at a time, on a copy each: whatever SQLite's
    own check rejects, verify rejects (exit 3, or exit 1 with a sentence when the file cannot be
    opened at all); none answers with a traceback."""
    path = Path(get_settings().archive_url.removeprefix("sqlite:///"))
    engine_for(get_settings().archive_url).dispose()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pristine = path.read_bytes()
    rng = random.Random(20)
    damaged = 0
    for _ in range(10):
        page = rng.randrange(len(pristine) // 4096)
        body = bytearray(pristine)
        body[page * 4096 : (page + 1) * 4096] = rng.randbytes(4096)
        path.write_bytes(bytes(body))
        engine_for(get_settings().archive_url).dispose()
        try:
            with sqlite3.connect(path) as connection:
                sqlite_says = connection.execute("PRAGMA integrity_check").fetchall() != [("ok",)]
        except sqlite3.DatabaseError:
            sqlite_says = True
        code, out = _verify(capsys)
        if sqlite_says:
            damaged += 1
            assert code in (1, 3), out
            assert ("已损坏" in out) if code == 1 else ("完整性检查" in out or "不符" in out), out
    path.write_bytes(pristine)
    assert damaged >= 5  # most random pages hold data: the test did damage the file


@pytest.mark.tampers
def test_a_file_that_is_no_database_is_a_sentence(decided: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = Path(get_settings().archive_url.removeprefix("sqlite:///"))
    engine_for(get_settings().archive_url).dispose()
    for side in ("-wal", "-shm"):
        Path(f"{path}{side}").unlink(missing_ok=True)
    path.write_bytes(b"not a database at all " * 400)
    code, out = _verify(capsys)
    assert code == 1 and "错误：" in out
