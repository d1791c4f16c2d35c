"""Past one machine (issue 18): the same two deployments that `swflow serve` serves, registered in a
Prefect work pool of type `process` on any Prefect server, and the worker that runs them.

`swflow deploy --pool NAME` registers `service-project/swflow` and `deadline-watch/swflow` (its
interval schedule included) in the pool, by module path: a worker needs the installed swflow package,
no copy of the source. `swflow worker --pool NAME` becomes a Prefect process worker (`swflow.flows.worker`:
its runs start as forks of a warm process) with swflow's settings in its environment, which each flow
run's process inherits."""

from __future__ import annotations

import os
import socket
import sys
from datetime import timedelta
from typing import Any, cast

from swflow.config.errors import ServerNotRunningError, SwflowError
from swflow.config.settings import Settings, get_settings, prefect_env, use_prefect_settings

__all__ = ["deploy_to_pool", "worker_argv", "worker_env", "Deployed"]

WORK_POOL_TYPE = "process"


class Deployed:
    def __init__(self, pool: str, created_pool: bool, deployments: list[str]) -> None:
        self.pool, self.created_pool, self.deployments = pool, created_pool, deployments


def _ensure_pool(client: Any, pool: str) -> bool:
    """The pool exists with the process worker's job template; True when it was made now."""
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
    from prefect.workers.process import ProcessWorker

    try:
        found = client.read_work_pool(pool)
    except ObjectNotFound:
        template = ProcessWorker.get_default_base_job_template()
        try:
            client.create_work_pool(WorkPoolCreate(name=pool, type=WORK_POOL_TYPE, base_job_template=template))
        except ObjectAlreadyExists:  # a second `swflow deploy` at the same moment
            return False
        return True
    if found.type != WORK_POOL_TYPE:
        raise SwflowError(f"工作池 {pool} 的类型是 {found.type}，swflow 的流程需要 {WORK_POOL_TYPE} 类型的工作池")
    return False


def deploy_to_pool(pool: str, settings: Settings | None = None) -> Deployed:
    """Register both deployments in `pool` (made if missing); running it again updates them."""
    settings = settings or get_settings()
    use_prefect_settings(settings)
    from prefect.exceptions import PrefectHTTPStatusError

    from swflow.flows.control import api_access_problem

    problem = api_access_problem(pool)
    if problem is not None:
        raise ServerNotRunningError(problem)
    try:
        return _deploy(pool, settings)
    except PrefectHTTPStatusError as exc:
        raise SwflowError(f"Prefect API 拒绝了部署：HTTP {exc.response.status_code} {exc.response.text[:200]}") from exc


def _deploy(pool: str, settings: Settings) -> Deployed:
    from prefect.client.orchestration import get_client
    from prefect.deployments.runner import RunnerDeployment
    from prefect.types.entrypoint import EntrypointType

    from swflow.flows.deadline_watch import deadline_watch
    from swflow.flows.service_project import service_project

    with get_client(sync_client=True) as client:
        created = _ensure_pool(client, pool)
    every = timedelta(minutes=settings.sweep_interval_minutes)
    module = EntrypointType.MODULE_PATH
    deployments = [
        service_project.to_deployment(name="swflow", entrypoint_type=module, work_pool_name=pool),
        deadline_watch.to_deployment(name="swflow", interval=every, entrypoint_type=module, work_pool_name=pool),
    ]
    names = []
    for deployment in deployments:
        runner = cast(RunnerDeployment, deployment)  # outside an event loop: the deployment itself
        runner.apply(work_pool_name=pool)
        names.append(runner.full_name)
    return Deployed(pool, created, names)


def worker_env(settings: Settings | None = None) -> dict[str, str]:
    """The worker's environment: swflow's settings (inherited by every flow run it starts) and
    Prefect's, the worker looking for runs as often as the embedded runner does."""
    settings = settings or get_settings()
    env = {**os.environ, **prefect_env(settings)}
    env["PREFECT_WORKER_QUERY_SECONDS"] = str(settings.runner_poll_seconds)
    return env


def worker_argv(pool: str, limit: int | None, name: str | None) -> list[str]:
    argv = [sys.executable, "-m", "swflow.flows.worker", "--pool", pool]
    argv += ["--name", name or f"swflow-{socket.gethostname()}-{os.getpid()}"]
    if limit is not None:
        argv += ["--limit", str(limit)]
    return argv
