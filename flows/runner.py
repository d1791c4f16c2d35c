"""`python -m swflow.flows.runner`: serve the service-project deployment (started by `swflow serve`)."""

from __future__ import annotations

from typing import cast


def main() -> None:
    from datetime import timedelta

    from swflow.config.settings import get_settings, use_prefect_settings

    use_prefect_settings()
    from prefect import serve

    from swflow.flows.deadline_watch import deadline_watch
    from swflow.flows.service_project import service_project

    every = timedelta(minutes=get_settings().sweep_interval_minutes)
    from prefect.deployments.runner import RunnerDeployment

    # called outside an event loop, to_deployment returns the deployment itself (not a coroutine)
    serve(
        cast(RunnerDeployment, service_project.to_deployment(name="swflow")),
        cast(RunnerDeployment, deadline_watch.to_deployment(name="swflow", interval=every)),
        print_starting_message=False,
        limit=get_settings().runner_limit,
    )


if __name__ == "__main__":
    main()
