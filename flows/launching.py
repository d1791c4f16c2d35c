"""Launching a project: the archive first, then its run — so a busy or stopped orchestration
server delays a project and never loses it, and no run ever exists without its project."""

from __future__ import annotations

from swflow.config.clock import system_clock
from swflow.config.errors import SwflowError
from swflow.domain import LaunchPlan, record_launch
from swflow.domain.projects.recovery import attach_run
from swflow.flows.control import start_project_run

__all__ = ["launch_project"]


def launch_project(plan: LaunchPlan) -> str | None:
    """Record the project, then create its run (a repeated create gets the same run). Returns the
    run id, or None when the server could not take it now: serve's reconciler creates it later."""
    record_launch(plan, None, system_clock())
    try:
        run_id = start_project_run(plan.project_id)
    except SwflowError:
        return None
    attach_run(plan.project_id, run_id, system_clock())
    return run_id
