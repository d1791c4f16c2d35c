"""No project is ever stranded: whatever stops serve, a flow-run process or Prefect's own database,
the project goes on from what the archive recorded — nothing lost, nothing done twice, the manager told."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections import Counter
from contextlib import closing
from pathlib import Path

import pytest

from tests.e2e.test_crash_recovery import api_down
from tests.e2e.test_lifecycle import MANAGER, SUPERVISOR, open_forms, waiting_at_the_first_gate
from tests.support.swflow_proc import Home, wait_for

pytestmark = pytest.mark.prefect


def goes_on_to_planning(home: Home, project: str) -> None:
    """The approval reaches the project: planning opens once, its run waits at the planning gate."""
    wait_for("planning to open", lambda: open_forms(home, project, "planning"), timeout=180)
    run_id = str(home.json("status", project)["flow_run_id"])
    wait_for("the run to wait at the planning gate", lambda: home.run_state(run_id) == "Suspended", timeout=120)
    kinds = Counter(e["kind"] for e in home.events(project))
    assert kinds["gate.decided"] == 1 and kinds["stage.approved"] == 1
    assert kinds["stage.opened"] == 2  # assessment once, planning once: nothing redone
    assert home.stage(project, "assessment")["status"] == "approved"
    assert home.cli("archive", "verify", project).returncode == 0


def recoveries(home: Home, project: str) -> list[dict[str, object]]:
    return [e for e in home.events(project) if e["kind"] == "run.recovered"]


@pytest.mark.parametrize(
    ("sig", "after"),
    [(signal.SIGKILL, 0.3), (signal.SIGKILL, 3.0), (signal.SIGTERM, 1.5)],
    ids=["kill-0.3s", "kill-3s", "term-1.5s"],  # the moment in between: the process-killed test below
)
def test_approval_reaches_the_project_whenever_serve_is_stopped(
    fresh_home: Home, tmp_path: Path, sig: int, after: float
) -> None:
    home = fresh_home
    home.start_serve()
    project, _ = waiting_at_the_first_gate(home, tmp_path, "断电恢复")
    home.cli("approve", project, "assessment", "--by", SUPERVISOR)
    time.sleep(after)  # the fault is injected this long after the decision: not waiting for time to pass
    home.stop_serve(sig)
    wait_for("the server to go with it", lambda: api_down(home.api), timeout=60)

    home.start_serve()
    goes_on_to_planning(home, project)
    if sig == signal.SIGTERM:  # a graceful stop let the run reach its next gate: nothing to recover
        assert recoveries(home, project) == []


def _flow_process_of(home: Home, run_id: str) -> int | None:
    """The pid of the process executing this flow run, as the run says it (`flows.alive.pid_file`)."""
    path = home.path / "runs" / f"{run_id}.pid"
    try:
        return int(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _kinds(home: Home, project: str) -> list[str]:
    """The project's event kinds, read straight from the archive file (the CLI takes a second)."""
    with closing(sqlite3.connect(f"file:{home.path / 'archive.db'}?mode=ro", uri=True, timeout=5)) as archive:
        query = "SELECT kind FROM events WHERE stream = ? ORDER BY seq"
        return [kind for (kind,) in archive.execute(query, (f"project:{project}",))]


def test_flow_process_killed_while_it_opens_a_stage_is_recovered(fresh_home: Home, tmp_path: Path) -> None:
    """Killed between applying the approval and opening the next stage: the moment is found by
    watching the archive, and a kill that came too late (planning already open) is tried again on
    another project, so the test proves the case it names."""
    home = fresh_home
    home.start_serve()
    for attempt in range(3):
        (tmp_path / str(attempt)).mkdir()
        project, run_id = waiting_at_the_first_gate(home, tmp_path / str(attempt), f"进程被杀{attempt}")
        home.cli("approve", project, "assessment", "--by", SUPERVISOR)
        pid = wait_for("the resumed run's process", lambda r=run_id: _flow_process_of(home, r), every=0.05)
        wait_for("the approval applied", lambda p=project: "stage.approved" in _kinds(home, p), every=0.005)
        os.kill(pid, signal.SIGKILL)
        if _kinds(home, project).count("stage.opened") == 1:  # planning not opened yet: the case
            break
    else:
        pytest.fail("three kills all came after planning had opened: the window was never hit")

    recovered = wait_for("the recovery", lambda: recoveries(home, project), timeout=120)
    assert recovered[0]["payload"]["old_flow_run_id"] == run_id
    goes_on_to_planning(home, project)
    assert home.json("status", project)["flow_run_id"] != run_id


