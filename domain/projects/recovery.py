"""What the archive knows of a project's run, and the acts that bring a stranded project back.

The archive is the source of truth (docs/architecture.md, contract 2): a project that is running must have a live
flow run. When Prefect has lost it (no run, a run ended by something other than the flow, a run
stuck or dead), the project gets a new run that starts from the archive's state; the old one is
named in a `run.recovered` event and the manager is told.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from swflow.config.errors import NotFoundError
from swflow.db.engine import read_session, unit_of_work
from swflow.db.journal import append_event, project_stream
from swflow.db.tables import Event, Person, Project
from swflow.domain.outbox.context import message_context
from swflow.domain.outbox.records import enqueue
from swflow.domain.projects.rules import ProjectStatus

__all__ = [
    "WatchedRun",
    "watched_runs",
    "watched_run",
    "recovery_key",
    "attach_run",
    "record_recovery",
    "beat",
    "current_run_of",
]

RECOVERING = "Recovering"  # the run state shown between a recovery and the new run's first step


class WatchedRun(BaseModel):
    """A running project as the reconciler sees it in the archive."""

    project_id: str
    status: str
    flow_run_id: str | None
    run_state: str | None
    heartbeat_at: datetime | None
    recoveries: int


def _recoveries(project_id: str) -> int:
    with read_session() as session:
        return int(
            session.execute(
                select(func.count())
                .select_from(Event)
                .where(Event.stream == project_stream(project_id), Event.kind == "run.recovered")
            ).scalar_one()
        )


def _watched(project: Project, recoveries: int) -> WatchedRun:
    return WatchedRun(
        project_id=project.id,
        status=project.status,
        flow_run_id=project.flow_run_id,
        run_state=project.run_state,
        heartbeat_at=project.run_heartbeat_at,
        recoveries=recoveries,
    )


def watched_runs() -> list[WatchedRun]:
    """Every running project with its run, in one query (plus one count of recoveries)."""
    with read_session() as session:
        rows = session.execute(
            select(Event.stream, func.count()).where(Event.kind == "run.recovered").group_by(Event.stream)
        ).all()
        counts = {str(stream): int(n) for stream, n in rows}
        projects = session.execute(
            select(Project).where(Project.status == ProjectStatus.RUNNING).order_by(Project.created_at)
        ).scalars()
        return [_watched(p, counts.get(project_stream(p.id), 0)) for p in projects]


def watched_run(project_id: str) -> WatchedRun:
    with read_session() as session:
        project = session.get(Project, project_id)
        if project is None:
            raise NotFoundError(f"没有项目 {project_id}")
        return _watched(project, _recoveries(project_id))


def recovery_key(watched: WatchedRun) -> str:
    """The idempotency key of the project's next run: a create repeated after a crash gets the
    run made the first time. The launch's own key for a project that never had a run."""
    if watched.flow_run_id is None and watched.recoveries == 0:
        return f"swflow-project-{watched.project_id}"
    return f"swflow-project-{watched.project_id}-recovery-{watched.recoveries + 1}"


def attach_run(project_id: str, flow_run_id: str, now: datetime) -> bool:
    """Give a project recorded without a run (the server was busy at launch) its run, once."""
    with unit_of_work() as session:
        project = session.get(Project, project_id, with_for_update=True)
        if project is None or project.flow_run_id is not None:
            return False
        project.flow_run_id, project.run_state = flow_run_id, "Scheduled"
        append_event(
            session,
            project_stream(project_id),
            "run.started",
            actor="swflow",
            at=now,
            flow_run_id=flow_run_id,
            payload={"flow_run_id": flow_run_id},
        )
        return True


def record_recovery(
    project_id: str,
    old_run_id: str | None,
    new_run_id: str,
    reason: str,
    prefect_state: str | None,
    actor: str,
    now: datetime,
) -> bool:
    """Point the project at its new run, if it still runs on `old_run_id` (compare and set:
    two reconcilers, or a run that ended meanwhile, change nothing). Tells the manager."""
    with unit_of_work() as session:
        project = session.get(Project, project_id, with_for_update=True)
        if project is None or project.status != ProjectStatus.RUNNING or project.flow_run_id != old_run_id:
            return False
        project.flow_run_id, project.run_state, project.run_heartbeat_at = new_run_id, RECOVERING, None
        append_event(
            session,
            project_stream(project_id),
            "run.recovered",
            actor=actor,
            at=now,
            flow_run_id=new_run_id,
            payload={
                "old_flow_run_id": old_run_id,
                "new_flow_run_id": new_run_id,
                "reason": reason,
                "prefect_state": prefect_state,
            },
        )
        enqueue(
            session,
            key=f"{project_id}:recovered:{new_run_id}",
            recipient=session.get_one(Person, project.manager_id),
            template="run_recovered",
            context=message_context(project, reason=reason),
            now=now,
            project_id=project_id,
        )
        return True


def beat(project_id: str, flow_run_id: str, now: datetime) -> bool:
    """The flow's process is alive (one small write; nothing is journaled). False when the archive
    was busy: a missed beat is made up by the next, well inside the bound that calls a run dead."""
    try:
        with unit_of_work() as session:
            session.execute(
                update(Project)
                .where(Project.id == project_id, Project.flow_run_id == flow_run_id)
                .values(run_heartbeat_at=now)
            )
    except OperationalError:
        return False
    return True


def current_run_of(project_id: str) -> str | None:
    with read_session() as session:
        project = session.get(Project, project_id)
        if project is None:
            raise NotFoundError(f"没有项目 {project_id}")
        return project.flow_run_id
