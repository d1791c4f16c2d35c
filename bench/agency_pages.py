"""The manager's and director's pages at agency scale (issue 17): 项目总览 (`/projects`, unfiltered and
filtered by a community) and the agency dashboard (`/dashboard`), with PROJECTS projects, about 100 work
items each and SERVED people served in the registry. The projects come through the domain acts as in
`bench/web_pages.py` (about 10 work items each); the rest of each project's work items (activity records,
9 in 10 submitted, the others open and some overdue) and the people served are written straight into
the tables, as an agency's years of work would have left them.

Run by hand:  .venv/bin/python bench/agency_pages.py [PROJECTS=1000] [ITEMS_PER_PROJECT=100] [SERVED=5000]
One signed-in director opens each page REPEAT (50) times, one after another; the figures are the app's
own `Server-Timing` (request in → answer out) and what the client on the same machine waits.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from web_pages import PASSWORD, _server_ms, _up, build_archive  # noqa: E402

from swflow.app.local import free_port, wait_for  # noqa: E402

REPEAT = 50


def _more_items(per_project: int) -> int:
    """Activity records up to `per_project` work items a project: 9 in 10 submitted, the rest open, a
    third of those overdue."""
    from sqlalchemy import func, select

    from swflow.config.clock import system_clock
    from swflow.db import unit_of_work
    from swflow.db.tables import Stage, WorkItem

    now = system_clock()
    with unit_of_work() as session:
        stages = session.execute(select(Stage).where(Stage.opened_at.is_not(None))).scalars().all()
        counted = session.execute(select(WorkItem.project_id, func.count()).group_by(WorkItem.project_id))
        have: dict[str, int] = {str(p): int(n) for p, n in counted.all()}
        rows: list[dict[str, Any]] = []
        for stage in stages:
            wanted = per_project - have.get(stage.project_id, 0)
            have[stage.project_id] = per_project
            for k in range(max(0, wanted)):
                done = k % 10 != 0
                due = now - timedelta(days=3) if k % 30 == 0 else now + timedelta(days=10 + k % 20)
                rows.append({
                    "project_id": stage.project_id, "stage_id": stage.id, "form_id": "service-activity-record",
                    "round": stage.round, "activity": f"bench-{k}", "title": f"活动记录 {k}", "required": False,
                    "assignee_id": "w00", "status": "submitted" if done else "open", "opened_at": now,
                    "due_at": due, "submitted_at": now if done else None,
                })  # fmt: skip
        for start in range(0, len(rows), 5000):
            session.execute(WorkItem.__table__.insert(), rows[start : start + 5000])
        return len(rows)


def _served(count: int) -> None:
    from swflow.config.clock import system_clock
    from swflow.db import unit_of_work
    from swflow.db.registry_tables import ServedPerson

    now = system_clock()
    rows = [
        {"data": {"name": f"服务对象{n}", "community": f"社区{n % 20}"}, "identity_key": f"{n:064x}"[-64:],
         "salt": "0" * 32, "status": "active", "registered_by": "bench.pm", "registered_at": now, "updated_at": now}
        for n in range(count)
    ]  # fmt: skip
    with unit_of_work() as session:
        session.execute(ServedPerson.__table__.insert(), rows)


def _director() -> None:
    from swflow import domain
    from swflow.config.clock import system_clock
    from swflow.db import unit_of_work
    from swflow.domain.agency import invite_person
    from swflow.domain.people.accounts import set_password_by_link
    from swflow.domain.people.records import write_people

    now = system_clock()
    cert = [{"kind": "certificate", "level": "高级社会工作师", "number": "SSW-2018-0001"}]
    record = domain.PersonRecord.model_validate(
        {"id": "bench.director", "name": "主任", "roles": ["director"], "qualifications": cert, "notify": []}
    )
    with unit_of_work() as session:  # as the agency's setup gives it (the operator at init)
        write_people(session, [record], "bench", now)
    url = invite_person("bench.director", "invite", "bench", now)
    set_password_by_link(url.rsplit("/", 1)[1], PASSWORD, now)


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(projects: int, per_project: int, served: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="swflow-bench-agency-"))
    port = free_port()
    env = {"SWFLOW_HOME": str(home), "SWFLOW_WEB_PORT": str(port), "SWFLOW_WEB_SECRET": "bench-" + "a" * 40,
           "SWFLOW_HOLD_OUTSIDE_WORKING_HOURS": "false"}  # fmt: skip
    os.environ.update(env)
    from swflow import db

    db.migrate()
    t0 = time.monotonic()
    build_archive(projects, 40, 10)
    added = _more_items(per_project)
    _served(served)
    _director()
    print(f"archive: {projects} projects, +{added} work items, {served} people served, {time.monotonic() - t0:.0f} s")
    web = subprocess.Popen([sys.executable, "-m", "swflow.app.web"], env={**os.environ, **env})
    pages = {"overview": "/projects", "overview, one community": "/projects?community=社区3", "dashboard": "/dashboard"}
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for("the web app", lambda: _up(base), timeout=60)
        with httpx.Client(base_url=base, timeout=120) as client:
            signed = client.post("/login", data={"person_id": "bench.director", "password": PASSWORD})
            assert signed.status_code == 303, signed.text[:200]
            for name, path in pages.items():
                server, client_ms = [], []
                for _ in range(REPEAT):
                    started = time.perf_counter()
                    answer = client.get(path)
                    client_ms.append(1000 * (time.perf_counter() - started))
                    if answer.status_code == 404:
                        break
                    assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])
                    server.append(_server_ms(answer) * 1000)
                if not server:
                    print(f"{name}: no such page yet")
                    continue
                print(f"{name}: server p50 {statistics.median(server):.1f} ms, p95 {_ms(server, 0.95):.1f} ms; "
                      f"client p50 {statistics.median(client_ms):.1f} ms ({len(server)} requests)")  # fmt: skip
    finally:
        web.terminate()
        web.wait(timeout=30)


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(*(args + [1000, 100, 5000][len(args) :]))
