"""Shared by the benchmarks: a served SWFLOW_HOME and in-process drivers for projects."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from swflow.app.local import Home, new_home  # noqa: E402
from swflow.app.receiver import Receiver  # noqa: E402

WORKER, SUPERVISOR, MANAGER = "wang.worker", "li.supervisor", "zhou.pm"


def served_home(receiver: Receiver, label: str) -> Home:
    """A fresh home with sample people and a running `swflow serve`; this process points at it."""
    home = new_home(Path(tempfile.mkdtemp(prefix=f"swflow-bench-{label}-")), receiver.url)
    home.start_serve()
    os.environ.update(home.env)
    from swflow.config.settings import get_settings

    get_settings.cache_clear()
    return home


def launch(template: str = "elderly-care-brief", name: str = "基准项目") -> str:
    from swflow import domain
    from swflow.config.clock import system_clock
    from swflow.flows.launching import launch_project

    plan = domain.prepare_launch(
        domain.LaunchRequest(
            template_id=template,
            name=name,
            community="幸福社区",
            manager_id=MANAGER,
            supervisor_id=SUPERVISOR,
            worker_ids=[WORKER],
        ),
        system_clock().date(),
    )
    launch_project(plan)
    return plan.project_id


def step(project_id: str, samples: dict[str, Any]) -> str:
    """Advance a project by whatever its current stage waits for; returns the project status."""
    from swflow import domain
    from swflow.config.clock import system_clock
    from swflow.flows.control import resume_gate

    status = domain.project_status(project_id)
    if status["status"] != "running":
        return str(status["status"])
    for stage in status["stages"]:
        if stage["status"] == "open":
            for item in stage["work_items"]:
                if item["round"] == stage["round"] and item["status"] == "open":
                    domain.submit_form(
                        project_id,
                        item["form"],
                        item["assignee"],
                        samples[item["form"]],
                        system_clock(),
                        item["activity"] or None,
                    )
            return "running"
        if stage["status"] == "awaiting_decision":
            decided = domain.record_decision(
                project_id, stage["key"], stage["waiting_on"][0], "approve", "", system_clock()
            )
            if decided.final:
                resume_gate(str(decided.flow_run_id), decided.decision_id)
            return "running"
    return "running"


def run_to_end(projects: list[str], timeout: float = 3600) -> float:
    from swflow.app.samples import form_samples

    samples = form_samples()
    start = time.monotonic()
    pending = set(projects)
    while pending and time.monotonic() - start < timeout:
        for project in sorted(pending):
            if step(project, samples) != "running":
                pending.discard(project)
        time.sleep(0.2)
    if pending:
        raise SystemExit(f"{len(pending)} projects did not finish in {timeout:.0f} s")
    return time.monotonic() - start
