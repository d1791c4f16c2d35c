"""Gate turnaround from the person's side: `swflow approve` returns → the next stage's forms are in the
worker's inbox (`domain.inbox`, read in this process every 20 ms, as the inbox page reads it — not by
starting a CLI process per look, which took ~0.7 s of CPU each and competed with the run on 2 cores).

Run by hand:  .venv/bin/python bench/gate_turnaround.py [PROJECTS]
Starts its own `swflow serve` in a temporary SWFLOW_HOME; prints p50/p95 over all gates.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from swflow.app.local import Home, form_data, new_home, wait_for  # noqa: E402
from swflow.app.receiver import Receiver  # noqa: E402

WORKER, SUPERVISOR, MANAGER = "wang.worker", "li.supervisor", "zhou.pm"


def launch(home: Home, name: str) -> str:
    argv = ["--community", "幸福社区", "--manager", MANAGER, "--supervisor", SUPERVISOR, "--worker", WORKER]
    return home.cli("launch", "elderly-care-brief", "--name", name, *argv).stdout.strip()


def open_forms(home: Home, project: str, stage: str) -> list[str]:
    s = home.stage(project, stage)
    return [i["form"] for i in s["work_items"] if i["round"] == s["round"] and i["status"] == "open"]


def in_inbox(project: str, stage: str) -> bool:
    from swflow import domain

    return any(t["project"] == project and t["stage"] == stage for t in domain.inbox(WORKER)["tasks"])


def main(projects: int) -> None:
    import os

    from swflow.config.settings import get_settings

    tmp = Path(tempfile.mkdtemp(prefix="swflow-bench-"))
    with Receiver() as receiver:
        home = new_home(tmp, receiver.url)
        t0 = time.monotonic()
        home.start_serve()
        os.environ.update(home.env)  # this process reads the same archive
        get_settings.cache_clear()
        print(f"serve ready in {time.monotonic() - t0:.1f} s (Prefect DB migrated on first start)")
        turnarounds: list[float] = []
        cli_times: list[float] = []
        try:
            for n in range(projects):
                project = launch(home, f"bench-{n}")
                stages = [s["key"] for s in home.json("status", project)["stages"]]
                for i, key in enumerate(stages):
                    forms = wait_for(f"{key} open", lambda k=key, p=project: open_forms(home, p, k))
                    for form in forms:
                        home.cli(
                            "submit",
                            project,
                            form,
                            "--by",
                            WORKER,
                            "--data",
                            str(form_data(tmp, form)),
                        )
                    start = time.monotonic()
                    home.cli("approve", project, key, "--by", SUPERVISOR)
                    returned = time.monotonic()
                    cli_times.append(returned - start)
                    if i + 1 < len(stages):
                        nxt = stages[i + 1]
                        wait_for("next stage", lambda k=nxt, p=project: in_inbox(p, k), every=0.02)
                        turnarounds.append(time.monotonic() - returned)
        finally:
            home.stop_serve()
    q = statistics.quantiles(turnarounds, n=20) if len(turnarounds) > 1 else turnarounds * 19
    print(f"gates measured: {len(turnarounds)}")
    print(f"`swflow approve` wall time: median {statistics.median(cli_times):.2f} s")
    print(
        f"turnaround approve→next stage open: p50 {statistics.median(turnarounds):.2f} s, "
        f"p95 {q[18]:.2f} s, max {max(turnarounds):.2f} s"
    )
    print(f"reproduce: .venv/bin/python bench/gate_turnaround.py {projects}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
