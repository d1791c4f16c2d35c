"""When a running project's run can no longer carry it (pure rule, no server): `why_stranded`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from swflow.domain.projects.recovery import WatchedRun, recovery_key
from swflow.flows.control import RunInfo
from swflow.flows.recovery import Bounds, why_stranded

NOW = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)
BOUNDS = Bounds(pending=timedelta(seconds=120), dead=timedelta(seconds=60), scheduled=timedelta(hours=1))
RUN = "11111111-1111-1111-1111-111111111111"


def watched(heartbeat_ago: float | None = None, run: str | None = RUN, recoveries: int = 0) -> WatchedRun:
    beat = NOW - timedelta(seconds=heartbeat_ago) if heartbeat_ago is not None else None
    return WatchedRun(
        project_id="P-1", status="running", flow_run_id=run, run_state="Running", heartbeat_at=beat,
        recoveries=recoveries,
    )  # fmt: skip


def run(kind: str, since_ago: float, name: str = "", expected_ago: float | None = None) -> RunInfo:
    expected = NOW - timedelta(seconds=expected_ago) if expected_ago is not None else None
    return RunInfo(RUN, kind, name or kind.title(), NOW - timedelta(seconds=since_ago), expected)


def test_a_project_waiting_at_its_gate_is_left_alone() -> None:
    assert why_stranded(watched(), run("PAUSED", 86400 * 30, "Suspended"), NOW, BOUNDS) is None


@pytest.mark.parametrize("kind", ["COMPLETED", "FAILED", "CANCELLED", "CRASHED"])
def test_a_run_ended_while_the_project_runs_is_stranded(kind: str) -> None:
    assert "结束" in str(why_stranded(watched(), run(kind, 1), NOW, BOUNDS))


def test_a_run_the_server_does_not_know_is_stranded() -> None:
    assert "找不到" in str(why_stranded(watched(), None, NOW, BOUNDS))


def test_a_project_without_a_run_is_given_one() -> None:
    assert "没有流程运行" in str(why_stranded(watched(run=None), None, NOW, BOUNDS))


def test_pending_is_stranded_only_past_its_bound() -> None:
    assert why_stranded(watched(), run("PENDING", 119), NOW, BOUNDS) is None
    assert "Pending" in str(why_stranded(watched(), run("PENDING", 121), NOW, BOUNDS))


def test_a_running_run_that_still_beats_is_alive_however_long_it_runs() -> None:
    assert why_stranded(watched(heartbeat_ago=5), run("RUNNING", 3600), NOW, BOUNDS) is None


def test_a_running_run_whose_process_went_quiet_is_dead() -> None:
    assert "没有响应" in str(why_stranded(watched(heartbeat_ago=61), run("RUNNING", 3600), NOW, BOUNDS))


def test_a_run_that_just_started_is_not_judged_by_its_last_processs_beat() -> None:
    """A resume starts a new process: the old beat is days old, the Running state seconds."""
    assert why_stranded(watched(heartbeat_ago=86400), run("RUNNING", 5), NOW, BOUNDS) is None


def test_with_no_runner_pending_and_running_are_dead_at_once() -> None:
    assert why_stranded(watched(heartbeat_ago=1), run("RUNNING", 1), NOW, BOUNDS, no_runner=True) is not None
    assert why_stranded(watched(), run("PENDING", 1), NOW, BOUNDS, no_runner=True) is not None


def test_a_scheduled_run_waits_its_turn_up_to_the_bound() -> None:
    assert why_stranded(watched(), run("SCHEDULED", 1800, expected_ago=1800), NOW, BOUNDS) is None
    assert "排队" in str(why_stranded(watched(), run("SCHEDULED", 3700, expected_ago=3700), NOW, BOUNDS))


def test_each_recovery_has_its_own_idempotency_key_and_a_first_run_the_launchs() -> None:
    assert recovery_key(watched(run=None)) == "swflow-project-P-1"
    assert recovery_key(watched()) == "swflow-project-P-1-recovery-1"
    assert recovery_key(watched(recoveries=2)) == "swflow-project-P-1-recovery-3"
