"""A sensitive service area (§5.5 community corrections) through the CLI: the plan needs the
supervisor and then the director; the approved schedule becomes the execution's work items;
the evaluation shows baseline against post for each indicator."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import form_data
from tests.support.swflow_proc import Home, wait_for

pytestmark = pytest.mark.prefect

WORKER, SUPERVISOR, DIRECTOR, MANAGER = "wang.worker", "li.supervisor", "chen.director", "zhou.pm"


def open_items(home: Home, project: str, stage: str) -> list[dict[str, str]]:
    s = home.stage(project, stage)
    return [i for i in s["work_items"] if i["round"] == s["round"] and i["status"] == "open"]


def submit_all(home: Home, project: str, stage: str, tmp_path: Path) -> list[dict[str, str]]:
    items = wait_for(f"{stage} to open", lambda: open_items(home, project, stage))
    for item in items:
        extra = ["--activity", item["activity"]] if item["activity"] else []
        home.cli(
            "submit",
            project,
            item["form"],
            "--by",
            item["assignee"],
            "--data",
            str(form_data(tmp_path, item["form"])),
            *extra,
        )
    return items


def test_corrections_project_needs_both_approvals_and_turns_the_schedule_into_work(
    served: Home, tmp_path: Path
) -> None:
    project = served.cli(
        "launch",
        "community-corrections",
        "--name",
        "社区矫正对象社会适应",
        "--community",
        "幸福社区",
        "--manager",
        MANAGER,
        "--supervisor",
        SUPERVISOR,
        "--worker",
        WORKER,
    ).stdout.strip()
    submit_all(served, project, "assessment", tmp_path)
    served.cli("approve", project, "assessment", "--by", SUPERVISOR)

    submit_all(served, project, "planning", tmp_path)
    early = served.cli("approve", project, "planning", "--by", DIRECTOR, check=False)
    assert early.returncode == 3 and "不是本阶段的审核人" in early.stderr  # the supervisor goes first
    step_one = served.cli("approve", project, "planning", "--by", SUPERVISOR)
    assert "下一步审核" in step_one.stdout
    planning = served.stage(project, "planning")
    assert planning["status"] == "awaiting_decision" and planning["gate"]["step"] == 2
    assert planning["waiting_on"] == [DIRECTOR]
    assert served.stage(project, "execution")["status"] == "pending"  # not passed on one approval
    again = served.cli("approve", project, "planning", "--by", SUPERVISOR, check=False)
    assert again.returncode == 3 and "机构负责人" in again.stderr  # step two is the director's
    served.cli("approve", project, "planning", "--by", DIRECTOR)

    items = submit_all(served, project, "execution", tmp_path)
    activities = sorted(i["activity"] for i in items if i["activity"])
    assert activities == ["a1", "a2"]  # the sample schedule has two activities
    records = [i for i in items if i["activity"]]
    assert {i["assignee"] for i in records} == {WORKER}
    assert records[0]["due_at"][:10] != records[1]["due_at"][:10]  # each activity has its own due date
    served.cli("approve", project, "execution", "--by", SUPERVISOR)

    submit_all(served, project, "evaluation", tmp_path)
    served.cli("approve", project, "evaluation", "--by", SUPERVISOR)
    served.cli("approve", project, "evaluation", "--by", DIRECTOR)
    wait_for("completion", lambda: served.json("status", project)["status"] == "completed")

    report = served.json("indicators", project)
    rows = {r["indicator"]: r for r in report["indicators"]}
    visits = rows["服务对象每周获得探访的比例"]
    assert (visits["baseline"], visits["target"], visits["post"], visits["met"]) == (35, 80, 82, True)
    assert visits["change"] == 47
    loneliness = rows["孤独感量表平均分"]
    assert (loneliness["direction"], loneliness["met"]) == ("decrease", True)
    assert report["scorecard"]["total"] is not None and report["scorecard"]["unscored"] == []
