"""Deadline sweep cost: N open work items, about 1% due, on a SQLite archive.

Run by hand:  .venv/bin/python bench/deadline_sweep.py 10000 100000
Prints, per size: time of a pass that escalates the due items, time of a pass with nothing due,
and SQLite's query plan for the sweep's selection.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta


def build(n_items: int, due_share: float = 0.01) -> datetime:
    """One elderly-care-brief project per 100 items; items spread over the year, `due_share` due now."""
    from sqlalchemy import insert, select, update

    from swflow import db, domain
    from swflow.config.clock import SHANGHAI
    from swflow.db.tables import WorkItem

    now = datetime(2026, 6, 15, 10, tzinfo=SHANGHAI)
    people = domain.PeopleFile.model_validate(
        {
            "people": [
                {
                    "id": "m",
                    "name": "主管",
                    "roles": ["manager"],
                    "qualifications": [{"kind": "degree", "level": "MSW"}],
                    "notify": ["json://127.0.0.1:9/m"],
                },
                {
                    "id": "s",
                    "name": "督导",
                    "roles": ["supervisor"],
                    "qualifications": [{"kind": "degree", "level": "MSW"}],
                    "notify": ["json://127.0.0.1:9/s"],
                },
                {
                    "id": "w",
                    "name": "社工",
                    "roles": ["worker"],
                    "qualifications": [{"kind": "degree", "level": "BSW"}],
                    "notify": ["json://127.0.0.1:9/w"],
                },
            ]
        }
    ).people
    domain.import_people(people, "bench", now)
    request = domain.LaunchRequest(
        template_id="elderly-care-brief",
        name="基准",
        community="c",
        manager_id="m",
        supervisor_id="s",
        worker_ids=["w"],
    )
    projects = max(1, n_items // 100)
    for index in range(projects):
        plan = domain.prepare_launch(request, now.date())
        domain.record_launch(plan, f"00000000-0000-0000-0000-{index:012d}", now - timedelta(days=30))
        domain.open_stage(plan.project_id, "assessment", now - timedelta(days=30))
    with db.unit_of_work() as session:
        template = session.execute(select(WorkItem).limit(1)).scalar_one()
        base = {c: getattr(template, c) for c in ("project_id", "stage_id", "round", "assignee_id", "opened_at")}
        rows = []
        due_every = round(1 / due_share)
        for i in range(n_items - projects):
            due = i % due_every == 0
            when = now - timedelta(hours=1) if due else now + timedelta(days=1 + i % 300)
            rows.append(
                {
                    **base,
                    "form_id": "needs-assessment",
                    "activity": f"b{i}",
                    "title": None,
                    "required": True,
                    "status": "open",
                    "due_at": now if due else when + timedelta(days=3),
                    "next_escalation_at": when,
                    "escalation_step": 0,
                }
            )
        for start in range(0, len(rows), 5000):
            session.execute(insert(WorkItem), rows[start : start + 5000])
        session.execute(
            update(WorkItem).where(WorkItem.activity == "").values(next_escalation_at=now + timedelta(days=400))
        )
    return now


def main(sizes: list[int]) -> None:
    print(f"{'open items':>10} {'due':>6} {'sweep (escalate)':>17} {'sweep (nothing due)':>20}")
    for n in sizes:
        home = tempfile.mkdtemp(prefix="swflow-bench-sweep-")
        os.environ["SWFLOW_HOME"] = home
        from swflow.config.settings import get_settings

        get_settings.cache_clear()
        from swflow import db
        from swflow.domain.agency import sweep

        db.migrate()
        now = build(n)
        t0 = time.perf_counter()
        first = sweep(now)
        t1 = time.perf_counter()
        second = sweep(now)
        t2 = time.perf_counter()
        assert second.escalated == 0
        print(f"{n:>10} {first.escalated:>6} {t1 - t0:>15.3f} s {t2 - t1:>18.4f} s")
        from sqlalchemy import text

        from swflow.db import engine_for

        with engine_for(get_settings().archive_url).connect() as connection:
            plan = connection.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT * FROM work_items WHERE status = 'open' AND next_escalation_at <= :now"
                ),
                {"now": now.astimezone(UTC).replace(tzinfo=None)},
            ).all()
        print("           plan: " + "; ".join(str(row[-1]) for row in plan))
    print(f"reproduce: .venv/bin/python bench/deadline_sweep.py {' '.join(map(str, sizes))}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10000, 100000])
