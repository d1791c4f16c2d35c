"""kill -9 of `swflow serve` while a project waits at a gate: nothing lost, nothing done twice."""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_lifecycle import SUPERVISOR, open_forms, waiting_at_the_first_gate
from tests.support.swflow_proc import Home, wait_for

pytestmark = pytest.mark.prefect


def api_down(api: str) -> bool:
    try:
        httpx.get(f"{api}/health", timeout=0.5)
    except httpx.HTTPError:
        return True
    return False


def test_project_continues_after_serve_is_killed_at_a_gate(fresh_home: Home, tmp_path: Path) -> None:
    home = fresh_home
    home.start_serve()
    project, _run_id = waiting_at_the_first_gate(home, tmp_path, "断电恢复")

    home.stop_serve(signal.SIGKILL)
    wait_for("the server to go with it", lambda: api_down(home.api), timeout=30)

    decided = home.cli("approve", project, "assessment", "--by", SUPERVISOR)
    assert "swflow serve" in decided.stderr  # recorded now, continued when serve is back
    assert home.stage(project, "assessment")["status"] == "decided"

    home.start_serve()
    wait_for("planning to open", lambda: open_forms(home, project, "planning"), timeout=120)
    assert home.stage(project, "assessment")["status"] == "approved"

    kinds = Counter(e["kind"] for e in home.events(project))
    assert kinds["form.submitted"] == 1
    assert kinds["gate.decided"] == 1
    assert kinds["stage.approved"] == 1
    assert kinds["stage.opened"] == 2  # assessment once, planning once: nothing redone
    assert home.cli("archive", "verify", project).returncode == 0
