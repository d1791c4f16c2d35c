"""The database: engines and transactions, the tables, the migrations, and the append-only hash-chained
event log every write goes with. Only this room and the rooms above it touch SQLAlchemy sessions."""

from . import quality_tables, registry_tables, tables, web_tables  # noqa: F401  (every table registered on Base)
from .engine import after_fork, engine_for, ensure_current, migrate, read_session, unit_of_work
from .journal import (
    PEOPLE_STREAM,
    acting_through,
    append_event,
    current_door,
    project_stream,
    stream_title,
    verify_all,
    verify_stream,
)
from .snapshot import stage_spec

__all__ = [
    "PEOPLE_STREAM",
    "acting_through",
    "current_door",
    "after_fork",
    "append_event",
    "engine_for",
    "ensure_current",
    "migrate",
    "project_stream",
    "read_session",
    "stage_spec",
    "stream_title",
    "unit_of_work",
    "verify_all",
    "verify_stream",
]
