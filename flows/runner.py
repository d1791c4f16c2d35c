"""`python -m swflow.flows.runner`: serve the service-project deployment (started by `swflow serve`).

By default the flows are given to Prefect's runner as flow objects (`Runner.add_flow`), so each flow
run — a launch, every resume of a gate, every sweep — starts as a fork of a warm process
(`swflow.flows.forked`) rather than as `python -m prefect.engine` importing everything again.
`SWFLOW_FLOW_START=spawn` serves them as deployments the way Prefect's `serve()` does (a cold process
per run): the same deployments, names and schedule either way."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import cast


def _serve_cold(every: timedelta, limit: int) -> None:
    from prefect import serve
    from prefect.deployments.runner import RunnerDeployment

    from swflow.flows.deadline_watch import deadline_watch
    from swflow.flows.service_project import service_project

    # called outside an event loop, to_deployment returns the deployment itself (not a coroutine)
    serve(
        cast(RunnerDeployment, service_project.to_deployment(name="swflow")),
        cast(RunnerDeployment, deadline_watch.to_deployment(name="swflow", interval=every)),
        print_starting_message=False,
        limit=limit,
    )


async def _serve_forked(every: timedelta, limit: int) -> None:
    from prefect.runner import Runner

    from swflow.flows.deadline_watch import deadline_watch
    from swflow.flows.service_project import service_project

    runner = Runner(pause_on_shutdown=True, limit=limit)
    await runner.aadd_flow(service_project, name="swflow")
    await runner.aadd_flow(deadline_watch, name="swflow", interval=every)
    await runner.start()


def main() -> None:
    from swflow.config.settings import get_settings, use_prefect_settings

    use_prefect_settings()
    from swflow.flows.forked import fork_flow_runs

    every = timedelta(minutes=get_settings().sweep_interval_minutes)
    limit = get_settings().runner_limit
    if not fork_flow_runs(get_settings().flow_start):
        _serve_cold(every, limit)
        return
    from prefect.exceptions import TerminationSignal

    try:
        asyncio.run(_serve_forked(every, limit))
    except (KeyboardInterrupt, TerminationSignal):
        pass  # stopped by `swflow serve` (as Prefect's own serve() ends)


if __name__ == "__main__":
    main()
