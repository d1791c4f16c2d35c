"""The hash chain, as pure functions: no database here."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["GENESIS", "canonical_json", "event_hash", "ChainBreak", "find_break"]

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(prev_hash: str, body: dict[str, Any]) -> str:
    """sha256 over the previous hash and this event's canonical JSON."""
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(b"\n")
    digest.update(canonical_json(body).encode("utf-8"))
    return digest.hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


def find_break(events: Iterable[tuple[int, str, str, dict[str, Any]]]) -> ChainBreak | None:
    """The first bad event among (seq, prev_hash, hash, body) rows in seq order, or None."""
    expected_prev, expected_seq = GENESIS, 1
    for seq, prev_hash, stored_hash, body in events:
        if seq != expected_seq:
            return ChainBreak(seq, f"序号应为 {expected_seq}（缺失、插入或顺序被改动）")
        if prev_hash != expected_prev:
            return ChainBreak(seq, "前一事件的哈希不符（事件被删除、插入或重排）")
        if event_hash(prev_hash, body) != stored_hash:
            return ChainBreak(seq, "内容与哈希不符（事件被修改）")
        expected_prev, expected_seq = stored_hash, seq + 1
    return None
