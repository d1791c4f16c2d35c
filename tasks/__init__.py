"""Prefect tasks: the stage work the flows call."""

from swflow.tasks.stage_work import (
    GateEntry,
    GateReplyRef,
    ProjectPlan,
    StageRef,
    close_project,
    enter_gate,
    keep_stage_record,
    load_plan,
    settle_gate,
)

__all__ = [
    "GateEntry",
    "GateReplyRef",
    "ProjectPlan",
    "StageRef",
    "close_project",
    "enter_gate",
    "keep_stage_record",
    "load_plan",
    "settle_gate",
]
