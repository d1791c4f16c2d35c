"""The `deadline_watch` flow: one sweep of due work items and gates, on a schedule in `swflow serve`."""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from swflow.config.clock import system_clock
from swflow.domain.agency import sweep

__all__ = ["deadline_watch", "FLOW_NAME"]

FLOW_NAME = "deadline-watch"


@task(cache_policy=NO_CACHE)
def sweep_once() -> dict[str, object]:
    report = sweep(system_clock())
    return {
        "escalated": report.escalated,
        "skipped_steps": report.skipped_steps,
        "messages": report.messages,
        "at_risk": report.at_risk,
        "reassigned": report.reassigned,
    }


@flow(name=FLOW_NAME, log_prints=True)
def deadline_watch() -> dict[str, object]:
    return sweep_once()
