"""Signed checkpoints: the archive's hash chains anchored outside the database.

Every checkpoint is one line of an append-only log (`checkpoints.jsonl` in SWFLOW_HOME, or
SWFLOW_CHECKPOINT_LOG): the (seq, hash) of every event appended since the previous checkpoint, the
hash of the previous line, and an Ed25519 signature over all of it by the agency's key (made at
`swflow init`, 0600, SWFLOW_CHECKPOINT_KEY). `serve` writes one on a schedule, a project's closure
writes one, `swflow archive checkpoint` writes one by hand. Whoever rewrites an event and
recomputes every later hash and the head cannot recompute the signed log without the key: verify
names the first event that differs from what was signed. The director's digest and every dossier
carry the latest checkpoint, so copies of it live outside the machine too.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.archive.integrity import RecordBreak
from swflow.config.errors import StorageError, os_error_text
from swflow.config.settings import Settings, get_settings
from swflow.db.chain import canonical_json
from swflow.db.engine import read_session
from swflow.db.journal import stream_title
from swflow.db.tables import Event

__all__ = [
    "Checkpoint",
    "ensure_key",
    "key_id",
    "latest_checkpoint",
    "public_key_hex",
    "send_checkpoint_digest",
    "sign_bytes",
    "verify_checkpoints",
    "verify_signature",
    "write_checkpoint",
]


@dataclass(frozen=True)
class Checkpoint:
    number: int
    at: str
    reason: str
    key: str  # the key's id: the first 16 hex of sha256 of its public bytes
    events: int  # events newly covered by this checkpoint
    line_sha256: str  # what the next line links to, and what a digest or dossier quotes

    def summary(self) -> dict[str, Any]:
        return {"number": self.number, "at": self.at, "key": self.key, "sha256": self.line_sha256}


def _key_path(settings: Settings) -> Path:
    return settings.checkpoint_key or settings.home / "keys" / "checkpoint.pem"


def _log_path(settings: Settings) -> Path:
    return settings.checkpoint_log or settings.home / "checkpoints.jsonl"


def ensure_key(settings: Settings | None = None) -> Path:
    """The agency's signing key, made once (owner-only file in an owner-only folder)."""
    settings = settings or get_settings()
    path = _key_path(settings)
    if path.exists():
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
    except FileExistsError:
        return path  # another process made it first
    except OSError as exc:
        raise StorageError(f"签名密钥 {path} 无法创建：{os_error_text(exc)}") from exc
    return path


def _private_key(settings: Settings) -> Ed25519PrivateKey:
    """The agency's key, made on first use where `init` did not (an older or restored home)."""
    path = ensure_key(settings)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError as exc:
        raise StorageError(f"签名密钥 {path} 不存在：请先运行 swflow init") from exc
    except (OSError, ValueError) as exc:
        raise StorageError(f"签名密钥 {path} 无法读取：{exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise StorageError(f"签名密钥 {path} 不是 Ed25519 密钥")
    return key


def public_key_hex(settings: Settings | None = None) -> str:
    raw = (
        _private_key(settings or get_settings())
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    return raw.hex()


def key_id(public_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(public_hex)).hexdigest()[:16]


def sign_bytes(data: bytes, settings: Settings | None = None) -> dict[str, str]:
    """{key (public, hex), key_id, signature (base64)} of `data` by the agency's key."""
    settings = settings or get_settings()
    private = _private_key(settings)
    public = public_key_hex(settings)
    return {"key": public, "key_id": key_id(public), "signature": base64.b64encode(private.sign(data)).decode()}


def verify_signature(data: bytes, public_hex: str, signature: str) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)).verify(base64.b64decode(signature), data)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


