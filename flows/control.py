"""Talking to the Prefect API on behalf of people: start a project's run, resume a gate.

Plain REST calls (httpx, which Prefect itself uses): a CLI command that only records a decision
and resumes a run need not pay for importing Prefect (about a second).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from swflow.config.errors import ServerNotRunningError, SwflowError
from swflow.config.settings import api_headers, get_settings

__all__ = [
    "DEPLOYMENT",
    "RunInfo",
    "api_is_up",
    "api_access_problem",
    "start_project_run",
    "read_runs",
    "force_cancel",
    "force_crashed",
    "count_runs",
    "resume_gate",
    "run_state",
    "run_states",
    "describe_gate",
]

DEPLOYMENT = "service-project/swflow"


def _api() -> str:
    return get_settings().api_url


def _headers() -> dict[str, str]:
    return api_headers(get_settings())


def _not_running() -> ServerNotRunningError:
    return ServerNotRunningError(f"编排服务未运行（{_api()} 无响应）。请在另一个终端运行 `swflow serve`。")


def api_is_up(timeout: float = 1.0) -> bool:
    try:
        return httpx.get(f"{_api()}/health", timeout=timeout, headers=_headers()).status_code == 200
    except httpx.HTTPError:
        return False


def api_access_problem(pool: str | None = None) -> str | None:
    """Why swflow cannot work with the API (not answering, the secret refused, `pool` of another
    type), or None. `/health` answers without the secret, so a call that needs it is made."""
    body = {"work_pools": {"name": {"any_": [pool]}}} if pool else {"limit": 1}
    try:
        response = httpx.post(f"{_api()}/work_pools/filter", json=body, timeout=10, headers=_headers())
    except httpx.HTTPError as exc:
        return f"编排服务未运行：Prefect API {_api()} 无响应（{type(exc).__name__}；见 SWFLOW_PREFECT_API_URL）"
    if response.status_code in (401, 403):
        return (
            f"Prefect API {_api()} 拒绝了 swflow 的口令（HTTP {response.status_code}）：SWFLOW_PREFECT_AUTH 应与"
            " API 机器上的 PREFECT_SERVER_API_AUTH_STRING 相同"
        )
    if response.is_error:
        return f"Prefect API {_api()} 答复 HTTP {response.status_code}：{response.text[:200]}"
    found = [p for p in response.json() if pool and p.get("name") == pool]
    if found and found[0].get("type") != "process":
        return f"工作池 {pool} 的类型是 {found[0].get('type')}，swflow 的流程需要 process 类型的工作池"
    return None


REQUEST_TIMEOUT = 30.0  # seconds; an answer later than this counts as "busy"
TIMEOUT_RETRIES = 2  # so a wedged server costs a user at most 3 × REQUEST_TIMEOUT


def _back_off(attempt: int) -> None:
    time.sleep(min(8.0, 0.5 * 2**attempt))


def _call(method: str, path: str, attempts: int = 8, idempotent: bool = False, **kwargs: Any) -> httpx.Response:
    """One API call; a busy server (503: its SQLite is locked by a burst of writes) is retried.
    A timeout or dropped connection is retried too when repeating the call cannot do it twice
    (`idempotent`: a read, or a create carrying an idempotency key); else it is reported."""
    for attempt in range(attempts):
        last = attempt == attempts - 1
        try:
            response = httpx.request(method, f"{_api()}{path}", timeout=REQUEST_TIMEOUT, headers=_headers(), **kwargs)
        except httpx.ConnectError as exc:
            raise _not_running() from exc
        except httpx.TransportError as exc:  # a timeout or a dropped connection: busy, not down
            if idempotent and attempt < TIMEOUT_RETRIES:
                _back_off(attempt)
                continue
            raise ServerNotRunningError(f"编排服务 {_api()} 没有及时响应（{type(exc).__name__}），请稍后再试") from exc
        if response.status_code != 503 or last:
            return response
        _back_off(attempt)
    raise AssertionError("unreachable")


def _check(response: httpx.Response) -> None:
    """An answer that is not a success is the server's refusal: say so as a swflow error."""
    if response.is_error:
        raise SwflowError(
            f"编排服务拒绝了请求 {response.request.method} {response.request.url.path}："
            f"HTTP {response.status_code} {response.text[:200]}"
        )


def start_project_run(project_id: str, idempotency_key: str | None = None) -> str:
    """Create the project's flow run from the served deployment; returns its id. The key (one per
    project, or per recovery) makes a repeated create return the run made the first time."""
    found = _call("GET", f"/deployments/name/{DEPLOYMENT}", idempotent=True)
    if found.status_code == 404:
        raise ServerNotRunningError(
            f"部署 {DEPLOYMENT} 尚未注册：`swflow serve` 正在启动或未运行，请稍后再试"
            "（多台机器时：先运行 `swflow deploy --pool 工作池名`）。"
        )
    _check(found)
    created = _call(
        "POST",
        f"/deployments/{found.json()['id']}/create_flow_run",
        idempotent=True,
        # the idempotency key makes a retried create return the same run instead of a second one
        json={
            "parameters": {"project_id": project_id},
            "name": f"project-{project_id}",
            "idempotency_key": idempotency_key or f"swflow-project-{project_id}",
        },
    )
    _check(created)
    return str(created.json()["id"])


