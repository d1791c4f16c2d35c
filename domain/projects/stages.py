"""The acts the flow performs: open a stage, read its gate, apply a reply, close the project.

Each is idempotent: re-running one after a crash or a resume writes nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.config.errors import NotFoundError, RefusedError
from swflow.db.engine import read_session, unit_of_work
from swflow.db.journal import append_event, project_stream
from swflow.db.tables import Event, GateDecision, Person, Project, Stage
from swflow.domain.outbox.context import message_context
from swflow.domain.outbox.records import enqueue
from swflow.domain.projects.launch import refresh_team_supervision
from swflow.domain.projects.rounds import open_round, stage_spec
from swflow.domain.projects.rules import ProjectStatus, StageStatus, pause_key

__all__ = [
    "GateState",
    "GateOutcome",
    "open_stage",
    "read_gate",
    "apply_gate_reply",
    "close_project",
    "remaining_stages",
]


class GateState(BaseModel):
    project_status: str
    stage_status: str
    round: int
    attempt: int
    pause_key: str
    pending_decision_id: int | None


class GateOutcome(BaseModel):
    kind: Literal["approved", "returned", "rejected", "refused"]
    round: int
    reason: str = ""


READ_ONLY_IMPORT = "archive.imported_read_only"  # an unsigned or foreign dossier: a record, never acted on


def lock_project(session: Session, project_id: str) -> Project:
    """The project every act works on, locked; a read-only import refuses every act."""
    project = session.get(Project, project_id, with_for_update=True)
    if project is None:
        raise NotFoundError(f"没有项目 {project_id}")
    read_only = select(Event.id).where(Event.stream == project_stream(project_id), Event.kind == READ_ONLY_IMPORT)
    if session.execute(read_only.limit(1)).first() is not None:
        raise RefusedError(f"项目 {project_id} 是从未签名或外机构签名的档案导入的只读记录，不能再对它操作")
    return project


def find_stage(session: Session, project_id: str, stage_key: str) -> Stage:
    stage = session.execute(
        select(Stage).where(Stage.project_id == project_id, Stage.key == stage_key)
    ).scalar_one_or_none()
    if stage is None:
        raise NotFoundError(f"项目 {project_id} 没有阶段 {stage_key}")
    return stage


def open_stage(project_id: str, stage_key: str, now: datetime) -> int:
    """Open a pending stage (round 1). A stage already open is left as it is. Returns the round."""
    with unit_of_work() as session:
        project = lock_project(session, project_id)
        stage = find_stage(session, project_id, stage_key)
        project.run_state = "Running"
        if stage.status == StageStatus.PENDING and project.status == ProjectStatus.RUNNING:
            stage.status, stage.round, stage.opened_at = StageStatus.OPEN, 1, now
            open_round(session, project, stage, now, note="")
        return stage.round


def read_gate(project_id: str, stage_key: str) -> GateState:
    with read_session() as session:
        project = session.get_one(Project, project_id)
        stage = find_stage(session, project_id, stage_key)
        pending = session.execute(
            select(GateDecision.id).where(
                GateDecision.stage_id == stage.id,
                GateDecision.round == stage.round,
                GateDecision.applied_at.is_(None),
            )
        ).scalar_one_or_none()
        return GateState(
            project_status=project.status,
            stage_status=stage.status,
            round=stage.round,
            attempt=stage.gate_attempt,
            pause_key=pause_key(stage.key, stage.round, stage.gate_attempt),
            pending_decision_id=pending,
        )


def _refuse(
    session: Session,
    project: Project,
    stage: Stage,
    attempt: int,
    given: object,
    reason: str,
    now: datetime,
) -> GateOutcome:
    if stage.gate_attempt == attempt:  # idempotent: one refusal per suspend
        stage.gate_attempt += 1
        append_event(
            session,
            project_stream(project.id),
            "gate.input_refused",
            actor="prefect-input",
            at=now,
            payload={
                "stage": stage.key,
                "round": stage.round,
                "attempt": attempt,
                "given": given,
                "reason": reason,
            },
            flow_run_id=project.flow_run_id,
        )
    return GateOutcome(kind="refused", round=stage.round, reason=reason)


def apply_gate_reply(
    project_id: str,
    stage_key: str,
    attempt: int,
    decision_id: int | None,
    now: datetime,
    round_: int | None = None,
) -> GateOutcome:
    """Act on a resume: only a decision recorded in the archive for this gate counts. `round_` is the
    round the caller read at the gate (default: the current one): applying that round's decision again
    changes nothing, while an earlier round's decision replayed at a later gate is refused."""
    with unit_of_work() as session:
        project = lock_project(session, project_id)
        stage = find_stage(session, project_id, stage_key)
        project.run_state = "Running"
        decision = session.get(GateDecision, decision_id) if decision_id is not None else None
        steps = len(stage_spec(project, stage_key)["gate"]["steps"])
        if decision is None or decision.stage_id != stage.id:
            return _refuse(session, project, stage, attempt, decision_id, "没有与此审核点对应的已记录决定", now)
        if decision.outcome == "approve" and decision.step < steps:
            return _refuse(session, project, stage, attempt, decision_id, "这是前一步的审核，不是本轮的最终决定", now)
        kinds = {"approve": "approved", "return": "returned", "reject": "rejected"}
        kind = kinds[decision.outcome]
        waited_round = stage.round if round_ is None else round_
        if decision.round != waited_round:  # an earlier round's decision, replayed: never applied twice
            return _refuse(session, project, stage, attempt, decision_id, "决定属于另一轮审核", now)
        if decision.applied_at is not None:  # the same application again (a re-run): nothing new
            return GateOutcome(kind=kind, round=decision.round)  # type: ignore[arg-type]
        decision.applied_at = now
        payload = {
            "stage": stage.key,
            "round": stage.round,
            "decision_id": decision.id,
            "by": decision.decided_by,
        }
        if decision.outcome == "approve":
            stage.status, stage.closed_at = StageStatus.APPROVED, now
        elif decision.outcome == "reject":
            stage.status, stage.closed_at = StageStatus.REJECTED, now
            project.status, project.closed_at = ProjectStatus.TERMINATED, now
            refresh_team_supervision(session, project.id, now)
        else:
            stage.round += 1
            stage.status, stage.gate_attempt, stage.gate_step, stage.gate_assignee = StageStatus.OPEN, 1, 1, None
            open_round(session, project, stage, now, note=decision.comment, forms=decision.redo_forms)
        append_event(
            session,
            project_stream(project.id),
            f"stage.{kind}",
            actor="swflow",
            at=now,
            payload=payload,
            flow_run_id=project.flow_run_id,
        )
        return GateOutcome(kind=kind, round=decision.round)  # type: ignore[arg-type]


