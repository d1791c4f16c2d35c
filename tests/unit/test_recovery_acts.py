"""The archive's side of recovery (real SQLite): a project gets a new run once, a stale run stops
itself, and a replayed decision can never be applied twice or spin a run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from swflow import db, domain
from swflow.domain.projects.recovery import (
    attach_run,
    beat,
    current_run_of,
    record_recovery,
    watched_run,
    watched_runs,
)

from ._support import FLOW_RUN_ID, MANAGER, NOW, SUPERVISOR, WORKER

NEW_RUN = "22222222-2222-2222-2222-222222222222"
OTHER_RUN = "33333333-3333-3333-3333-333333333333"


def kinds(project_id: str) -> list[str]:
    return [e["kind"] for e in domain.project_events(project_id)]


def test_recovery_points_the_project_at_its_new_run_and_tells_the_manager(project_id: str) -> None:
    assert record_recovery(project_id, FLOW_RUN_ID, NEW_RUN, "流程运行已结束（Crashed）", "Crashed", "swflow", NOW)
    assert current_run_of(project_id) == NEW_RUN
    assert watched_run(project_id).run_state == "Recovering"
    event = next(e for e in domain.project_events(project_id) if e["kind"] == "run.recovered")
    assert event["kind"] == "run.recovered" and event["flow_run_id"] == NEW_RUN
    assert event["payload"]["old_flow_run_id"] == FLOW_RUN_ID and event["payload"]["prefect_state"] == "Crashed"
    told = [m for m in domain.list_messages() if m["template"] == "run_recovered"]
    assert [m["recipient"] for m in told] == [MANAGER]
    assert watched_run(project_id).recoveries == 1


def test_two_reconcilers_recover_a_project_once(project_id: str) -> None:
    assert record_recovery(project_id, FLOW_RUN_ID, NEW_RUN, "r", None, "swflow", NOW)
    assert not record_recovery(project_id, FLOW_RUN_ID, OTHER_RUN, "r", None, "swflow", NOW)
    assert current_run_of(project_id) == NEW_RUN and kinds(project_id).count("run.recovered") == 1


def test_an_ended_project_is_never_given_a_new_run(
    project_id: str, pass_stage: Callable[..., domain.GateOutcome]
) -> None:
    pass_stage(project_id, "assessment", "needs-assessment", outcome="reject", comment="不符合条件")
    assert not record_recovery(project_id, FLOW_RUN_ID, NEW_RUN, "r", None, "swflow", NOW)
    assert project_id not in [w.project_id for w in watched_runs()]


def test_a_project_recorded_without_a_run_is_attached_once(launch: Callable[..., str]) -> None:
    """A project recorded while the server was down."""
    from swflow.db.tables import Project

    archive_id = launch()
    with db.unit_of_work() as session:
        session.get_one(Project, archive_id).flow_run_id = None
    assert attach_run(archive_id, NEW_RUN, NOW)
    assert not attach_run(archive_id, OTHER_RUN, NOW)
    assert current_run_of(archive_id) == NEW_RUN and kinds(archive_id).count("run.started") == 1


def test_only_the_projects_own_run_beats(project_id: str) -> None:
    beat(project_id, OTHER_RUN, NOW)
    assert watched_run(project_id).heartbeat_at is None
    beat(project_id, FLOW_RUN_ID, NOW)
    assert watched_run(project_id).heartbeat_at == NOW


def _return_round(project_id: str, stage: str, form: str, data: dict[str, Any], comment: str) -> int:
    domain.submit_form(project_id, form, WORKER, data, NOW)
    decided = domain.record_decision(project_id, stage, SUPERVISOR, "return", comment, NOW)
    gate = domain.read_gate(project_id, stage)
    assert domain.apply_gate_reply(project_id, stage, gate.attempt, decided.decision_id, NOW).kind == "returned"
    return decided.decision_id


def test_every_earlier_decision_replayed_is_refused_and_moves_the_key_on(
    project_id: str, sample_forms: dict[str, Any]
) -> None:
    """The spin found on main: a resume with an earlier round's (applied) return made the run loop."""
    domain.open_stage(project_id, "assessment", NOW)
    earlier = [
        _return_round(project_id, "assessment", "needs-assessment", sample_forms["needs-assessment"], f"第{n}次退回")
        for n in range(1, 5)
    ]
    domain.submit_form(project_id, "needs-assessment", WORKER, sample_forms["needs-assessment"], NOW)
    seen_keys = set()
    for decision_id in earlier:
        gate = domain.read_gate(project_id, "assessment")
        assert gate.pending_decision_id is None and gate.pause_key not in seen_keys
        seen_keys.add(gate.pause_key)
        outcome = domain.apply_gate_reply(project_id, "assessment", gate.attempt, decision_id, NOW)
        assert outcome.kind == "refused" and "另一轮" in outcome.reason
    assert domain.read_gate(project_id, "assessment").round == 5  # no round opened by a replay
    assert kinds(project_id).count("stage.returned") == 4
    assert kinds(project_id).count("gate.input_refused") == 4

    approved = domain.record_decision(project_id, "assessment", SUPERVISOR, "approve", "", NOW)
    gate = domain.read_gate(project_id, "assessment")
    assert domain.apply_gate_reply(project_id, "assessment", gate.attempt, approved.decision_id, NOW).kind == "approved"


@pytest.mark.parametrize("given", [None, 999999])
def test_a_reply_with_no_recorded_decision_is_refused(awaiting_assessment: str, given: int | None) -> None:
    gate = domain.read_gate(awaiting_assessment, "assessment")
    outcome = domain.apply_gate_reply(awaiting_assessment, "assessment", gate.attempt, given, NOW)
    assert outcome.kind == "refused"
    assert domain.read_gate(awaiting_assessment, "assessment").pause_key != gate.pause_key


def test_a_run_the_archive_no_longer_names_stops_as_superseded(project_id: str) -> None:
    from swflow.tasks.stage_work import RunNotAttachedError, load_plan

    assert load_plan.fn(project_id, FLOW_RUN_ID).status == "running"
    assert record_recovery(project_id, FLOW_RUN_ID, NEW_RUN, "r", None, "swflow", NOW)
    stale = load_plan.fn(project_id, FLOW_RUN_ID)
    assert stale.status == "superseded" and stale.remaining_stages == []
    assert load_plan.fn(project_id, NEW_RUN).status == "running"

    from swflow.db.tables import Project

    with db.unit_of_work() as session:
        session.get_one(Project, project_id).flow_run_id = None
    with pytest.raises(RunNotAttachedError):  # retried while the launch commits its run
        load_plan.fn(project_id, NEW_RUN)


def test_status_tells_a_person_the_project_is_being_recovered(
    project_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from swflow.app.cli.views import print_project

    print_project(domain.project_status(project_id))
    assert "接续" not in capsys.readouterr().out
    record_recovery(project_id, FLOW_RUN_ID, NEW_RUN, "r", None, "swflow", NOW)
    print_project(domain.project_status(project_id))
    assert "正在按档案接续" in capsys.readouterr().out
