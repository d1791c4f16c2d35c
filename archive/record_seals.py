"""Agency records against their seals: each record's rows (and the rows that belong to it) must
digest to the `row_sha256` of the latest sealed event of its stream (see `db.seals`)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Text, or_, select, type_coerce
from sqlalchemy.orm import Session

from swflow.db.journal import stream_title
from swflow.db.seals import SEAL_KEY, SEALED, record_seals
from swflow.db.tables import Event

__all__ = ["check_seals", "latest_seals"]


def latest_seals(session: Session) -> dict[str, str]:
    """stream → the seal its latest sealed event carries (streams without one are left out)."""
    rows = session.execute(
        select(Event.stream, type_coerce(Event.payload, Text))
        .where(or_(*(Event.stream.like(f"{kind}:%") for kind in SEALED)))
        .order_by(Event.stream, Event.seq)
    )
    seals: dict[str, str] = {}
    for stream, payload in rows:
        try:
            body: Any = json.loads(payload) if isinstance(payload, str) else payload
        except ValueError:
            continue  # not JSON any more: the chain check names the event
        if isinstance(body, dict) and isinstance(body.get(SEAL_KEY), str):
            seals[stream] = body[SEAL_KEY]
    return seals


def check_seals(session: Session) -> list[tuple[str, str]]:
    """(place, reason) for every sealed record whose rows differ from its seal."""
    breaks: list[tuple[str, str]] = []
    current = {kind: record_seals(session, kind) for kind in SEALED}
    for stream, seal in sorted(latest_seals(session).items()):
        kind, _, record = stream.partition(":")
        if not record.isdigit():
            continue
        now = current[kind].get(int(record))
        if now is not None and now != seal:  # a missing row is named by the stream check
            breaks.append(
                (
                    stream_title(stream),
                    "记录（或属于它的行动、参与人、同意书、培训、跟进等）与其最后一次事件封存的内容不符（记录被改动）",
                )
            )
    return breaks
