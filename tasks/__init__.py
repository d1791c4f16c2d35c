"""Prefect tasks: the stage work the flows call."""

from swflow.tasks.stage_work import (
    GateReplyRef,
    ProjectPlan,
    StageRef,
    apply_gate_reply,
    close_project,
    gate_summary,
    keep_stage_record,
    load_plan,
    open_stage,
    read_gate,
)

__all__ = [
    "GateReplyRef",
    "ProjectPlan",
    "StageRef",
    "apply_gate_reply",
    "close_project",
    "gate_summary",
    "keep_stage_record",
    "load_plan",
    "open_stage",
    "read_gate",
]