def test_project_goes_on_when_prefect_loses_its_database(fresh_home: Home, tmp_path: Path) -> None:
    home = fresh_home
    home.start_serve()
    project, old_run = waiting_at_the_first_gate(home, tmp_path, "数据库丢失")
    home.stop_serve()
    (home.path / "prefect").rename(home.path / "prefect-lost")  # the database, its WAL, everything

    home.start_serve()  # a new, empty Prefect database: the project's run is unknown there
    recovered = wait_for("the recovery", lambda: recoveries(home, project), timeout=120)
    assert recovered[0]["payload"]["old_flow_run_id"] == old_run
    assert "找不到" in str(recovered[0]["payload"]["reason"])
    new_run = str(home.json("status", project)["flow_run_id"])
    assert new_run != old_run
    wait_for("the new run to wait at the gate", lambda: home.run_state(new_run) == "Suspended", timeout=120)

    home.cli("approve", project, "assessment", "--by", SUPERVISOR)
    goes_on_to_planning(home, project)
    told = [m for m in home.json("notifications", "list") if m["template"] == "run_recovered"]
    assert [m["recipient"] for m in told] == [MANAGER]


def test_run_cancelled_from_the_prefect_ui_is_recovered(served: Home, tmp_path: Path) -> None:
    project, run_id = waiting_at_the_first_gate(served, tmp_path, "界面取消")
    cancelled = served.api_post(
        f"/flow_runs/{run_id}/set_state", json={"state": {"type": "CANCELLED", "name": "Cancelled"}, "force": True}
    )
    assert cancelled.status_code < 300, cancelled.text

    recovered = wait_for("the recovery", lambda: recoveries(served, project), timeout=60)
    assert "Cancelled" in str(recovered[0]["payload"]["prefect_state"])
    new_run = str(served.json("status", project)["flow_run_id"])
    wait_for("the new run to wait at the gate", lambda: served.run_state(new_run) == "Suspended", timeout=120)
    served.cli("approve", project, "assessment", "--by", SUPERVISOR)
    goes_on_to_planning(served, project)


def test_launch_while_the_server_is_down_waits_for_its_run(fresh_home: Home) -> None:
    home = fresh_home
    from tests.e2e.test_lifecycle import launch

    project = launch(home, "先记录后运行")  # no serve: recorded, waiting for its run
    status = home.json("status", project)
    assert status["flow_run_id"] is None and status["run_state"] == "Waiting"
    assert "swflow serve" in home.cli("status", project).stdout

    home.start_serve()
    wait_for("assessment to open", lambda: open_forms(home, project, "assessment"), timeout=120)
    kinds = [e["kind"] for e in home.events(project)]
    assert kinds.count("run.started") == 1 and "run.recovered" not in kinds


def test_the_embedded_api_refuses_a_caller_without_the_secret(served: Home) -> None:
    import httpx

    assert httpx.get(f"{served.api}/health", timeout=5).status_code == 200  # probes stay open
    refused = httpx.post(f"{served.api}/flow_runs/filter", json={}, timeout=5)
    assert refused.status_code == 401
    assert served.api_post("/flow_runs/filter", json={"limit": 1}).status_code == 200
    assert oct((served.path / "swflow.env").stat().st_mode & 0o777) == "0o600"


