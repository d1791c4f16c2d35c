"""Lifecycle throughput: N projects from launch to closed, beside a bare Prefect flow with the
same tasks, suspends and resumes (no swflow logic), on one local server.

Run by hand:  .venv/bin/python bench/lifecycle.py 10 [100]
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from _served import launch, run_to_end, served_home  # noqa: E402

from swflow.app.receiver import Receiver  # noqa: E402

HEADERS: dict[str, str] = {}  # the embedded API's basic auth (set from the served home)


def _create(url: str) -> str:
    """Create a run, waiting out a busy server (503) the way swflow's own calls do."""
    for attempt in range(8):
        response = httpx.post(url, json={}, timeout=30, headers=HEADERS)
        if response.status_code != 503:
            response.raise_for_status()
            return str(response.json()["id"])
        time.sleep(min(8.0, 0.5 * 2**attempt))
    raise SystemExit("the server stayed busy")


def bare_peer(api: str, env: dict[str, str], n: int) -> float:
    """N runs of bench/bare_flow.py: 4 tasks per gate-stage and 4 suspends, resumed by REST."""
    runner = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "bare_flow.py")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while httpx.get(f"{api}/deployments/name/bare-lifecycle/bench", headers=HEADERS).status_code != 200:
            if time.monotonic() > deadline:
                raise SystemExit("bare deployment did not register")
            time.sleep(0.5)
        dep = httpx.get(f"{api}/deployments/name/bare-lifecycle/bench", headers=HEADERS).json()["id"]
        start = time.monotonic()
        runs = [_create(f"{api}/deployments/{dep}/create_flow_run") for _ in range(n)]
        done: set[str] = set()
        while len(done) < n:
            for run in runs:
                if run in done:
                    continue
                state = httpx.get(f"{api}/flow_runs/{run}", headers=HEADERS).json()["state"]
                if state["type"] == "COMPLETED":
                    done.add(run)
                elif state["name"] == "Suspended":
                    httpx.post(f"{api}/flow_runs/{run}/resume", json={"run_input": {"value": 1}}, headers=HEADERS)
            time.sleep(0.2)
        return time.monotonic() - start
    finally:
        runner.terminate()
        runner.wait(30)


def _auth() -> dict[str, str]:
    from swflow.config.settings import get_settings

    secret = get_settings().prefect_auth
    return {"PREFECT_API_AUTH_STRING": secret.get_secret_value()} if secret else {}


def main(sizes: list[int]) -> None:
    with Receiver() as receiver:
        home = served_home(receiver, "lifecycle")
        HEADERS.update(home.headers)
        try:
            print(f"{'projects':>8} {'swflow s':>9} {'proj/min':>9} {'bare s':>8} {'runs/min':>9} {'ratio':>6}")
            for n in sizes:
                t0 = time.monotonic()
                projects = [launch(name=f"吞吐 {i}") for i in range(n)]
                run_to_end(projects)
                swflow = time.monotonic() - t0  # launches included
                print(f"  swflow: {n} projects in {swflow:.1f} s", flush=True)
                peer_env = {
                    **home.env,
                    "PREFECT_API_URL": home.api,
                    "PREFECT_RUNNER_POLL_FREQUENCY": "1",
                    "PREFECT_HOME": str(home.path / "prefect"),
                    **_auth(),
                }
                bare = bare_peer(home.api, peer_env, n)
                print(
                    f"{n:>8} {swflow:>9.1f} {n / swflow * 60:>9.1f} {bare:>8.1f} {n / bare * 60:>9.1f}"
                    f" {swflow / bare:>6.2f}"
                )
        finally:
            home.stop_serve()
    print(f"reproduce: .venv/bin/python bench/lifecycle.py {' '.join(map(str, sizes))}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10])
