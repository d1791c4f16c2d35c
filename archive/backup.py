"""A copy of the whole archive taken while `swflow serve` writes, and a home started from one.

SQLite only: the online backup API copies one consistent snapshot (one read transaction; in WAL
mode the writers go on), and the copy is checked (integrity, schema head, every hash chain) before
it is moved into place; a restore checks the file again before it copies it in. A PostgreSQL
archive is backed up with PostgreSQL's own tools: `pg_dump --format=custom` and `pg_restore`.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from swflow.config.errors import FormError, RefusedError, StorageError, bad_path, os_error_text
from swflow.config.settings import get_settings
from swflow.db.engine import HEAD, engine_for, ensure_current, migrate, read_session, unit_of_work
from swflow.db.journal import append_event, verify_all
from swflow.db.tables import Event, Project

__all__ = ["ARCHIVE_STREAM", "ArchiveCopy", "backup_archive", "examine_file", "restore_archive"]

ARCHIVE_STREAM = "archive"  # the archive's own record: each backup taken, each restore
SQLITE_HEADER = b"SQLite format 3\x00"
SIDE_FILES = ("-wal", "-shm", "-journal")
REVISIONS = frozenset(
    found.group(1)
    for script in (Path(__file__).resolve().parents[1] / "db" / "migrations" / "versions").glob("[0-9]*.py")
    if (found := re.search(r'^revision = "(\w+)"', script.read_text(encoding="utf-8"), re.M))
)


@dataclass(frozen=True)
class ArchiveCopy:
    """What a checked copy holds: its file, size and sha256, its schema head, and how much."""

    path: Path
    size: int
    sha256: str
    head: str
    projects: int
    events: int
    streams: int


def _sqlite_archive(word: str) -> Path:
    url = get_settings().archive_url
    if not url.startswith("sqlite:///"):
        tool = "pg_dump --format=custom" if word == "备份" else "pg_restore"
        raise RefusedError(f"档案库在 PostgreSQL 上：swflow 不做{word}，请用 PostgreSQL 自己的工具 `{tool}`")
    return Path(url.removeprefix("sqlite:///"))


def _bad_file(path: Path, why: str) -> FormError:
    return FormError(f"{path} 不是可用的 swflow 档案库备份：{why}", [("FILE", why)])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def _file_session(path: Path) -> Iterator[Session]:
    """A read-only session on a file nobody writes (a backup): no lock, no WAL, nothing created."""
    uri = f"file:{quote(str(path.absolute()))}?mode=ro&immutable=1"
    engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True))
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def _examine(session: Session, path: Path, chains: bool) -> ArchiveCopy:
    problems = [row[0] for row in session.execute(text("PRAGMA integrity_check")).all()]
    if problems != ["ok"]:
        raise _bad_file(path, f"SQLite 完整性检查未通过（{'；'.join(map(str, problems[:3]))}）")
    if not inspect(session.connection()).has_table("alembic_version"):
        raise _bad_file(path, "其中没有 swflow 的档案库结构（alembic_version）")
    head = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if head not in REVISIONS:
        raise RefusedError(f"{path} 的档案库结构版本 {head} 不是本版本 swflow 认识的（由更新的版本生成？）")
    if head != HEAD or not chains:  # an older schema is read by the current tables only after migrating
        return ArchiveCopy(path, path.stat().st_size, _sha256(path), str(head), 0, 0, 0)
    results = verify_all(session)
    broken = [(stream, b) for stream, b in results if b is not None]
    if broken:
        stream, first = broken[0]
        raise RefusedError(
            f"{path} 中有 {len(broken)} 条记录链未通过校验（如 {stream} 第 {first.seq} 个事件：{first.reason}）"
        )
    from swflow.archive.integrity import verify_records

    disagree = verify_records(session)  # (checkpoints belong to a home: the restored home signs its own)
    if disagree:
        raise RefusedError(f"{path} 中有 {len(disagree)} 处记录与事件不符（如 {disagree[0]}）")
    projects = session.execute(select(func.count()).select_from(Project)).scalar_one()
    events = session.execute(select(func.count()).select_from(Event)).scalar_one()
    return ArchiveCopy(path, path.stat().st_size, _sha256(path), str(head), projects, events, len(results))


def examine_file(path: Path, chains: bool = True) -> ArchiveCopy:
    """Check a backup file without changing it: SQLite's header and integrity check, a schema head
    this swflow knows, and (at the current head) every hash chain."""
    if path.is_symlink() or not path.is_file():
        raise _bad_file(path, "不存在或不是普通文件（符号链接不接受）")
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise _bad_file(path, os_error_text(exc)) from exc
    if header != SQLITE_HEADER:
        raise _bad_file(path, "不是 SQLite 数据库")
    try:
        with _file_session(path) as session:
            return _examine(session, path, chains)
    except DBAPIError as exc:
        raise _bad_file(path, f"已损坏（{str(exc.orig)[:120]}）") from exc


def _check_out(out: Path) -> None:
    """Refuse, before anything is read or written, an --out that would write somewhere else; a path
    the system cannot even look at (a name too long, a loop of links) is bad input too."""
    try:
        _check_out_path(out)
    except OSError as exc:
        raise bad_path("--out", out, exc) from exc


def _check_out_path(out: Path) -> None:
    def refuse(why: str) -> FormError:
        return FormError(f"--out：{out} {why}，没有写入任何内容", [("--out", why)])

    if out.is_symlink():
        raise refuse("是符号链接：备份不会写到链接指向的地方")
    if out.exists():
        raise refuse("已存在：备份不覆盖任何文件，请给出一个新的文件名")
    parent = out.absolute().parent
    if not parent.is_dir():
        raise refuse(f"的上级目录 {parent} 不存在")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise refuse(f"的上级目录 {parent} 不可写")


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _place(staged: Path, target: Path, what: str) -> None:
    """Move `staged` to `target` at once, never replacing a file that appeared there meanwhile."""
    try:
        os.link(staged, target)
    except FileExistsError as exc:
        raise RefusedError(f"{target} 在{what}过程中出现了：没有覆盖它") from exc
    _fsync(target.parent)


def _remove(path: Path) -> None:
    for name in ("", *SIDE_FILES):
        Path(f"{path}{name}").unlink(missing_ok=True)


def _record(kind: str, copy: ArchiveCopy, actor: str, now: datetime, **extra: object) -> None:
    with unit_of_work() as session:
        payload = {"file": str(copy.path.absolute()), "bytes": copy.size, "sha256": copy.sha256, "head": copy.head}
        payload |= {"projects": copy.projects, "events": copy.events, "streams": copy.streams, **extra}
        append_event(session, ARCHIVE_STREAM, kind, actor=actor, at=now, payload=payload)


def backup_archive(out: Path, actor: str, now: datetime) -> ArchiveCopy:
    """Copy the archive into a file beside `out`, check the copy, move it into place (mode 0600) and
    record it (`archive.backed_up`). PostgreSQL is refused: use `pg_dump --format=custom`."""
    source = _sqlite_archive("备份")
    ensure_current()
    _check_out(out)
    descriptor, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.absolute().parent)
    os.close(descriptor)
    staged = Path(name)
    try:
        try:
            with closing(sqlite3.connect(source, timeout=30)) as src, closing(sqlite3.connect(staged)) as dst:
                src.backup(dst)  # all pages in one step: one read transaction, one consistent snapshot
                dst.execute("PRAGMA journal_mode=DELETE")  # a file on its own, with no -wal beside it
            os.chmod(staged, 0o600)
            _fsync(staged)
        except OSError as exc:
            raise StorageError(f"备份没有完成，什么也没有留下：{os_error_text(exc)}") from exc
        except sqlite3.Error as exc:
            raise StorageError(f"备份没有完成，什么也没有留下：{exc}") from exc
        checked = examine_file(staged)
        _place(staged, out, "备份")
        copy = ArchiveCopy(
            out, checked.size, checked.sha256, checked.head, checked.projects, checked.events, checked.streams
        )
        try:
            _record("archive.backed_up", copy, actor, now)
        except BaseException:
            out.unlink(missing_ok=True)  # no backup leaves without its record
            raise
    finally:
        _remove(staged)
    return copy


def _check_empty(target: Path) -> None:
    present = [Path(f"{target}{s}") for s in ("", *SIDE_FILES) if os.path.lexists(f"{target}{s}")]
    if present:
        raise RefusedError(
            f"SWFLOW_HOME {target.parent} 中已有档案库（{present[0].name}）：只能恢复到还没有档案库的 home"
            "（在 `swflow init` 之前恢复），什么也没有改动"
        )


def _forget_engines(url: str) -> None:
    for writer in (True, False):
        engine_for(url, writer).dispose()


def restore_archive(source: Path, actor: str, now: datetime) -> ArchiveCopy:
    """Start an empty home from a backup: check the file, copy it in (mode 0600), migrate it if it
    is older, check it again, record `archive.restored`. Anything wrong leaves the home as it was.
    PostgreSQL is refused: use `pg_restore`."""
    target = _sqlite_archive("恢复")
    _check_empty(target)
    found = examine_file(source)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".restoring", dir=target.parent)
    staged = Path(name)
    placed = False
    try:
        try:
            with os.fdopen(descriptor, "wb") as out, source.open("rb") as src:
                while block := src.read(1 << 20):
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            raise StorageError(f"恢复没有完成，home 中什么也没有留下：{os_error_text(exc)}") from exc
        if examine_file(staged).sha256 != found.sha256:
            raise RefusedError(f"{source} 在恢复过程中被改动了：没有恢复，请重试")
        if found.head != HEAD:
            staged_url = f"sqlite:///{staged}"
            migrate(staged_url)
            _forget_engines(staged_url)
        examine_file(staged)
        _place(staged, target, "恢复")
        placed = True
        _record("archive.restored", found, actor, now, restored_to=str(target), restored_head=HEAD)
        with read_session() as session:
            after = _examine(session, target, chains=True)
        restored = ArchiveCopy(
            target, found.size, found.sha256, after.head, after.projects, after.events, after.streams
        )
    except BaseException:
        if placed:
            _forget_engines(get_settings().archive_url)
            _remove(target)
        raise
    finally:
        _remove(staged)
    return restored
