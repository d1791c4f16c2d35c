"""Talking to the Prefect API on behalf of people: start a project's run, resume a gate."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx

from config.errors import ServerNotRunningError
from config.settings import get_settings, use_prefect_settings

__all__ = ["DEPLOYMENT", "api_is_up", "start_project_run", "resume_gate", "run_state"]

DEPLOYMENT = "service-project/swflow"


def _not_running() -> ServerNotRunningError:
    return ServerNotRunningError(
        f"编排服务未运行（{get_settings().api_url} 无响应）。请在另一个终端运行 `swflow serve`。"
    )


def api_is_up(timeout: float = 1.0) -> bool:
    try:
        return httpx.get(f"{get_settings().api_url}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def start_project_run(project_id: str) -> str:
    """Create the project's flow run from the served deployment; returns its id."""
    if not api_is_up():
        raise _not_running()
    use_prefect_settings()
    from prefect.deployments import run_deployment

    run = run_deployment(DEPLOYMENT, parameters={"project_id": project_id}, timeout=0)
    return str(run.id)


def run_state(flow_run_id: str) -> Any:
    use_prefect_settings()
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(flow_run_id)).state


def resume_gate(flow_run_id: str, decision_id: int) -> bool:
    """Resume a suspended run with a decision id. False when the run is not suspended (yet):
    the flow, or `swflow serve`'s reconciler, picks the decision up from the archive."""
    if not api_is_up():
        return False
    use_prefect_settings()
    from prefect.exceptions import NotPausedError, ObjectNotFound
    from prefect.flow_runs import resume_flow_run

    try:
        resume_flow_run(UUID(flow_run_id), run_input={"decision_id": decision_id})
    except (NotPausedError, ObjectNotFound):
        return False
    return True