def test_replayed_decisions_are_refused_and_never_spin_the_run(served: Home, tmp_path: Path) -> None:
    """Anyone on the machine could POST a resume with an earlier round's decision id: each is refused
    once, the gate suspends again under a new key, and the run does a bounded amount of work."""
    from tests.conftest import form_data
    from tests.e2e.test_lifecycle import WORKER

    project, run_id = waiting_at_the_first_gate(served, tmp_path, "重放决定")
    data = str(form_data(tmp_path, "needs-assessment"))
    for n in (1, 2):
        served.cli("return", project, "assessment", "--by", SUPERVISOR, "--comment", f"第{n}次退回")
        wait_for(f"round {n + 1}", lambda n=n: open_forms(served, project, "assessment") and n + 1)
        served.cli("submit", project, "needs-assessment", "--by", WORKER, "--data", data)
        wait_for("suspended", lambda: served.run_state(run_id) == "Suspended")
    earlier = [d["id"] for d in served.stage(project, "assessment")["decisions"]]
    assert len(earlier) == 2

    for decision_id in earlier:
        # The server accepts a resume only once the run is suspended with its input schema saved: a run
        # still on its way there answers ABORT or "schema not found", and the forger tries again.
        wait_for(
            "the server to take the replay",
            lambda d=decision_id: (
                served.api_post(f"/flow_runs/{run_id}/resume", json={"run_input": {"decision_id": d}})
                .json()
                .get("status")
                == "ACCEPT"
            ),
        )
        wait_for(
            "the refusal",
            lambda d=decision_id: [
                e for e in served.events(project) if e["kind"] == "gate.input_refused" and e["payload"]["given"] == d
            ],
        )
        wait_for("suspended again", lambda: served.run_state(run_id) == "Suspended")
    kinds = Counter(e["kind"] for e in served.events(project))
    assert kinds["gate.input_refused"] == 2 and kinds["stage.returned"] == 2
    assert served.stage(project, "assessment")["round"] == 3
    task_runs = served.api_post("/task_runs/count", json={"flow_runs": {"id": {"any_": [run_id]}}}).json()
    assert task_runs < 120  # a spin made thousands

    served.cli("approve", project, "assessment", "--by", SUPERVISOR)
    wait_for("planning to open", lambda: open_forms(served, project, "planning"), timeout=120)


def test_twenty_launches_at_once_all_get_their_run(served: Home) -> None:
    """A burst that made the embedded server answer 503: every launch is recorded, every project runs."""
    import subprocess
    import sys

    from tests.e2e.test_lifecycle import WORKER

    argv = ["launch", "elderly-care-brief", "--community", "幸福社区", "--manager", MANAGER, "--supervisor", SUPERVISOR]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "swflow.app.cli", *argv, "--name", f"并发启动{n}", "--worker", WORKER],
            env=served.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(20)
    ]
    answers = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    assert [code for code, _, _ in answers] == [0] * 20, [err for code, _, err in answers if code]
    assert not [err for _, _, err in answers if "Traceback" in err]
    projects = [out.strip() for _, out, _ in answers]
    for project in projects:
        wait_for(f"{project} to open its first stage", lambda p=project: open_forms(served, p, "assessment"), 300)
    runs = {served.json("status", p)["flow_run_id"] for p in projects}
    assert None not in runs and len(runs) == 20


def test_operator_recovers_a_project_by_hand_and_is_recorded_as_the_os_user(served: Home, tmp_path: Path) -> None:
    import getpass

    project, old_run = waiting_at_the_first_gate(served, tmp_path, "手动接续")
    healthy = served.cli("recover", project)
    assert "运行正常" in healthy.stdout and not recoveries(served, project)

    forced = served.cli("recover", project, "--force")
    assert "已接续" in forced.stdout
    [event] = recoveries(served, project)
    assert event["actor"] == f"cli:{getpass.getuser()}" and event["payload"]["old_flow_run_id"] == old_run
    new_run = str(served.json("status", project)["flow_run_id"])
    wait_for("the old run to be cancelled", lambda: served.run_state(old_run) == "Superseded")
    wait_for("the new run to wait at the gate", lambda: served.run_state(new_run) == "Suspended", timeout=120)
    served.cli("approve", project, "assessment", "--by", SUPERVISOR)
    goes_on_to_planning(served, project)
