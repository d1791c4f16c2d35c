"""Past one machine (issue 18), measured on the cluster of app/local_cluster.py (the README's roles on
this machine: Prefect API on PostgreSQL with its services apart, workers, dispatcher, reconciler).

Run by hand (PostgreSQL and Redis as on the development machines):
  .venv/bin/python bench/cluster.py resume 40        # CPU per gate resume on a worker, fork vs cold
  .venv/bin/python bench/cluster.py lifecycle 10     # launch → closed: embedded serve vs cluster, one run
  .venv/bin/python bench/cluster.py memory 10000 1000  # the API's memory with N runs waiting at gates

CPU is read from /proc: a worker machine's processes (utime+stime, and cutime+cstime of the children
they have reaped, so a flow-run process that ended is counted by its parent). One resume = the decision
applied, the next stage opened, the run suspended at the next gate.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from _served import launch, run_to_end, served_home, step  # noqa: E402

from swflow.app.local_cluster import LocalCluster, backing_services_problem  # noqa: E402
from swflow.app.receiver import Receiver  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
PACE = {"SWFLOW_HOLD_OUTSIDE_WORKING_HOURS": "false", "SWFLOW_RUNNER_POLL_SECONDS": "1"}


def _cpu(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / TICK


def _rss_mib(pids: list[int]) -> float:
    kib = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    kib += int(line.split()[1])
        except OSError:
            continue
    return kib / 1024


def _use(cluster: LocalCluster) -> None:
    """This process acts on the cluster's archive and API (the in-process drivers of _served)."""
    os.environ.update({k: v for k, v in cluster.machine_env("bench").items() if k.startswith("SWFLOW_")})
    from swflow.config.settings import get_settings

    get_settings.cache_clear()


def _suspended(cluster: LocalCluster) -> int:
    body = {"flow_runs": {"state": {"name": {"any_": ["Suspended"]}}}}
    return int(httpx.post(f"{cluster.api}/flow_runs/count", json=body, headers=cluster.headers, timeout=60).json())


def _wait(what: str, check: Any, timeout: float = 3600) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.5)


def _at_first_gate(cluster: LocalCluster, n: int) -> list[str]:
    """N projects launched, assessment submitted, each run suspended at its first gate."""
    from swflow.app.samples import form_samples

    samples = form_samples()
    projects = [launch(name=f"集群基准 {i}") for i in range(n)]
    _wait("the assessments to open", lambda: _suspended(cluster) >= n)
    for project in projects:
        step(project, samples)  # submits the assessment
    return projects


def _cluster(receiver: Receiver, label: str, start: str = "forkserver") -> LocalCluster:
    pace = {**PACE, "SWFLOW_FLOW_START": start}
    cluster = LocalCluster(Path(tempfile.mkdtemp(prefix=f"swflow-bench-{label}-")), receiver.url, 14, pace)
    cluster.up(workers=1, dispatchers=1, reconcilers=1, web=False)
    _use(cluster)
    return cluster


def _resume_cost(receiver: Receiver, start: str, n: int) -> float:
    """CPU seconds the worker machine spends on N resumes (assessment approved → planning open →
    suspended), less what it spends polling when idle over the same time."""
    from swflow import domain
    from swflow.config.clock import system_clock
    from swflow.flows.control import resume_gate

    cluster = _cluster(receiver, f"resume-{start}", start)
    try:
        projects = _at_first_gate(cluster, n)
        time.sleep(2)  # the last suspended processes exit
        idle_from, idle_at = _cpu(cluster.processes("worker-1")), time.monotonic()
        time.sleep(10)  # what the idle worker spends polling, per second
        idle = (_cpu(cluster.processes("worker-1")) - idle_from) / (time.monotonic() - idle_at)
        before, t0 = _cpu(cluster.processes("worker-1")), time.monotonic()
        for project in projects:
            decided = domain.record_decision(project, "assessment", "li.supervisor", "approve", "", system_clock())
            resume_gate(str(decided.flow_run_id), decided.decision_id)
        _wait("every run at its next gate", lambda: _planning_open(projects) and _suspended(cluster) >= n)
        time.sleep(2)
        spent, window = _cpu(cluster.processes("worker-1")) - before, time.monotonic() - t0
        rss = _rss_mib(cluster.processes("worker-1"))  # the worker, and its fork server when forking
        print(
            f"  {start}: {spent:.1f} CPU s in {window:.1f} s for {n} resumes; idle worker {idle:.3f} CPU s/s,"
            f" {rss:.0f} MiB resident between runs",
            flush=True,
        )
        return spent - idle * window
    finally:
        cluster.down()


