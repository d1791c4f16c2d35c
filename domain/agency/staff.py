"""Importing the agency's people: their records, and — in the same transaction — their supervision
due dates, certificate watches and the first risk-rules review (quality management, §7.3, §8.1)."""

from __future__ import annotations

from datetime import datetime

from swflow.db import unit_of_work
from swflow.domain.people.records import PersonRecord, write_people
from swflow.domain.quality.staffing import watch_people

__all__ = ["import_people"]


def import_people(records: list[PersonRecord], actor: str, now: datetime) -> tuple[int, int]:
    """Insert or update people in one transaction; returns (added, updated)."""
    with unit_of_work() as session:
        added, updated = write_people(session, records, actor, now)
        watch_people(session, [r.id for r in records], now)
    return added, updated
