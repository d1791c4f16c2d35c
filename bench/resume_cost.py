"""Resume cost: from a recorded decision to the next stage's work items, against what is done.

Run by hand:  .venv/bin/python bench/resume_cost.py
Measures (a) after 1 stage done vs after 3 stages done, (b) with 10 vs 200 activity records done
(the schedule's rows become execution work items). Median of 3 projects each.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _served import SUPERVISOR, launch, served_home  # noqa: E402

from swflow.app.receiver import Receiver  # noqa: E402

TEMPLATE = "other-services"


def _stage(project: str, key: str) -> dict[str, Any]:
    from swflow import domain

    return next(s for s in domain.project_status(project)["stages"] if s["key"] == key)


def _wait(check: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(0.02)


def _fill(project: str, key: str, samples: dict[str, Any]) -> None:
    from swflow import domain
    from swflow.config.clock import system_clock

    _wait(lambda: any(i["status"] == "open" for i in _stage(project, key)["work_items"]))
    for item in _stage(project, key)["work_items"]:
        if item["status"] == "open":
            domain.submit_form(
                project, item["form"], item["assignee"], samples[item["form"]], system_clock(), item["activity"] or None
            )


def _approve_and_time(project: str, key: str, next_key: str) -> float:
    from swflow import domain
    from swflow.config.clock import system_clock
    from swflow.flows.control import resume_gate

    run_id = domain.project_status(project)["flow_run_id"]
    from swflow.flows.control import run_state

    _wait(lambda: run_state(run_id) == "Suspended")
    start = time.monotonic()
    decided = domain.record_decision(project, key, SUPERVISOR, "approve", "", system_clock())
    resume_gate(str(decided.flow_run_id), decided.decision_id)
    _wait(lambda: bool(_stage(project, next_key)["work_items"]))
    return time.monotonic() - start


def measure(activities: int) -> dict[str, float]:
    from swflow.app.samples import form_samples

    samples = form_samples()
    row = samples["service-schedule"]["activities"][0]
    samples["service-schedule"] = {
        **samples["service-schedule"],
        "activities": [{**row, "name": f"活动 {i}"} for i in range(activities)],
    }
    project = launch(TEMPLATE, f"恢复成本 {activities}")
    _fill(project, "assessment", samples)
    one_done = _approve_and_time(project, "assessment", "planning")
    _fill(project, "planning", samples)
    _approve_and_time(project, "planning", "execution")
    _fill(project, "execution", samples)
    three_done = _approve_and_time(project, "execution", "evaluation")
    return {"one_done": one_done, "three_done": three_done}


def main() -> None:
    with Receiver() as receiver:
        home = served_home(receiver, "resume")
        try:
            results: dict[int, list[dict[str, float]]] = {10: [], 200: []}
            for _ in range(3):
                for activities in results:
                    results[activities].append(measure(activities))
        finally:
            home.stop_serve()
    print(f"{'activity records done':>22} {'resume after 1 stage':>21} {'resume after 3 stages':>22}")
    for activities, runs in results.items():
        one = statistics.median(r["one_done"] for r in runs)
        three = statistics.median(r["three_done"] for r in runs)
        print(f"{activities:>22} {one:>19.2f} s {three:>20.2f} s")
    print("reproduce: .venv/bin/python bench/resume_cost.py")


if __name__ == "__main__":
    main()
