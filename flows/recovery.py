"""No project is ever stranded: compare what the archive expects with what Prefect has, and give a
project whose run is lost, ended from outside, stuck or dead a new run that starts from the archive.

The archive is the source of truth: a running project needs a live run. The new run re-reads the
archive and every task is idempotent, so nothing recorded is redone; the old run is cancelled so it
cannot come back beside its successor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from swflow.config.clock import system_clock
from swflow.config.errors import RefusedError
from swflow.config.settings import Settings, get_settings
from swflow.domain.projects.recovery import (
    WatchedRun,
    attach_run,
    record_recovery,
    recovery_key,
    watched_run,
    watched_runs,
)
from swflow.flows.control import RunInfo, force_cancel, force_crashed, read_runs, start_project_run

__all__ = ["Bounds", "Recovered", "why_stranded", "reconcile_runs", "recover_project", "abandon_orphaned_runs"]

ENDED = ("COMPLETED", "FAILED", "CANCELLED", "CRASHED")


@dataclass(frozen=True)
class Bounds:
    """How long a run may look stuck before it counts as lost (settings, so tests can shorten them)."""

    pending: timedelta
    dead: timedelta
    scheduled: timedelta

    @classmethod
    def of(cls, settings: Settings) -> Bounds:
        return cls(
            pending=timedelta(seconds=settings.pending_bound_seconds),
            dead=timedelta(seconds=settings.dead_after_seconds),
            scheduled=timedelta(seconds=settings.scheduled_bound_seconds),
        )


@dataclass(frozen=True)
class Recovered:
    project_id: str
    old_run_id: str | None
    new_run_id: str
    reason: str


def why_stranded(
    watched: WatchedRun, run: RunInfo | None, now: datetime, bounds: Bounds, no_runner: bool = False
) -> str | None:
    """Why this running project's run cannot carry it on (a sentence), or None when it can.
    `no_runner`: nothing can be executing it (the embedded serve is starting its only runner)."""
    if watched.flow_run_id is None:
        return "项目还没有流程运行（启动时编排服务繁忙）"
    if run is None:
        return "Prefect 中找不到项目的流程运行（编排服务的数据库丢失或被更换）"
    age = now - run.state_since
    if run.state_type in ENDED:
        return f"流程运行已在项目进行中结束（{run.state_name or run.state_type}）"
    if run.state_type == "PENDING" and (no_runner or age > bounds.pending):
        return f"流程运行停在 Pending 已 {int(age.total_seconds())} 秒（领取它的 runner 已不在）"
    if run.state_type == "RUNNING":
        quiet = now - watched.heartbeat_at if watched.heartbeat_at else age
        if no_runner or (age > bounds.dead and quiet > bounds.dead):
            return f"流程运行的进程已 {int(quiet.total_seconds())} 秒没有响应（进程已终止）"
    if run.state_type == "SCHEDULED":
        late = now - (run.expected_start or run.state_since)
        if late > bounds.scheduled:
            return f"流程运行排队已 {int(late.total_seconds())} 秒仍未开始"
    return None


def _replace(watched: WatchedRun, reason: str, prefect_state: str | None, actor: str) -> Recovered | None:
    """Start the project's next run (a repeated create gets the same run), then record it."""
    new_run = start_project_run(watched.project_id, recovery_key(watched))
    now = system_clock()
    if watched.flow_run_id is None:
        if not attach_run(watched.project_id, new_run, now):
            return None
    elif not record_recovery(watched.project_id, watched.flow_run_id, new_run, reason, prefect_state, actor, now):
        return None  # someone else recovered it, or it ended meanwhile: the new run will stop itself
    if watched.flow_run_id is not None and prefect_state is not None:
        force_cancel(watched.flow_run_id, f"swflow 已用新的流程运行 {new_run} 接续：{reason}")
    return Recovered(watched.project_id, watched.flow_run_id, new_run, reason)


def _state(run: RunInfo | None) -> str | None:
    return (run.state_name or run.state_type) if run else None


def reconcile_runs(no_runner: bool = False, settings: Settings | None = None) -> list[Recovered]:
    """One pass over every running project; returns the projects brought back."""
    settings = settings or get_settings()
    watched = watched_runs()
    runs = read_runs([w.flow_run_id for w in watched if w.flow_run_id])
    now, bounds = system_clock(), Bounds.of(settings)
    recovered = []
    for project in watched:
        run = runs.get(project.flow_run_id) if project.flow_run_id else None
        reason = why_stranded(project, run, now, bounds, no_runner)
        if reason is not None:
            done = _replace(project, reason, _state(run), actor="swflow-reconciler")
            if done is not None:
                recovered.append(done)
    return recovered


def recover_project(project_id: str, actor: str, force: bool = False) -> Recovered | None:
    """`swflow recover P`: the same check for one project, by the operator (`actor`: the OS user,
    and the event's door says `cli`); `force` replaces even a run that looks alive. None: nothing
    to recover."""
    watched = watched_run(project_id)
    if watched.status != "running":
        raise RefusedError(f"项目 {project_id} 已结束（{watched.status}），没有需要接续的流程")
    runs = read_runs([watched.flow_run_id]) if watched.flow_run_id else {}
    run = runs.get(watched.flow_run_id) if watched.flow_run_id else None
    reason = why_stranded(watched, run, system_clock(), Bounds.of(get_settings()))
    if reason is None and force:
        reason = "操作员要求重新接续"
    if reason is None:
        return None
    return _replace(watched, reason, _state(run), actor=actor)


def abandon_orphaned_runs() -> int:
    """Before the embedded serve starts its (only) runner: a run still Pending or Running belonged
    to a runner that is gone; mark it Crashed so that the next pass gives its project a new run."""
    watched = [w for w in watched_runs() if w.flow_run_id]
    runs = read_runs([str(w.flow_run_id) for w in watched])
    orphaned = [run for run in runs.values() if run.state_type in ("PENDING", "RUNNING")]
    for run in orphaned:
        force_crashed(run.id, "swflow serve 重新启动时，执行此运行的进程已不在")
    return len(orphaned)
