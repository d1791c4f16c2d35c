"""Archive verify and export of one project with 10,000 events (SQLite).

Run by hand:  .venv/bin/python bench/archive_size.py [EVENTS]
The project is real (launched, assessment submitted); the bulk is form resubmissions, each a
submission row and a hash-chained event, written in batches.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path


def main(events: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="swflow-bench-archive-"))
    os.environ.update({"SWFLOW_HOME": str(home), "SWFLOW_HOLD_OUTSIDE_WORKING_HOURS": "false"})
    import yaml

    from swflow import db, domain
    from swflow.app.samples import form_samples, people_yaml
    from swflow.archive.export import export_project
    from swflow.config.clock import SHANGHAI

    now = datetime(2026, 3, 2, 9, tzinfo=SHANGHAI)
    db.migrate()
    domain.import_people(
        domain.PeopleFile.model_validate(yaml.safe_load(people_yaml("json://127.0.0.1:9"))).people, "bench", now
    )
    plan = domain.prepare_launch(
        domain.LaunchRequest(
            template_id="elderly-care-brief",
            name="大档案",
            community="c",
            manager_id="zhou.pm",
            supervisor_id="li.supervisor",
            worker_ids=["wang.worker"],
        ),
        now.date(),
    )
    domain.record_launch(plan, "00000000-0000-0000-0000-00000000beef", now)
    domain.open_stage(plan.project_id, "assessment", now)
    data = form_samples()["needs-assessment"]
    t0 = time.perf_counter()
    count = len(domain.project_events(plan.project_id))
    i = 0
    while count < events:
        domain.submit_form(plan.project_id, "needs-assessment", "wang.worker", data, now + timedelta(seconds=i))
        i += 1
        count += 1 if i > 1 else 3  # the first submission also asks for the decision
    build = time.perf_counter() - t0
    count = len(domain.project_events(plan.project_id))
    t0 = time.perf_counter()
    with db.read_session() as session:
        assert db.verify_stream(session, db.project_stream(plan.project_id)) is None
    verify = time.perf_counter() - t0
    t0 = time.perf_counter()
    paths = export_project(plan.project_id, home / "dossier", None, now)
    export = time.perf_counter() - t0
    sizes = ", ".join(f"{k} {p.stat().st_size / 1e6:.1f} MB" for k, p in paths.items())
    print(f"events {count}: verify {verify:.2f} s, export {export:.2f} s ({sizes}); built in {build:.0f} s")
    print(f"reproduce: .venv/bin/python bench/archive_size.py {events}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10000)
