"""The `service_project` flow: interprets a project's pinned template, stage by stage.

No stage is named here. Each gate suspends the run (no process is held while a supervisor
takes days); a resume carries a decision id, and only a decision found in the archive counts.
"""

from __future__ import annotations

from prefect import flow
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run
from pydantic import Field

from swflow.flows.alive import alive
from swflow.tasks import (
    GateReplyRef,
    StageRef,
    close_project,
    enter_gate,
    keep_stage_record,
    load_plan,
    settle_gate,
)

__all__ = ["GateReply", "service_project", "FLOW_NAME"]

FLOW_NAME = "service-project"


class GateReply(RunInput):
    """What a resume must carry: the id of a decision recorded by `swflow approve|return`."""

    decision_id: int = Field(ge=1, description="swflow 记录的审核决定编号")


def _pass_gate(ref: StageRef) -> str:
    """Loop until the gate is approved or the project ends; returns the outcome kind.
    Each turn either moves the project on or suspends under a key not used before (a refused
    reply moves the key on), so a replayed resume cannot spin the run."""
    waited_at: list[str] = []
    while True:
        entry = enter_gate(ref, waited_at)
        gate = entry.gate
        if gate.project_status != "running":
            return "rejected"
        decision_id = gate.pending_decision_id
        if decision_id is None and gate.pause_key in waited_at:
            pass  # the same key twice in one process: its stored reply came back; refuse it (new key)
        elif decision_id is None:
            waited_at.append(gate.pause_key)
            # a description only, never pre-filled values (docs/architecture.md, contract 3)
            wanted = GateReply.with_initial_data(description=entry.summary or "")
            reply = suspend_flow_run(wait_for_input=wanted, key=gate.pause_key, timeout=None)
            decision_id = reply.decision_id
        outcome = settle_gate(
            GateReplyRef(
                project_id=ref.project_id,
                stage_key=ref.stage_key,
                attempt=gate.attempt,
                decision_id=decision_id,
                round=gate.round,
            )
        )
        if outcome.kind in ("approved", "rejected"):
            return outcome.kind


@flow(name=FLOW_NAME, persist_result=True, log_prints=True)
def service_project(project_id: str) -> str:
    run_id = str(flow_run.id)
    plan = load_plan(project_id, run_id)
    if plan.status != "running":
        return plan.status
    with alive(project_id, run_id):
        for stage_key in plan.remaining_stages:
            if _pass_gate(StageRef(project_id=project_id, stage_key=stage_key)) == "rejected":
                return "terminated"
        status = close_project(project_id)
        if plan.remaining_stages:  # the last stage again, now that the run is about to complete
            keep_stage_record(StageRef(project_id=project_id, stage_key=plan.remaining_stages[-1]))
        return status