def close_project(project_id: str, now: datetime) -> str:
    """Mark a project whose stages are all approved as completed; tell the manager."""
    with unit_of_work() as session:
        project = lock_project(session, project_id)
        project.run_state = "Completed"
        if project.status == ProjectStatus.RUNNING:
            project.status, project.closed_at = ProjectStatus.COMPLETED, now
            refresh_team_supervision(session, project.id, now)
            append_event(
                session,
                project_stream(project.id),
                "project.completed",
                actor="swflow",
                at=now,
                flow_run_id=project.flow_run_id,
            )
            enqueue(
                session,
                key=f"{project.id}:completed",
                recipient=session.get_one(Person, project.manager_id),
                template="project_completed",
                context=message_context(project),
                now=now,
                project_id=project.id,
            )
        return project.status


def remaining_stages(project_id: str) -> tuple[str, list[str]]:
    """(project status, keys of the stages not yet approved, in order): one cheap query."""
    with read_session() as session:
        project = session.get(Project, project_id)
        if project is None:
            raise NotFoundError(f"没有项目 {project_id}")
        keys = (
            session.execute(
                select(Stage.key)
                .where(Stage.project_id == project_id, Stage.status != StageStatus.APPROVED)
                .order_by(Stage.seq)
            )
            .scalars()
            .all()
        )
        return project.status, list(keys)