@contextmanager
def _locked_log(settings: Settings) -> Iterator[Any]:
    path = _log_path(settings)
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError as exc:
        raise StorageError(f"检查点日志 {path} 无法打开：{os_error_text(exc)}") from exc
    with os.fdopen(descriptor, "r+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # serve's schedule and a closing flow may write at once
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _covered(lines: list[str]) -> dict[str, int]:
    """stream → the last seq the log covers (lines that do not parse are verify's business)."""
    covered: dict[str, int] = {}
    for line in lines:
        try:
            for stream, pairs in json.loads(line)["body"]["events"].items():
                covered[stream] = max(covered.get(stream, 0), max(int(seq) for seq, _ in pairs))
        except (ValueError, KeyError, TypeError):
            continue
    return covered


def write_checkpoint(now: datetime, reason: str, *, when_new_only: bool = True) -> Checkpoint | None:
    """Sign the events appended since the last checkpoint into one new line of the log. Nothing is
    written when no event is new, except the log's first line when `when_new_only` is False (init)."""
    settings = get_settings()
    ensure_key(settings)
    with _locked_log(settings) as handle:
        handle.seek(0)
        lines = _lines(handle.read())
        covered = _covered(lines)
        with read_session() as session:
            rows = session.execute(select(Event.stream, Event.seq, Event.hash).order_by(Event.stream, Event.seq))
            events: dict[str, list[list[Any]]] = {}
            for stream, seq, digest in rows:
                if seq > covered.get(stream, 0):
                    events.setdefault(stream, []).append([seq, digest])
        count = sum(len(v) for v in events.values())
        if count == 0 and (when_new_only or lines):  # the log's first line is written even when empty
            return None
        previous = hashlib.sha256(lines[-1].encode()).hexdigest() if lines else "0" * 64
        at = now.isoformat()
        body = {"n": len(lines) + 1, "at": at, "reason": reason, "prev": previous, "events": events}
        signed = sign_bytes(canonical_json(body).encode(), settings)
        line = canonical_json({"body": body, **signed})
        try:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        except OSError as exc:
            raise StorageError(f"检查点没有写入：{os_error_text(exc)}") from exc
    return Checkpoint(
        len(lines) + 1, now.isoformat(), reason, signed["key_id"], count, hashlib.sha256(line.encode()).hexdigest()
    )


def latest_checkpoint(settings: Settings | None = None) -> dict[str, Any] | None:
    """The last line's summary (number, time, key id, line hash), or None before the first."""
    settings = settings or get_settings()
    try:
        lines = _lines(_log_path(settings).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    if not lines:
        return None
    try:
        last = json.loads(lines[-1])
        return {"number": last["body"]["n"], "at": last["body"]["at"], "key": last["key_id"],
                "sha256": hashlib.sha256(lines[-1].encode()).hexdigest()}  # fmt: skip
    except (ValueError, KeyError, TypeError):
        return None


def verify_checkpoints(session: Session, only_stream: str | None = None) -> list[RecordBreak]:
    """The log's own integrity (links, signatures by this agency's key), then every event it signed
    against the archive: the first event that differs in each stream is named."""
    settings = get_settings()
    path = _log_path(settings)
    try:
        lines = _lines(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [] if not _key_path(settings).exists() else _missing_log(session)
    except OSError as exc:
        return [RecordBreak("检查点日志", f"无法读取：{os_error_text(exc)}")]
    ours = public_key_hex(settings)
    breaks: list[RecordBreak] = []
    signed: dict[str, dict[int, str]] = {}
    previous = "0" * 64
    for number, line in enumerate(lines, start=1):
        place = f"检查点日志第 {number} 行"
        try:
            entry = json.loads(line)
            body, key, signature = entry["body"], entry["key"], entry["signature"]
        except (ValueError, KeyError, TypeError):
            breaks.append(RecordBreak(place, "不是有效的检查点（日志被改动）"))
            break
        if body.get("prev") != previous:
            breaks.append(RecordBreak(place, "与上一行的链接不符（日志中有行被删除、插入或改动）"))
        if key != ours:
            breaks.append(RecordBreak(place, "不是用本机构的签名密钥签署的"))
        elif not verify_signature(canonical_json(body).encode(), key, signature):
            breaks.append(RecordBreak(place, "签名不符（检查点被改动）"))
        for stream, pairs in body.get("events", {}).items():
            signed.setdefault(stream, {}).update({int(seq): str(digest) for seq, digest in pairs})
        previous = hashlib.sha256(line.encode()).hexdigest()
    for stream in sorted(signed):
        if only_stream is not None and stream != only_stream:
            continue
        stored = dict(session.execute(select(Event.seq, Event.hash).where(Event.stream == stream)).tuples().all())
        for seq in sorted(signed[stream]):
            if stored.get(seq) != signed[stream][seq]:
                what = "不见了" if seq not in stored else "与签名检查点记录的哈希不同（事件被改写、哈希被重算）"
                breaks.append(RecordBreak(f"{stream_title(stream)}（{stream}）第 {seq} 个事件", what))
                break
    return breaks


def _missing_log(session: Session) -> list[RecordBreak]:
    """A key but no log: fine while nothing was ever signed (a new home), a break once events exist
    that a schedule would have signed — the log was deleted."""
    first = session.execute(select(Event.id).limit(1)).first()
    return [] if first is None else [RecordBreak("检查点日志", "签名密钥存在而检查点日志不见了（日志被删除？）")]


def send_checkpoint_digest(now: datetime) -> int:
    """Once a local day, every active director gets the latest checkpoint by their channels: a copy of
    the anchor outside this machine. Returns messages queued (0 when already sent today)."""
    from swflow.config.clock import SHANGHAI, local_text
    from swflow.db.engine import unit_of_work
    from swflow.db.tables import EventHead, Person
    from swflow.domain.deadlines.records import directors, record_context
    from swflow.domain.outbox.records import enqueue

    latest = latest_checkpoint()
    if latest is None:
        return 0
    day = now.astimezone(SHANGHAI).date().isoformat()
    queued = 0
    with unit_of_work() as session:
        heads = list(session.execute(select(EventHead.seq)).scalars())
        for director in directors(session):
            queued += enqueue(
                session,
                key=f"checkpoint-digest:{day}:to:{director}",
                recipient=session.get_one(Person, director),
                template="checkpoint_digest",
                context=record_context(
                    None,
                    number=latest["number"],
                    signed_at=local_text(datetime.fromisoformat(latest["at"])),
                    key=latest["key"],
                    sha256=latest["sha256"],
                    streams=len(heads),
                    events=sum(heads),
                ),
                now=now,
            )
    return queued
