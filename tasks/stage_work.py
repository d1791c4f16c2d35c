"""Prefect tasks of a service project: one model in, one model out, each idempotent.

They are not cached and their results are not persisted: the archive is the source of truth, and
every task re-reads it, so a resumed run acts on what was recorded, never on a stale result. A turn
at a gate is two task runs — `enter_gate` (open, read, say what is waited on) and `settle_gate`
(apply the decision, keep the stage record) — each idempotent, each a handful of archive writes.
"""

from __future__ import annotations

import time

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel

from swflow import domain
from swflow.config.clock import system_clock
from swflow.domain import GateOutcome, GateState

__all__ = [
    "StageRef",
    "GateReplyRef",
    "ProjectPlan",
    "GateEntry",
    "load_plan",
    "enter_gate",
    "settle_gate",
    "keep_stage_record",
    "close_project",
]


class StageRef(BaseModel):
    project_id: str
    stage_key: str


class GateReplyRef(BaseModel):
    project_id: str
    stage_key: str
    attempt: int
    decision_id: int | None
    round: int | None = None  # the round read at the gate: a decision of another round is refused


class ProjectPlan(BaseModel):
    project_id: str
    status: str
    remaining_stages: list[str]


class RunNotAttachedError(RuntimeError):
    """The archive does not name this run yet: the launch or recovery is still committing it."""


@task(cache_policy=NO_CACHE, retries=15, retry_delay_seconds=1, persist_result=False)
def load_plan(project_id: str, flow_run_id: str) -> ProjectPlan:
    """The stages still to pass, if this run is the project's run: a run the archive does not name
    (replaced by a recovery) stops as `superseded` instead of acting beside its successor.
    Retries while `swflow launch` (or a recovery) is still committing the project or its run."""
    from swflow.domain.projects.recovery import current_run_of

    current = current_run_of(project_id)
    if current is None:
        raise RunNotAttachedError(f"项目 {project_id} 尚未记录其流程运行")
    if current != flow_run_id:
        return ProjectPlan(project_id=project_id, status="superseded", remaining_stages=[])
    status, remaining = domain.remaining_stages(project_id)
    return ProjectPlan(project_id=project_id, status=status, remaining_stages=remaining)


class GateEntry(BaseModel):
    """A gate as the run finds it: its state, and what the Prefect UI shows while it waits (only when
    the run is about to wait there)."""

    gate: GateState
    summary: str | None = None


@task(cache_policy=NO_CACHE, persist_result=False)
def enter_gate(ref: StageRef, waited_at: list[str]) -> GateEntry:
    """One task per turn at a gate: open the stage (idempotent: a stage open already is left as it
    is), read its gate, and when the run is to wait there, note the Suspended state and say what is
    waited on. `waited_at`: the pause keys this process has waited at already."""
    domain.open_stage(ref.project_id, ref.stage_key, system_clock())
    gate = domain.read_gate(ref.project_id, ref.stage_key)
    waits = gate.project_status == "running" and gate.pending_decision_id is None
    if not waits or gate.pause_key in waited_at:
        return GateEntry(gate=gate)
    from swflow.archive.history import note_run_state

    note_run_state(ref.project_id, "Suspended")
    return GateEntry(gate=gate, summary=domain.gate_summary(ref.project_id, ref.stage_key))


def _keep_stage_record(ref: StageRef, attempts: int = 3) -> int:
    """Copy the run's Prefect state history into the archive and publish the stage summary as a
    markdown artifact keyed `<project>-<stage>`; returns how many states were new. Both are
    idempotent, so a failed attempt (the API busy) is simply made again."""
    from prefect import get_client
    from prefect.artifacts import create_markdown_artifact
    from prefect.runtime import flow_run

    from swflow.archive.history import copy_run_history, stage_summary_markdown

    for attempt in range(attempts):
        try:
            with get_client(sync_client=True) as client:
                states = client.read_flow_run_states(flow_run.id)
            copied = copy_run_history(
                ref.project_id,
                [
                    {
                        "id": s.id,
                        "type": s.type.value,
                        "name": s.name,
                        "timestamp": s.timestamp.isoformat(),
                        "message": s.message,
                    }
                    for s in states
                ],
                system_clock(),
            )
            create_markdown_artifact(
                key=f"{ref.project_id.lower()}-{ref.stage_key.replace('_', '-')}",
                markdown=stage_summary_markdown(ref.project_id, ref.stage_key),
                description=f"{ref.project_id} {ref.stage_key} 阶段摘要",
            )
            return copied
        except Exception:
            if attempt + 1 == attempts:
                raise
            time.sleep(2)
    return 0


@task(cache_policy=NO_CACHE, persist_result=False)
def keep_stage_record(ref: StageRef) -> int:
    """The stage record on its own: the last stage once the project has closed."""
    return _keep_stage_record(ref)


@task(cache_policy=NO_CACHE, persist_result=False)
def settle_gate(ref: GateReplyRef) -> GateOutcome:
    """One task per decision: apply the recorded decision, sign the record of a project it ends, and
    keep the stage record of every transition (approved, returned, rejected; not of a refusal)."""
    outcome = domain.apply_gate_reply(
        ref.project_id, ref.stage_key, ref.attempt, ref.decision_id, system_clock(), round_=ref.round
    )
    if outcome.kind == "rejected":  # the project ends here: its record is signed at once
        _sign_closure(ref.project_id)
    if outcome.kind != "refused":
        _keep_stage_record(StageRef(project_id=ref.project_id, stage_key=ref.stage_key))
    return outcome


@task(cache_policy=NO_CACHE, persist_result=False)
def close_project(project_id: str) -> str:
    status = domain.close_project(project_id, system_clock())
    _sign_closure(project_id)
    return status


def _sign_closure(project_id: str) -> None:
    """A signed checkpoint at every closure; serve's schedule signs again if this one fails."""
    from swflow.archive.checkpoints import write_checkpoint
    from swflow.config.errors import StorageError

    try:
        write_checkpoint(system_clock(), f"closure:{project_id}")
    except StorageError as exc:
        get_run_logger().warning("结项检查点没有写入（serve 的定时检查点会补上）：%s", exc)
