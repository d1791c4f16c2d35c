"""What the archive keeps of Prefect: the run's state as the flow reports it, its state history,
and a stage summary for operators (no form content or comment, so nothing sensitive)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import select

from swflow.db.chain import canonical_json
from swflow.db.engine import read_session, unit_of_work
from swflow.db.journal import append_event, project_stream
from swflow.db.tables import GateDecision, Project, RunState, Stage, WorkItem

__all__ = ["note_run_state", "copy_run_history", "stage_summary_markdown", "runs_to_finish"]

TERMINAL = ("COMPLETED", "FAILED", "CANCELLED", "CRASHED")


def note_run_state(project_id: str, state: str) -> None:
    """Remember the run's state; later events of the project carry it."""
    with unit_of_work() as session:
        project = session.get(Project, project_id, with_for_update=True)
        if project is not None and project.run_state != state:
            project.run_state = state


def copy_run_history(project_id: str, states: list[dict[str, Any]], now: datetime) -> int:
    """Store Prefect states not yet in the archive; returns how many were new (idempotent)."""
    with unit_of_work() as session:
        project = session.get(Project, project_id, with_for_update=True)
        if project is None or project.flow_run_id is None:
            return 0
        known = set(session.execute(select(RunState.id).where(RunState.project_id == project_id)).scalars())
        states = [{key: (None if value is None else str(value)) for key, value in s.items()} for s in states]
        new = [s for s in states if s["id"] not in known]
        for state in new:
            session.add(
                RunState(
                    id=str(state["id"]),
                    project_id=project_id,
                    flow_run_id=project.flow_run_id,
                    type=str(state["type"]),
                    name=str(state["name"]),
                    timestamp=str(state["timestamp"]),
                    message=state.get("message"),
                )
            )
        if new:
            digest = hashlib.sha256(canonical_json(sorted(new, key=lambda s: str(s["timestamp"]))).encode())
            append_event(
                session,
                project_stream(project_id),
                "run.history_copied",
                actor="swflow",
                at=now,
                payload={
                    "new_states": len(new),
                    "total": len(known) + len(new),
                    "sha256": digest.hexdigest(),
                    "names": [str(s["name"]) for s in new],
                },
            )
        return len(new)


def stage_summary_markdown(project_id: str, stage_key: str) -> str:
    """A stage as operators see it in the Prefect UI: rounds, forms and decisions."""
    with read_session() as session:
        project = session.get_one(Project, project_id)
        stage = session.execute(
            select(Stage).where(Stage.project_id == project_id, Stage.key == stage_key)
        ).scalar_one()
        items = session.execute(select(WorkItem).where(WorkItem.stage_id == stage.id).order_by(WorkItem.id)).scalars()
        decisions = session.execute(
            select(GateDecision).where(GateDecision.stage_id == stage.id).order_by(GateDecision.id)
        ).scalars()
        lines = [
            f"# {project.id} {project.name}：{stage.title}",
            "",
            f"状态：{stage.status}；轮次：{stage.round}；风险：{'是' if stage.at_risk else '否'}",
            "",
            "| 轮次 | 表单 | 活动 | 负责人 | 状态 | 期限 |",
            "|---|---|---|---|---|---|",
        ]
        for item in items:
            title = item.title or project.forms_snapshot[item.form_id]["title"]
            lines.append(
                f"| {item.round} | {title} | {item.activity or '-'} | {item.assignee_id} | {item.status} "
                f"| {item.due_at:%Y-%m-%d} |"
            )
        # no comment column: a supervisor's free text may name a person (it stays in the archive)
        lines += ["", "| 轮次 | 步骤 | 决定 | 审核人 |", "|---|---|---|---|"]
        for d in decisions:
            lines.append(f"| {d.round} | {d.step} | {d.outcome} | {d.decided_by} |")
        return "\n".join(lines)


def runs_to_finish() -> list[tuple[str, str]]:
    """(project, flow run) of ended projects whose copied history lacks the run's final state."""
    with read_session() as session:
        finished = select(RunState.project_id).where(RunState.type.in_(TERMINAL))
        rows = session.execute(
            select(Project.id, Project.flow_run_id).where(
                Project.status != "running", Project.flow_run_id.is_not(None), Project.id.not_in(finished)
            )
        ).tuples()
        return [(pid, str(run)) for pid, run in rows]
