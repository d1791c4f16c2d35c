"""The bare Prefect peer of a service project: per stage a task, then a suspend that waits for
input — the same orchestration shape with no swflow logic. Served by bench/lifecycle.py with the
same concurrency as swflow's runner (SWFLOW_RUNNER_LIMIT, default 4 flow-run processes at once)."""

from __future__ import annotations

import os

from prefect import flow, serve, task
from prefect.flow_runs import suspend_flow_run


@task
def stage_work(index: int) -> int:
    return index


@flow(name="bare-lifecycle", persist_result=True)
def bare_lifecycle(stages: int = 4) -> int:
    total = 0
    for index in range(stages):
        total += stage_work(index)
        total += suspend_flow_run(wait_for_input=int, key=f"gate-{index}", timeout=None)
    return total


if __name__ == "__main__":
    limit = int(os.environ.get("SWFLOW_RUNNER_LIMIT", "4"))
    serve(bare_lifecycle.to_deployment(name="bench"), print_starting_message=False, limit=limit)
