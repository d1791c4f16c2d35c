"""While a project's flow runs, its process says it is alive (a heartbeat in the archive), and it
ends itself when the runner that started it is gone: a run nobody supervises is recovered from
the archive instead of acting on its own (`flows.recovery`)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from swflow.config.clock import system_clock
from swflow.config.settings import get_settings
from swflow.domain.projects.recovery import beat

__all__ = ["alive"]


def _watch(project_id: str, run_id: str, parent: int, every: float, stop: threading.Event) -> None:
    waited = 0.0
    while not stop.wait(1.0):
        if os.getppid() != parent:  # the runner died: its runs are recovered, this one must not go on
            os._exit(70)
        waited += 1.0
        if waited >= every:
            waited = 0.0
            beat(project_id, run_id, system_clock())


@contextmanager
def alive(project_id: str, run_id: str) -> Iterator[None]:
    beat(project_id, run_id, system_clock())
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