def resume(n: int) -> None:
    """CPU per resume on the worker machine, forked runs against Prefect's cold start, one run."""
    print(f"{'start':>10} {'resumes':>8} {'net CPU s':>10} {'CPU/resume':>11} {'resumes/h/core':>15}")
    with Receiver() as receiver:
        for start in ("forkserver", "spawn"):
            spent = _resume_cost(receiver, start, n)
            print(f"{start:>10} {n:>8} {spent:>10.1f} {spent / n:>11.3f} {3600 / (spent / n):>15.0f}", flush=True)
    print(f"reproduce: .venv/bin/python bench/cluster.py resume {n}")


def _planning_open(projects: list[str]) -> bool:
    from swflow import domain

    return all(
        next(s for s in domain.project_status(p)["stages"] if s["key"] == "planning")["status"] == "open"
        for p in projects
    )


def _launch_to_end(n: int, label: str) -> float:
    """Seconds for N projects from launch to closed, launches included."""
    t0 = time.monotonic()
    run_to_end([launch(name=f"{label} {i}") for i in range(n)])
    return time.monotonic() - t0


def lifecycle(n: int) -> None:
    """N projects launch → closed on the embedded serve, then on the cluster (1 worker), one run."""
    from swflow.config.settings import get_settings

    with Receiver() as receiver:
        home = served_home(receiver, "lifecycle-embedded")
        try:
            embedded = _launch_to_end(n, "嵌入")
        finally:
            home.stop_serve()
        for name in [k for k in os.environ if k.startswith("SWFLOW_")]:
            del os.environ[name]
        get_settings.cache_clear()
        cluster = _cluster(receiver, "lifecycle-cluster")
        try:
            clustered = _launch_to_end(n, "集群")
        finally:
            cluster.down()
    print(f"{'projects':>8} {'embedded s':>11} {'cluster s':>10} {'ratio':>6}")
    print(f"{n:>8} {embedded:>11.1f} {clustered:>10.1f} {clustered / embedded:>6.2f}")
    print(f"reproduce: .venv/bin/python bench/cluster.py lifecycle {n}")


def _suspend_directly(cluster: LocalCluster, count: int) -> None:
    """`count` runs of the service-project deployment put straight into Suspended (as a gate leaves
    them: paused, to be rescheduled, under a pause key), without a flow run process: the API's rows
    and indexes as N waiting projects make them, at a fraction of the cost of running them there."""
    api, headers = cluster.api, cluster.headers
    dep = httpx.get(f"{api}/deployments/name/service-project/swflow", headers=headers, timeout=30).json()["id"]
    with httpx.Client(headers=headers, timeout=60) as client:
        for i in range(count):
            run = client.post(f"{api}/deployments/{dep}/create_flow_run", json={"parameters": {"project_id": f"S{i}"}})
            state = {
                "type": "PAUSED",
                "name": "Suspended",
                "state_details": {"pause_key": "assessment:r1:a1", "pause_reschedule": True},
            }
            client.post(f"{api}/flow_runs/{run.json()['id']}/set_state", json={"state": state, "force": True})


def memory(n: int, real: int = 1000, batch: int = 200) -> None:
    """The Prefect API's and services' resident memory with N runs waiting at gates: `real` swflow
    projects launched and suspended at their first gate by the worker, the rest put into Suspended
    directly through the API (see `_suspend_directly`)."""
    with Receiver() as receiver:
        cluster = _cluster(receiver, "memory")
        try:
            print(f"{'waiting':>8} {'API MiB':>8} {'services MiB':>13} {'elapsed s':>10}", flush=True)
            t0, launched, peak = time.monotonic(), 0, 0.0

            def report() -> None:
                nonlocal peak
                rss = _rss_mib(cluster.processes("prefect-api")), _rss_mib(cluster.processes("prefect-services"))
                peak = max(peak, rss[0])
                print(
                    f"{_suspended(cluster):>8} {rss[0]:>8.1f} {rss[1]:>13.1f} {time.monotonic() - t0:>10.0f}",
                    flush=True,
                )

            while launched < min(real, n):
                size = min(batch, real - launched)
                for i in range(size):
                    launch(name=f"内存 {launched + i}")
                launched += size
                _wait(f"{launched} suspended", lambda want=launched: _suspended(cluster) >= want)
                report()
            while launched < n:
                size = min(1000, n - launched)
                _suspend_directly(cluster, size)
                launched += size
                report()
            print(
                f"peak API RSS seen: {peak:.1f} MiB; {real} real projects, {max(0, n - real)} runs suspended directly"
            )
        finally:
            cluster.down()
    print(f"reproduce: .venv/bin/python bench/cluster.py memory {n} {real}")


if __name__ == "__main__":
    problem = backing_services_problem()
    if problem is not None:
        raise SystemExit(problem)
    mode, counts = sys.argv[1], [int(a) for a in sys.argv[2:]]
    {"resume": resume, "lifecycle": lifecycle, "memory": memory}[mode](*counts)  # type: ignore[operator]
