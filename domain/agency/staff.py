"""Importing the agency's people: their records, and — in the same transaction — their supervision
due dates, certificate watches and the first risk-rules review (quality management, §7.3, §8.1)."""

from __future__ import annotations

from datetime import datetime

from swflow.domain.people.records import PersonRecord

__all__ = ["import_people"]


def import_people(records: list[PersonRecord], actor: str, now: datetime) -> tuple[int, int]:
    """Insert or update people in one transaction; returns (added, updated). Deciding roles are held
    for a director's confirmation once the agency has one (`swflow.domain.agency.grants`)."""
    from swflow.domain.agency.grants import import_people_held

    report = import_people_held(records, actor, now)
    return report.added, report.updated
