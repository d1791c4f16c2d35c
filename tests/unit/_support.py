"""Constants shared by the unit tests: the sample team and a fixed moment."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from swflow.config.clock import SHANGHAI

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)  # a Monday with no holiday near it
SAMPLES = Path(__file__).resolve().parents[2] / "app" / "samples"
FLOW_RUN_ID = "00000000-0000-4000-8000-000000000001"  # a fake id: no Prefect here

MANAGER = "zhou.pm"
SUPERVISOR = "li.supervisor"
WORKER = "wang.worker"  # the lead worker: every work item is assigned to them
SECOND_WORKER = "zhao.worker"
DIRECTOR = "chen.director"

UP_TO_EVALUATION = (("assessment", "needs-assessment"), ("planning", "service-plan"), ("execution", "activity-record"))


def pass_up_to_evaluation(pass_stage: Any, project_id: str) -> None:
    """An elderly-care-shaped project through its first three stages, each approved."""
    for stage, form in UP_TO_EVALUATION:
        assert pass_stage(project_id, stage, form).kind == "approved"
