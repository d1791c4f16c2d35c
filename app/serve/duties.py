"""The duties of `swflow serve`, each one also a command of its own for a machine of a cluster
(issue 18): `swflow dispatch` sends the outbox, `swflow reconcile --watch` delivers recorded decisions,
gives stranded projects a new run and copies ended runs' history. Each is safe to run on several
machines at once: messages are claimed with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL), a
resume of a gate that another reconciler resumed is refused by Prefect, and a recovery is recorded
only by the first reconciler whose conditional update finds the old run still in place."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from types import FrameType

from swflow.config.errors import SwflowError
from swflow.config.settings import get_settings

__all__ = ["run_duty", "dispatch_duty", "ReconcileDuty"]


def run_duty(name: str, once: Callable[[], None], every: float) -> int:
    """Call `once` every `every` seconds until SIGTERM or Ctrl-C (the pass under way is finished);
    a failing pass is reported, never fatal: the next one tries again."""
    stopping = False

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    print(f"{name} 已启动（每 {every:g} 秒一轮；Ctrl-C 停止）", flush=True)
    while not stopping:
        try:
            once()
        except SwflowError as exc:
            print(f"{name} 本轮出错：{exc}", file=sys.stderr, flush=True)
        except Exception as exc:  # a database restart, a dropped connection: the next pass tries again
            print(f"{name} 本轮出错（{type(exc).__name__}）：{str(exc)[:300]}", file=sys.stderr, flush=True)
        deadline = time.monotonic() + every
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.1)
    print(f"{name} 已停止", flush=True)
    return 0


def dispatch_duty() -> None:
    from swflow.notifications import dispatch_once

    report = dispatch_once()
    if report.sent or report.failed:
        print(f"已发送 {report.sent}，待重试 {report.retrying}，失败 {report.failed}", flush=True)


class ReconcileDuty:
    """One pass of the reconciler; checkpoints only where asked (the signing key and the log of
    checkpoints are files of the one machine that keeps them)."""

    def __init__(self, checkpoints: bool) -> None:
        self.checkpoints = checkpoints
        self.next_recover = 0.0
        self.next_checkpoint = 0.0

    def __call__(self) -> None:
        from swflow.app.serve.reconcile import archive_finished_runs, recover_stranded, resume_decided_gates

        settings = get_settings()
        steps: list[Callable[[], object]] = [resume_decided_gates]
        if time.monotonic() >= self.next_recover:
            self.next_recover = time.monotonic() + settings.reconcile_interval_seconds
            steps.append(recover_stranded)
        steps.append(archive_finished_runs)
        if self.checkpoints and time.monotonic() >= self.next_checkpoint:
            self.next_checkpoint = time.monotonic() + 60  # a failed checkpoint is tried again in a minute
            steps.append(self._checkpoint)
        failures = []
        for step in steps:  # one failing step does not keep the others from their pass
            try:
                step()
            except Exception as exc:
                failures.append(exc)
        if failures:
            raise failures[0]

    def _checkpoint(self) -> None:
        from swflow.archive.checkpoints import send_checkpoint_digest, write_checkpoint
        from swflow.config.clock import system_clock

        write_checkpoint(system_clock(), "schedule")
        send_checkpoint_digest(system_clock())
        self.next_checkpoint = time.monotonic() + 60 * get_settings().checkpoint_interval_minutes
