"""The hash chain of a project's events: any edit, deletion, insertion or reordering shows."""

from __future__ import annotations

from typing import Any

from swflow.db.chain import GENESIS, event_hash, find_break

Row = tuple[int, str, str, dict[str, Any]]


def _body(seq: int, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "stream": "project:P-TEST01",
        "seq": seq,
        "kind": kind,
        "actor": "wang.worker",
        "at": f"2026-03-02T01:00:0{seq}.000000+00:00",
        "flow_run_id": None,
        "payload": payload,
    }


def _chain(kinds: list[str]) -> list[Row]:
    """Rows as the journal writes them: (seq, prev_hash, hash, body)."""
    rows: list[Row] = []
    prev = GENESIS
    for seq, kind in enumerate(kinds, start=1):
        body = _body(seq, kind, {"n": seq})
        rows.append((seq, prev, event_hash(prev, body), body))
        prev = rows[-1][2]
    return rows


def _renumber(rows: list[Row]) -> list[Row]:
    """What a careful forger does after moving rows: make seq contiguous again."""
    return [(i, prev, h, body) for i, (_, prev, h, body) in enumerate(rows, start=1)]


KINDS = ["project.launched", "stage.opened", "form.submitted", "gate.awaiting", "gate.decided"]


def test_intact_chain_has_no_break() -> None:
    assert find_break(_chain(KINDS)) is None


def test_empty_chain_has_no_break() -> None:
    assert find_break([]) is None


def test_edited_body_breaks_at_that_event() -> None:
    rows = _chain(KINDS)
    seq, prev, stored, body = rows[2]
    rows[2] = (seq, prev, stored, {**body, "payload": {"n": 3, "data_sha256": "forged"}})

    found = find_break(rows)

    assert found is not None
    assert found.seq == 3
    assert "被修改" in found.reason


def test_edited_hash_breaks_at_that_event() -> None:
    rows = _chain(KINDS)
    seq, prev, _, body = rows[1]
    rows[1] = (seq, prev, "f" * 64, body)

    found = find_break(rows)

    assert found is not None
    assert found.seq == 2


def test_edited_body_with_recomputed_hash_breaks_at_the_next_event() -> None:
    rows = _chain(KINDS)
    seq, prev, _, body = rows[2]
    forged = {**body, "actor": "li.supervisor"}
    rows[2] = (seq, prev, event_hash(prev, forged), forged)

    found = find_break(rows)

    assert found is not None
    assert found.seq == 4
    assert "前一事件的哈希不符" in found.reason


def test_deleted_event_breaks_the_sequence() -> None:
    rows = _chain(KINDS)
    del rows[2]

    found = find_break(rows)

    assert found is not None
    assert found.seq == 4
    assert "序号应为 3" in found.reason


def test_deleted_event_with_renumbered_rows_breaks_the_link() -> None:
    rows = _chain(KINDS)
    del rows[2]

    found = find_break(_renumber(rows))

    assert found is not None
    assert found.seq == 3
    assert "前一事件的哈希不符" in found.reason


def test_deleted_first_event_is_found() -> None:
    found = find_break(_chain(KINDS)[1:])

    assert found is not None
    assert found.seq == 2


def test_inserted_event_is_found_even_when_it_is_chained_correctly() -> None:
    rows = _chain(KINDS)
    _, _, after, _ = rows[1]
    forged_body = _body(3, "gate.decided", {"outcome": "approve"})
    forged: Row = (3, after, event_hash(after, forged_body), forged_body)

    found = find_break(_renumber([*rows[:2], forged, *rows[2:]]))

    assert found is not None
    assert found.seq == 4
    assert "前一事件的哈希不符" in found.reason


def test_swapped_events_are_found() -> None:
    rows = _chain(KINDS)
    rows[1], rows[2] = rows[2], rows[1]

    found = find_break(rows)

    assert found is not None
    assert found.seq == 3


def test_swapped_events_with_renumbered_rows_are_found() -> None:
    rows = _chain(KINDS)
    rows[1], rows[2] = rows[2], rows[1]

    found = find_break(_renumber(rows))

    assert found is not None
    assert found.seq == 2


def test_truncated_tail_needs_the_stream_head_to_be_seen() -> None:
    """A chain cut at the end is self-consistent; journal.verify_stream compares event_heads."""
    assert find_break(_chain(KINDS)[:-1]) is None


def test_hash_covers_the_previous_hash_and_ignores_key_order() -> None:
    body = _body(1, "project.launched", {"name": "幸福社区", "workers": ["wang.worker"]})
    reordered = dict(reversed(list(body.items())))

    assert event_hash(GENESIS, body) == event_hash(GENESIS, reordered)
    assert event_hash(GENESIS, body) != event_hash("1" * 64, body)
    assert event_hash(GENESIS, body) != event_hash(GENESIS, {**body, "payload": {"name": "幸福"}})
