"""Signed checkpoints (issue 20, part 2): a chain rewritten with every later hash recomputed is caught
against the signed log, and the log itself cannot be edited, cut or re-signed with another key."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from swflow import domain
from swflow.app.cli.main import main
from swflow.archive.checkpoints import latest_checkpoint, verify_signature
from swflow.config.settings import get_settings
from swflow.db import unit_of_work
from swflow.db.chain import event_hash
from swflow.db.journal import event_body
from swflow.db.tables import Event, EventHead
from tests.unit._support import NOW, SUPERVISOR


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    both = out.out + out.err
    assert "Traceback" not in both, both
    return code, both


@pytest.fixture
def signed(awaiting_assessment: str, capsys: pytest.CaptureFixture[str]) -> str:
    """`swflow init` (key and first checkpoint), a decision, then a checkpoint signed by hand."""
    assert _run(capsys, "init")[0] == 0
    domain.record_decision(awaiting_assessment, "assessment", SUPERVISOR, "approve", "同意", NOW)
    code, out = _run(capsys, "archive", "checkpoint")
    assert code == 0 and "已签署第 2 个检查点" in out, out
    return awaiting_assessment


def _paths() -> tuple[Path, Path]:
    home = get_settings().home
    return home / "keys" / "checkpoint.pem", home / "checkpoints.jsonl"


def test_init_makes_an_owner_only_key_and_the_first_checkpoint(signed: str) -> None:
    key, log = _paths()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    lines = log.read_text(encoding="utf-8").splitlines()
    first, second = (json.loads(line) for line in lines)
    assert first["body"]["reason"] == "init" and second["body"]["reason"].startswith("cli:")
    assert f"project:{signed}" in second["body"]["events"]
    latest = latest_checkpoint()
    assert latest is not None and latest["number"] == 2 and len(latest["sha256"]) == 64


def test_nothing_new_writes_no_checkpoint(signed: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(capsys, "archive", "checkpoint")
    assert code == 0 and "没有新事件" in out
    assert len(_paths()[1].read_text(encoding="utf-8").splitlines()) == 2


def _rewrite_actor(project: str, kind: str, actor: str) -> int:
    """What an attacker with the database would do: change one event, recompute every later hash
    and the head, so the chain alone verifies."""
    stream = f"project:{project}"
    with unit_of_work() as session:
        events = list(session.execute(select(Event).where(Event.stream == stream).order_by(Event.seq)).scalars())
        target = next(e for e in events if e.kind == kind)
        target.actor = actor
        previous = "0" * 64
        for event in events:
            event.prev_hash = previous
            event.hash = event_hash(previous, event_body(event))
            previous = event.hash
        head = session.get_one(EventHead, stream)
        head.hash = previous
        return target.seq


@pytest.mark.tampers
def test_a_rewritten_actor_with_every_hash_recomputed_is_named(signed: str, capsys: pytest.CaptureFixture[str]) -> None:
    seq = _rewrite_actor(signed, "gate.decided", "chen.director")
    code, out = _run(capsys, "archive", "verify", signed)
    assert code == 3, out
    assert f"第 {seq} 个事件" in out and "签名检查点" in out and "哈希链完整" in out  # the chain alone passes


def test_an_edited_checkpoint_line_is_caught(signed: str, capsys: pytest.CaptureFixture[str]) -> None:
    log = _paths()[1]
    lines = log.read_text(encoding="utf-8").splitlines()
    entry = json.loads(lines[1])
    entry["body"]["at"] = "2020-01-01T00:00:00+08:00"
    log.write_text("\n".join([lines[0], json.dumps(entry, ensure_ascii=False)]) + "\n", encoding="utf-8")
    code, out = _run(capsys, "archive", "verify")
    assert code == 3 and "检查点日志第 2 行" in out and "签名不符" in out


def test_a_deleted_checkpoint_line_is_caught(signed: str, capsys: pytest.CaptureFixture[str]) -> None:
    log = _paths()[1]
    lines = log.read_text(encoding="utf-8").splitlines()
    log.write_text(lines[1] + "\n", encoding="utf-8")
    code, out = _run(capsys, "archive", "verify")
    assert code == 3 and "与上一行的链接不符" in out


def test_a_log_re_signed_with_another_key_is_caught(
    signed: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The forger cannot read the agency's key (kept elsewhere): they write a new log with their own."""
    log = _paths()[1]
    log.unlink()
    monkeypatch.setenv("SWFLOW_CHECKPOINT_KEY", str(tmp_path / "forger.pem"))
    get_settings.cache_clear()
    assert _run(capsys, "archive", "checkpoint")[0] == 0 and log.exists()
    monkeypatch.delenv("SWFLOW_CHECKPOINT_KEY")
    get_settings.cache_clear()
    code, out = _run(capsys, "archive", "verify")
    assert code == 3 and "不是用本机构的签名密钥签署的" in out


def test_a_deleted_log_is_caught(signed: str, capsys: pytest.CaptureFixture[str]) -> None:
    _paths()[1].unlink()
    code, out = _run(capsys, "archive", "verify")
    assert code == 3 and "检查点日志不见了" in out


def test_an_intact_archive_with_its_checkpoints_verifies(signed: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(capsys, "archive", "verify")
    assert code == 0, out
    entry = json.loads(_paths()[1].read_text(encoding="utf-8").splitlines()[1])
    body = json.dumps(entry["body"], sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert verify_signature(body, entry["key"], entry["signature"])
    assert not verify_signature(body + b" ", entry["key"], entry["signature"])


def test_directors_get_the_latest_checkpoint_once_a_day(signed: str) -> None:
    from swflow.archive.checkpoints import send_checkpoint_digest
    from swflow.notifications.render import render_message

    assert send_checkpoint_digest(NOW) == 1  # the sample agency has one director with one channel
    assert send_checkpoint_digest(NOW) == 0  # the same day: not again
    latest = latest_checkpoint()
    assert latest is not None
    [message] = [m for m in domain.due_messages(NOW, limit=100) if m.template == "checkpoint_digest"]
    assert message.recipient_id == "chen.director"
    body = render_message(message.template, {**message.context, "recipient_name": "陈主任"}).body
    assert latest["sha256"] in body and f"第 {latest['number']} 个" in body and latest["key"] in body
