"""A resume that carries no recorded decision is refused and recorded; the gate waits again."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_lifecycle import SUPERVISOR, open_forms, waiting_at_the_first_gate
from tests.support.swflow_proc import Home, wait_for

pytestmark = pytest.mark.prefect

RESUME = """
import sys
from uuid import UUID
from prefect.flow_runs import resume_flow_run
resume_flow_run(UUID(sys.argv[1]), run_input={"decision_id": int(sys.argv[2])})
"""


def resume_from_outside(home: Home, run_id: str, decision_id: int) -> None:
    """What someone typing into the Prefect UI does: resume with a value swflow never recorded."""
    secret = home.headers["Authorization"].split()[1]
    env = {**home.env, "PREFECT_API_URL": home.api, "PREFECT_API_AUTH_STRING": base64.b64decode(secret).decode()}
    subprocess.run(
        [sys.executable, "-c", RESUME, run_id, str(decision_id)],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )


def test_foreign_resume_is_refused_and_the_gate_suspends_again(served: Home, tmp_path: Path) -> None:
    project, run_id = waiting_at_the_first_gate(served, tmp_path, "外部输入")
    described = served.api_get(f"/flow_runs/{run_id}/input/suspended-assessment-gate-1-description")
    description = json.loads(described.text)
    assert "需求评估" in description and "已提交" in description and "li.supervisor" in description
    assert "赵某某" not in description  # the sample's sensitive key_cases never reaches Prefect

    resume_from_outside(served, run_id, 424242)
    refused = wait_for(
        "the refusal event",
        lambda: [e for e in served.events(project) if e["kind"] == "gate.input_refused"],
    )
    assert refused[0]["payload"]["given"] == 424242
    wait_for("suspended again", lambda: served.run_state(run_id) == "Suspended")
    assert served.stage(project, "assessment")["status"] == "awaiting_decision"

    served.cli("approve", project, "assessment", "--by", SUPERVISOR)
    wait_for("planning to open", lambda: open_forms(served, project, "planning"))
    assert served.run_state(run_id) in ("Suspended", "Running")
