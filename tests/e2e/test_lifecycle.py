"""The whole lifecycle through the CLI, each command its own process, as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from swflow.app.receiver import Receiver
from tests.conftest import form_data
from tests.support.swflow_proc import Home, wait_for

pytestmark = pytest.mark.prefect

WORKER, SUPERVISOR, MANAGER = "wang.worker", "li.supervisor", "zhou.pm"


def launch(home: Home, name: str = "邻里守望") -> str:
    out = home.cli(
        "launch",
        "elderly-care-brief",
        "--name",
        name,
        "--community",
        "幸福社区",
        "--manager",
        MANAGER,
        "--supervisor",
        SUPERVISOR,
        "--worker",
        WORKER,
    )
    return out.stdout.strip()


def open_forms(home: Home, project: str, stage: str) -> list[str]:
    s = home.stage(project, stage)
    return [i["form"] for i in s["work_items"] if i["round"] == s["round"] and i["status"] == "open"]


def waiting_at_the_first_gate(home: Home, tmp_path: Path, name: str) -> tuple[str, str]:
    """A launched project whose assessment is submitted and whose run is suspended at the gate."""
    project = launch(home, name)
    wait_for("assessment open", lambda: open_forms(home, project, "assessment"))
    data = str(form_data(tmp_path, "needs-assessment"))
    home.cli("submit", project, "needs-assessment", "--by", WORKER, "--data", data)
    run_id = str(home.json("status", project)["flow_run_id"])
    wait_for("the run to suspend at the gate", lambda: home.run_state(run_id) == "Suspended")
    return project, run_id


def test_service_project_runs_all_four_stages_through_the_cli(served: Home, receiver: Receiver, tmp_path: Path) -> None:
    project = launch(served)
    stages = [s["key"] for s in served.json("status", project)["stages"]]
    assert stages == ["assessment", "planning", "execution", "evaluation"]
    for key in stages:
        for form in wait_for(f"{key} to open", lambda k=key: open_forms(served, project, k)):
            served.cli("submit", project, form, "--by", WORKER, "--data", str(form_data(tmp_path, form)))
        if key == "assessment":
            served.cli("return", project, key, "--by", SUPERVISOR, "--comment", "请补充社区资源")
            wait_for("round 2", lambda: served.stage(project, "assessment")["round"] == 2)
            data = form_data(tmp_path, "needs-assessment-revised")
            served.cli("submit", project, "needs-assessment", "--by", WORKER, "--data", str(data))
        served.cli("approve", project, key, "--by", SUPERVISOR, "--comment", "同意")

    status = wait_for("completion", lambda: (s := served.json("status", project))["status"] == "completed" and s)
    assert [s["status"] for s in status["stages"]] == ["approved"] * 4
    assert [d["outcome"] for d in status["stages"][0]["decisions"]] == ["return", "approve"]
    assert status["stages"][0]["round"] == 2

    run_id = status["flow_run_id"]
    wait_for("messages sent", lambda: served.json("status", project)["messages"]["pending"] == 0)
    events = served.events(project)
    kinds = [e["kind"] for e in events]
    assert kinds.count("form.submitted") == 5 and kinds.count("gate.decided") == 5
    assert kinds.count("message.sent") >= 10
    for event in events:
        if event["kind"] in ("form.submitted", "gate.decided", "message.sent", "stage.opened"):
            assert event["flow_run_id"] == run_id, event
    assert served.run_state(run_id) == "Completed"
    # the run's state travels with each event; Prefect's state history is copied into the archive
    assert {e["run_state"] for e in events if e["kind"] == "form.submitted"} <= {"Suspended", "Running"}
    assert "Suspended" in {e["run_state"] for e in events if e["kind"] == "gate.decided"}
    events = wait_for(
        "the final state copied",
        lambda: (ev := served.events(project)) and any("Completed" in e["payload"].get("names", []) for e in ev) and ev,
    )
    copies = [e["payload"] for e in events if e["kind"] == "run.history_copied"]
    assert {"Suspended", "Running", "Completed"} <= {name for c in copies for name in c["names"]}
    assert sum(c["new_states"] for c in copies) == copies[-1]["total"]  # each state stored once
    artifact = served.api_get(f"/artifacts/{project.lower()}-assessment/latest").json()
    assert "需求评估" in artifact["data"] and "赵某某" not in artifact["data"]

    # the worker heard of each opened stage round (5), the supervisor of each approval request (5)
    assert len(receiver.for_path(f"/{WORKER}")) >= 5
    assert len(receiver.for_path(f"/{SUPERVISOR}")) >= 5
    sensitive = "赵某某"  # key_cases in the sample assessment: must never leave the archive
    assert all(sensitive not in str(body) for _, body in receiver.messages)
    assert served.cli("archive", "verify", project).returncode == 0

    # a supervisor's free text (it may name a person) stays in the archive: not in the run's inputs
    # (the gate text and the decisions it was resumed with) nor in any artifact of the run
    answers = [
        served.api_post(f"/flow_runs/{run_id}/input/filter", json={"prefix": "", "limit": 1000}),
        served.api_post("/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [run_id]}}, "limit": 200}),
    ]
    assert [a.status_code for a in answers] == [200, 200], [a.text[:300] for a in answers]
    inputs, artifacts = (a.json() for a in answers)
    assert isinstance(inputs, list) and inputs and isinstance(artifacts, list) and artifacts
    shown = json.dumps([inputs, artifacts], ensure_ascii=False)
    assert "请补充社区资源" not in shown and "需求评估" in shown


def test_wrong_person_cannot_decide_and_is_told_why(served: Home, tmp_path: Path) -> None:
    project = launch(served, "四眼原则")
    wait_for("assessment open", lambda: open_forms(served, project, "assessment"))
    early = served.cli("approve", project, "assessment", "--by", SUPERVISOR, check=False)
    assert early.returncode == 3 and "未提交" in early.stderr
    served.cli(
        "submit",
        project,
        "needs-assessment",
        "--by",
        WORKER,
        "--data",
        str(form_data(tmp_path, "needs-assessment")),
    )
    by_worker = served.cli("approve", project, "assessment", "--by", WORKER, check=False)
    assert by_worker.returncode == 3 and "审核人" in by_worker.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("target_count: 0\n", encoding="utf-8")
    refused = served.cli("submit", project, "needs-assessment", "--by", WORKER, "--data", str(bad), check=False)
    assert refused.returncode == 2 and "target_count" in refused.stderr and "必填" in refused.stderr


def test_commands_say_how_to_start_the_server_when_it_is_not_running(fresh_home: Home) -> None:
    home = fresh_home
    result = home.cli(
        "launch",
        "elderly-care-brief",
        "--name",
        "x",
        "--community",
        "y",
        "--manager",
        MANAGER,
        "--supervisor",
        SUPERVISOR,
        "--worker",
        WORKER,
        check=False,
    )
    assert result.returncode == 0  # recorded, waiting for its run: nothing is lost for a stopped server
    assert "swflow serve" in result.stderr
    [project] = home.json("status")
    assert project["run_state"] == "Waiting"

    recover = home.cli("recover", project["id"], check=False)  # needs the server: says how to start it
    assert recover.returncode == 1
    assert "swflow serve" in recover.stderr and "Traceback" not in recover.stderr


def test_sweep_reminds_the_worker_and_the_watch_is_scheduled_in_serve(
    served: Home, receiver: Receiver, tmp_path: Path
) -> None:
    project = launch(served, "期限提醒")
    stage = wait_for(
        "assessment open", lambda: served.stage(project, "assessment")["due_at"] and served.stage(project, "assessment")
    )
    before = len(receiver.for_path(f"/{WORKER}"))
    later = stage["due_at"][:10] + "T10:00:00+08:00"  # the morning of the due date
    report = json.loads(served.cli("sweep", "--now", later, "--json").stdout)
    # this project's assessment (other tests' projects in the shared home may be due as well)
    assert report["escalated"] >= 1 and report["messages"] >= 2  # the worker and the manager
    again = json.loads(served.cli("sweep", "--now", later, "--json").stdout)
    assert again["escalated"] == 0
    served.cli("notifications", "dispatch", SWFLOW_NOW=later)  # the messages belong to that morning
    reminders = wait_for(
        "the reminder to arrive", lambda: [b for b in receiver.for_path(f"/{WORKER}")[before:] if "期限提醒" in str(b)]
    )
    assert any(project in str(r) for r in reminders)
    events = [e for e in served.events(project) if e["kind"] == "deadline.escalated"]
    assert [e["payload"]["step"] for e in events] == ["due"]  # caught up once: not reminder, then due
    watch = served.api_get("/deployments/name/deadline-watch/swflow").json()
    assert watch["schedules"] and watch["schedules"][0]["schedule"]["interval"] > 0
