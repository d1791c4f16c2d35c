"""Check every registry record's hash chain (and the projects' it wrote to): forgetting a person
or merging two records must leave all of them intact."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from swflow.db.engine import read_session
from swflow.db.journal import verify_stream
from swflow.db.tables import EventHead

__all__ = ["STREAM_KINDS", "verify_registry"]

STREAM_KINDS = ("person", "volunteer", "organisation", "referral", "resource_link")


def verify_registry() -> list[dict[str, Any]]:
    """One row per registry stream: its length and, when broken, where and why."""
    with read_session() as session:
        heads = session.execute(
            select(EventHead)
            .where(or_(*(EventHead.stream.like(f"{kind}:%") for kind in STREAM_KINDS)))
            .order_by(EventHead.stream)
        ).scalars()
        rows = []
        for head in heads:
            broken = verify_stream(session, head.stream)
            rows.append(
                {
                    "stream": head.stream,
                    "events": head.seq,
                    "intact": broken is None,
                    "seq": broken.seq if broken else None,
                    "reason": broken.reason if broken else None,
                }
            )
        return rows