def run_state(flow_run_id: str) -> str | None:
    """The run's state name (Scheduled, Running, Suspended, Completed…), or None when unknown."""
    response = _call("GET", f"/flow_runs/{flow_run_id}", idempotent=True)
    if response.status_code == 404:
        return None
    _check(response)
    state = response.json().get("state") or {}
    return str(state.get("name")) if state else None


def resume_gate(flow_run_id: str, decision_id: int) -> bool:
    """Resume a suspended run with a decision id. False when the server is down or the run is not
    suspended (yet): the flow, or `swflow serve`'s reconciler, then finds the decision itself."""
    try:
        response = httpx.post(
            f"{_api()}/flow_runs/{flow_run_id}/resume",
            json={"run_input": {"decision_id": decision_id}},
            timeout=30,
            headers=_headers(),
        )
    except httpx.HTTPError:
        return False
    if response.status_code == 404 or response.status_code >= 500:
        return False  # gone, or the server is busy: the reconciler tries again
    _check(response)
    result = response.json()
    if result.get("status") == "ACCEPT":
        return True
    if result.get("status") == "ABORT":  # not paused: nothing to resume now
        return False
    reason = (result.get("details") or {}).get("reason")
    if reason and "schema not found" in reason:
        return False  # suspended a moment ago, its input schema not saved yet: the reconciler retries
    raise SwflowError(f"Prefect 拒绝恢复流程 {flow_run_id}：{reason}")


def describe_gate(flow_run_id: str, pause_key: str, text: str) -> bool:
    """Replace the description the Prefect UI shows for a suspended gate (what is to be decided)."""
    import json

    key = f"suspended-{pause_key}-description"
    try:
        httpx.delete(f"{_api()}/flow_runs/{flow_run_id}/input/{key}", timeout=10, headers=_headers())
        response = httpx.post(
            f"{_api()}/flow_runs/{flow_run_id}/input",
            json={"key": key, "value": json.dumps(text, ensure_ascii=False)},
            timeout=10,
            headers=_headers(),
        )
    except httpx.HTTPError:
        return False
    return response.status_code < 300


def run_states(flow_run_id: str) -> list[dict[str, Any]]:
    """The run's state history as Prefect keeps it (empty when the run is unknown)."""
    response = _call("GET", "/flow_run_states/", idempotent=True, params={"flow_run_id": flow_run_id})
    if response.status_code == 404:
        return []
    _check(response)
    return [
        {"id": s["id"], "type": s["type"], "name": s["name"], "timestamp": s["timestamp"], "message": s.get("message")}
        for s in response.json()
    ]


@dataclass(frozen=True)
class RunInfo:
    """A flow run as the server reports it: what the reconciler judges."""

    id: str
    state_type: str  # SCHEDULED, PENDING, RUNNING, PAUSED, COMPLETED, FAILED, CANCELLED, CRASHED, …
    state_name: str
    state_since: datetime  # when it entered this state
    expected_start: datetime | None


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def read_runs(flow_run_ids: list[str], batch: int = 200) -> dict[str, RunInfo]:
    """The runs the server knows among `flow_run_ids`, a request per `batch`; a missing id is a run
    the server has lost."""
    found: dict[str, RunInfo] = {}
    for start in range(0, len(flow_run_ids), batch):
        ids = flow_run_ids[start : start + batch]
        response = _call(
            "POST",
            "/flow_runs/filter",
            idempotent=True,
            json={"flow_runs": {"id": {"any_": ids}}, "limit": len(ids)},
        )
        _check(response)
        for run in response.json():
            state = run.get("state") or {}
            since = _when(state.get("timestamp")) or _when(run.get("created"))
            found[str(run["id"])] = RunInfo(
                id=str(run["id"]),
                state_type=str(state.get("type") or "SCHEDULED"),
                state_name=str(state.get("name") or ""),
                state_since=since or datetime.now(UTC),
                expected_start=_when(run.get("expected_start_time")),
            )
    return found


def _force_state(flow_run_id: str, kind: str, name: str, message: str) -> None:
    response = _call(
        "POST",
        f"/flow_runs/{flow_run_id}/set_state",
        idempotent=True,
        json={"state": {"type": kind, "name": name, "message": message}, "force": True},
    )
    if response.status_code != 404:
        _check(response)


def force_cancel(flow_run_id: str, message: str) -> None:
    """End a run that has been replaced, so that it cannot come back beside its successor."""
    _force_state(flow_run_id, "CANCELLED", "Superseded", message)


def force_crashed(flow_run_id: str, message: str) -> None:
    """Say what is true of a run whose process is known to be gone."""
    _force_state(flow_run_id, "CRASHED", "Crashed", message)


def count_runs(state_types: list[str]) -> int:
    """How many service-project runs are in these states (for a graceful stop)."""
    response = _call(
        "POST",
        "/flow_runs/count",
        idempotent=True,
        json={
            "flow_runs": {"state": {"type": {"any_": state_types}}},
            "deployments": {"name": {"any_": [DEPLOYMENT.split("/")[1]]}},
            "flows": {"name": {"any_": [DEPLOYMENT.split("/")[0]]}},
        },
    )
    _check(response)
    return int(response.json())
