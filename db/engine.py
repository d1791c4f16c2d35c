"""Engines and transactions. Every domain write is one `unit_of_work` (docs/architecture.md, contract 2)."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from swflow.config.errors import ArchiveNotInitialisedError, StorageError
from swflow.config.settings import get_settings
from swflow.db.seals import ArchiveSession

__all__ = [
    "after_fork",
    "engine_for",
    "unit_of_work",
    "read_session",
    "serialise_on",
    "migrate",
    "ensure_current",
    "HEAD",
]


def _script_head() -> str:
    """The newest revision among the migration scripts: the one no other script revises.

    Read from the files (no Alembic import) so every command can check the schema cheaply;
    a unit test checks it against Alembic's own answer."""
    revisions: dict[str, str | None] = {}
    for script in (Path(__file__).parent / "migrations" / "versions").glob("[0-9]*.py"):
        text = script.read_text(encoding="utf-8")
        found = re.search(r'^revision = "(\w+)"', text, re.M)
        down = re.search(r'^down_revision = "(\w+)"', text, re.M)
        if found:
            revisions[found.group(1)] = down.group(1) if down else None
    heads = set(revisions) - {d for d in revisions.values() if d}
    if len(heads) != 1:
        raise RuntimeError(f"migrations must have one head, found {sorted(heads)}")
    return heads.pop()


HEAD = _script_head()


def _sqlite_engine(url: str, immediate: bool) -> Engine:
    path = url.removeprefix("sqlite:///")
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front: concurrent writers queue instead of deadlocking.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


_engines: dict[tuple[str, bool], Engine] = {}


def engine_for(url: str, writer: bool = True) -> Engine:
    """One engine per (URL, role) per process."""
    key = (url, writer)
    if key not in _engines:
        if url.startswith("sqlite"):
            _engines[key] = _sqlite_engine(url, immediate=writer)
        else:
            driver_url = url
            if url.startswith("postgresql://"):
                driver_url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
            _engines[key] = create_engine(driver_url, pool_pre_ping=True)
    return _engines[key]


def after_fork() -> None:
    """In a forked child: leave the parent's pooled connections alone and open new ones."""
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()


def _url(url: str | None) -> str:
    return url or get_settings().archive_url


def _sqlite_path(url: str) -> Path | None:
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else ""
    return Path(path) if path and path != ":memory:" else None


def _may(path: Path, mode: int) -> bool:
    effective = os.access in os.supports_effective_ids
    return os.access(path, mode, effective_ids=effective)


def diagnose_archive(url: str) -> StorageError | None:
    """Why a SQLite archive cannot be used, when the reason is the file or its folder (docs/architecture.md, contract 9:
    everything lives under SWFLOW_HOME), not a missing archive; None when nothing is found."""
    path = _sqlite_path(url)
    if path is None or not path.parent.exists():
        return None
    home = path.parent
    if not _may(home, os.X_OK) or (path.exists() and not _may(path, os.R_OK)):
        return StorageError(f"SWFLOW_HOME {home} 或其中的档案库 {path.name} 不可读（没有权限）")
    if not path.exists():
        return None if _may(home, os.W_OK) else StorageError(f"SWFLOW_HOME {home} 不可写：无法在其中建立档案库")
    with path.open("rb") as handle:
        header = handle.read(16)
    if header and header != b"SQLite format 3\x00":
        return StorageError(f"档案库 {path} 已损坏（不是 SQLite 数据库）：请从备份恢复，或移走后重新运行 `swflow init`")
    if not _may(home, os.W_OK) or not _may(path, os.W_OK):
        return StorageError(
            f"SWFLOW_HOME {home} 不可写：档案库 {path.name} 及其日志文件（-wal、-shm）须可写，读取时也是如此"
        )
    return None


def storage_error(exc: DBAPIError, url: str) -> StorageError | None:
    """A database error that is about the storage (full, read-only, damaged), as a sentence."""
    message, state = str(exc.orig), getattr(exc.orig, "sqlstate", None)
    if "database or disk is full" in message or state in ("53100", "53200"):
        return StorageError("档案库所在的磁盘已满：本次操作没有保存任何内容，请腾出空间后重试")
    if "database is locked" in message:
        return StorageError("档案库正忙（另一个进程正在写入且长时间未结束）：本次操作没有保存任何内容，请稍后重试")
    if "disk I/O error" in message:
        return StorageError("档案库读写出错（磁盘 I/O 错误）：本次操作没有保存任何内容")
    if any(words in message for words in ("readonly database", "unable to open", "not a database", "malformed")):
        return diagnose_archive(url) or StorageError(f"档案库无法打开或已损坏：{message[:200]}")
    if state == "25006":
        return StorageError("档案库是只读的：本次操作没有保存任何内容")
    return None


@contextmanager
def _storage_errors(url: str) -> Iterator[None]:
    try:
        yield
    except DBAPIError as exc:
        mapped = storage_error(exc, url)
        if mapped is None:
            raise
        raise mapped from exc


@contextmanager
def unit_of_work(url: str | None = None) -> Iterator[Session]:
    """One write transaction: commit on success, roll everything back on any error."""
    url = _url(url)
    session = sessionmaker(engine_for(url), class_=ArchiveSession, expire_on_commit=False)()
    try:
        with _storage_errors(url), session.begin():
            yield session
    finally:
        session.close()


def serialise_on(session: Session, name: str) -> None:
    """Until this transaction ends, no other transaction passes `serialise_on(name)`: a check-then-
    insert (is this person already registered?) cannot interleave with another. SQLite's write
    transactions (BEGIN IMMEDIATE) are serialised already; PostgreSQL takes an advisory lock."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


@contextmanager
def read_session(url: str | None = None) -> Iterator[Session]:
    url = _url(url)
    session = sessionmaker(engine_for(url, writer=False), expire_on_commit=False)()
    try:
        with _storage_errors(url), session.begin():
            yield session
    finally:
        session.close()


def _alembic_config(url: str) -> Any:
    from alembic.config import Config

    here = Path(__file__).parent
    cfg = Config()
    cfg.set_main_option("script_location", str(here / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str | None = None) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    from alembic import command

    url = _url(url)
    with _storage_errors(url), engine_for(url).begin() as connection:
        cfg = _alembic_config(url)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


@cache
def _checked(url: str) -> bool:
    engine = engine_for(url, writer=False)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return False
            version = connection.execute(text("SELECT version_num FROM alembic_version"))
            return version.scalar() == HEAD
    except DBAPIError:
        return False


def ensure_current(url: str | None = None) -> None:
    """Refuse to work on a missing or outdated archive, saying what to run; an archive that is
    there but unreadable, read-only or damaged is named as such (running init would not help)."""
    url = _url(url)
    if not _checked(url):
        _checked.cache_clear()
        problem = diagnose_archive(url)
        if problem is not None:
            raise problem
        raise ArchiveNotInitialisedError(f"档案库 {url} 不存在或版本不是最新：请先运行 `swflow init`")


def scalar_exists(session: Session, statement: Any) -> bool:
    return session.execute(select(statement.exists())).scalar() is True
