"""While a project's flow runs, its process says it is alive (a heartbeat in the archive), and it
ends itself when the runner that started it is gone: a run nobody supervises is recovered from
the archive instead of acting on its own (`flows.recovery`).

It also says which process it is: `$SWFLOW_HOME/runs/<flow run id>.pid` while it executes (a forked
run's environment in /proc is its fork server's, so the run id cannot be read there). An operator
finds the process of a run by it; a run killed outright leaves its file, which names a run that is over."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from swflow.config.clock import system_clock
from swflow.config.settings import get_settings, home_dir
from swflow.domain.projects.recovery import beat

__all__ = ["alive", "pid_file"]


def _watch(project_id: str, run_id: str, parent: int, every: float, stop: threading.Event) -> None:
    waited = 0.0
    while not stop.wait(1.0):
        if os.getppid() != parent:  # the runner died: its runs are recovered, this one must not go on
            os._exit(70)
        waited += 1.0
        if waited >= every:
            waited = 0.0
            beat(project_id, run_id, system_clock())


def pid_file(run_id: str) -> Path:
    return home_dir() / "runs" / f"{run_id}.pid"


def _say_pid(run_id: str) -> Path | None:
    path = pid_file(run_id)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(str(os.getpid()), encoding="utf-8")
    except OSError:
        return None  # a read-only home: the run goes on without it
    return path


@contextmanager
def alive(project_id: str, run_id: str) -> Iterator[None]:
    beat(project_id, run_id, system_clock())
    said = _say_pid(run_id)
    stop = threading.Event()
    watcher = threading.Thread(
        target=_watch,
        args=(project_id, run_id, os.getppid(), get_settings().heartbeat_seconds, stop),
        name="swflow-alive",
        daemon=True,
    )
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        if said is not None:
            said.unlink(missing_ok=True)
