"""`swflow archive verify`: the database file, every hash chain, then every record against its events.

A damaged file or a database that cannot be read is a `StorageError` (one sentence, exit 1); what
was changed is a list of named breaks (the CLI exits 3 on any).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.exc import DatabaseError, DBAPIError

from swflow.archive.checkpoints import verify_checkpoints
from swflow.archive.integrity import RecordBreak, check_storage, verify_records
from swflow.config.errors import StorageError
from swflow.db.chain import ChainBreak
from swflow.db.engine import read_session
from swflow.db.journal import project_stream, verify_all, verify_stream

__all__ = ["ArchiveReport", "verify_archive"]


@dataclass
class ArchiveReport:
    chains: list[tuple[str, ChainBreak | None]] = field(default_factory=list)
    records: list[RecordBreak] = field(default_factory=list)

    @property
    def broken(self) -> bool:
        return bool(self.records) or any(b is not None for _, b in self.chains)


def verify_archive(project_id: str | None = None) -> ArchiveReport:
    """The whole archive, or one project's chain and records (the file is always checked whole)."""
    report = ArchiveReport()
    try:
        with read_session() as session:
            report.records = check_storage(session)
            if report.records:  # a damaged file: what it would say next cannot be trusted
                return report
            if project_id is not None:
                stream = project_stream(project_id)
                report.chains = [(stream, verify_stream(session, stream))]
            else:
                report.chains = verify_all(session)
            breaks = verify_records(session)
            only = project_stream(project_id) if project_id is not None else None
            breaks += verify_checkpoints(session, only)
    except (DatabaseError, DBAPIError) as exc:
        reason = str(getattr(exc, "orig", exc)).strip() or type(exc).__name__
        raise StorageError(f"档案库无法读取（数据库文件可能已损坏）：{reason}") from exc
    if project_id is not None:
        breaks = [b for b in breaks if f"项目 {project_id}" in b.place or "检查点日志" in b.place]
    report.records = breaks
    return report
