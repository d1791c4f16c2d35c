"""A backup taken while `swflow serve` runs and a project waits at its gate starts a new home: the
project goes on there. The new home is restored before `swflow init` (restore needs a home with no
archive yet; init afterwards only writes the settings and finds the schema current)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.test_lifecycle import SUPERVISOR, open_forms, waiting_at_the_first_gate
from tests.support.swflow_proc import Home, wait_for

pytestmark = pytest.mark.prefect


def test_a_backup_taken_at_a_gate_goes_on_in_a_restored_home(
    fresh_home: Home, tmp_path: Path, prefect_db: Path
) -> None:
    fresh_home.start_serve()
    project, old_run = waiting_at_the_first_gate(fresh_home, tmp_path, "备份恢复")
    backup = tmp_path / "backup" / "archive-backup.db"
    backup.parent.mkdir()
    started = time.monotonic()
    taken = fresh_home.cli("archive", "backup", "--out", str(backup))
    print(f"backup: {backup.stat().st_size} bytes in {time.monotonic() - started:.2f}s (one CLI process)")
    assert "sha256" in taken.stdout and backup.stat().st_mode & 0o777 == 0o600
    events = fresh_home.events(project)

    restored = Home(tmp_path / "restored", prefect_db)
    try:
        done = restored.cli("archive", "restore", str(backup))
        assert "项目 1 个" in done.stdout
        restored.cli("init")  # after the restore: settings only, the archive is current
        assert restored.events(project) == events
        restored.start_serve()
        # the restored home's Prefect has never seen the run: the reconciler gives the project a new one
        kinds = lambda: [e["kind"] for e in restored.events(project)]  # noqa: E731
        wait_for("the run to be recovered", lambda: "run.recovered" in kinds(), timeout=120)
        new_run = str(restored.json("status", project)["flow_run_id"])
        assert new_run != old_run
        wait_for("the new run to suspend at the gate", lambda: restored.run_state(new_run) == "Suspended", timeout=120)
        restored.cli("approve", project, "assessment", "--by", SUPERVISOR)
        wait_for("planning to open", lambda: open_forms(restored, project, "planning"), timeout=120)
        assert restored.stage(project, "assessment")["status"] == "approved"
        assert kinds().count("form.submitted") == 1 and kinds().count("stage.opened") == 2
        assert restored.cli("archive", "verify").returncode == 0
    finally:
        restored.stop_serve()
    assert fresh_home.stage(project, "assessment")["status"] == "awaiting_decision"  # the first home is untouched
