"""Archive acts on a throw-away SQLite archive, without Prefect: who may act, what gets written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from swflow import db, domain
from swflow.config.errors import AlreadyDecidedError, FormError, NotFoundError, RefusedError
from swflow.db.tables import FormSubmission, OutboxMessage

from ._support import DIRECTOR, MANAGER, NOW, SECOND_WORKER, SUPERVISOR, WORKER


def _stage(project_id: str, key: str) -> dict[str, Any]:
    return next(s for s in domain.project_status(project_id)["stages"] if s["key"] == key)


def _event_kinds(project_id: str) -> list[str]:
    return [e["kind"] for e in domain.project_events(project_id)]


def _count(model: type[Any], *where: Any) -> int:
    with db.read_session() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def _return_assessment(project_id: str, comment: str = "请补充独居老人名册") -> int:
    decided = domain.record_decision(project_id, "assessment", SUPERVISOR, "return", comment, NOW)
    return decided.decision_id


# launching


def test_launch_pins_the_team_and_leaves_every_stage_pending(project_id: str) -> None:
    status = domain.project_status(project_id)

    assert status["status"] == "running"
    assert status["template"] == {"id": "elderly-care-brief", "version": 1}
    assert {(m["person"], m["role"]) for m in status["team"]} == {
        (MANAGER, "manager"),
        (SUPERVISOR, "supervisor"),
        (WORKER, "worker"),
        (SECOND_WORKER, "worker"),
    }
    assert [(s["key"], s["status"], s["round"]) for s in status["stages"]] == [
        ("assessment", "pending", 0),
        ("planning", "pending", 0),
        ("execution", "pending", 0),
        ("evaluation", "pending", 0),
    ]
    assert _event_kinds(project_id) == ["project.launched"]


def test_launch_refuses_a_supervisor_who_is_also_a_worker(launch: Callable[..., str]) -> None:
    with pytest.raises(RefusedError, match="四眼原则"):
        launch(worker_ids=[WORKER, SUPERVISOR])


def test_launch_refuses_people_without_the_role(launch: Callable[..., str]) -> None:
    with pytest.raises(RefusedError, match="wang.worker 没有「督导」角色"):
        launch(supervisor_id=WORKER)


def test_launch_refuses_a_supervisor_who_is_also_the_manager(
    launch: Callable[..., str],
) -> None:
    qualified = domain.PersonRecord(
        id="ma.lead",
        name="马主管",
        roles=["manager", "supervisor"],
        qualifications=[{"kind": "certificate", "level": "社会工作师", "number": "SW-2017-0007"}],
    )
    domain.import_people([qualified], actor="test", now=NOW)
    with pytest.raises(RefusedError, match="ma.lead 不能同时是本项目的项目主管和督导（四眼原则）"):
        launch(manager_id="ma.lead", supervisor_id="ma.lead")


def test_launch_refuses_a_worker_whose_certificate_has_expired(launch: Callable[..., str]) -> None:
    with pytest.raises(RefusedError, match=r"qian\.worker 的资格证书已过期（有效期至 2025-12-31）"):
        launch(worker_ids=[WORKER, "qian.worker"])
    assert domain.list_projects() == []


def test_launch_refuses_a_person_with_no_qualification_on_record(launch: Callable[..., str]) -> None:
    domain.import_people([domain.PersonRecord(id="new.hire", name="新社工", roles=["worker"])], actor="test", now=NOW)

    with pytest.raises(RefusedError, match=r"new\.hire 没有登记社会工作职业资格证书或学历（§8\.1\.1）"):
        launch(worker_ids=["new.hire"])


def test_launch_counts_a_degree_as_a_qualification(launch: Callable[..., str]) -> None:
    degree = domain.PersonRecord(
        id="gao.worker", name="高社工", roles=["worker"], qualifications=[{"kind": "degree", "level": "社会工作学士"}]
    )
    domain.import_people([degree], actor="test", now=NOW)

    project_id = launch(worker_ids=["gao.worker"])

    assert domain.project_status(project_id)["status"] == "running"


# submitting


def test_last_form_in_asks_the_supervisor_for_a_decision(project_id: str, sample_forms: dict[str, Any]) -> None:
    domain.open_stage(project_id, "assessment", NOW)

    submitted = domain.submit_form(project_id, "needs-assessment", WORKER, sample_forms["needs-assessment"], NOW)

    assert (submitted.stage, submitted.round, submitted.stage_complete) == ("assessment", 1, True)
    stage = _stage(project_id, "assessment")
    assert stage["status"] == "awaiting_decision"
    assert stage["waiting_on"] == [SUPERVISOR]
    asks = [m for m in domain.list_messages() if m["template"] == "approval_requested"]
    assert [(m["project"], m["recipient"], m["status"]) for m in asks] == [(project_id, SUPERVISOR, "pending")]
    assert [d["stage"] for d in domain.inbox(SUPERVISOR)["decisions"]] == ["assessment"]
    assert _event_kinds(project_id)[-3:] == ["form.submitted", "gate.awaiting", "message.queued"]


def test_opened_stage_is_in_the_lead_workers_inbox_only(project_id: str) -> None:
    domain.open_stage(project_id, "assessment", NOW)

    tasks = domain.inbox(WORKER)["tasks"]
    assert [(t["stage"], t["form"], t["round"]) for t in tasks] == [("assessment", "needs-assessment", 1)]
    assert tasks[0]["due_at"] == "2026-03-16T10:00:00+00:00"  # 18:00 Shanghai, 10 working days
    assert domain.inbox(SECOND_WORKER)["tasks"] == []


def test_opening_a_stage_twice_opens_it_once(project_id: str) -> None:
    assert domain.open_stage(project_id, "assessment", NOW) == 1
    events = len(domain.project_events(project_id))

    assert domain.open_stage(project_id, "assessment", NOW) == 1
    assert len(domain.project_events(project_id)) == events
    assert len(_stage(project_id, "assessment")["work_items"]) == 1


def test_worker_who_is_not_the_assignee_cannot_submit(project_id: str, sample_forms: dict[str, Any]) -> None:
    domain.open_stage(project_id, "assessment", NOW)

    with pytest.raises(RefusedError, match="zhao.worker 不是此表单的负责人"):
        domain.submit_form(project_id, "needs-assessment", SECOND_WORKER, sample_forms["needs-assessment"], NOW)
    assert _count(FormSubmission) == 0


def test_form_of_a_stage_not_yet_open_is_refused(project_id: str, sample_forms: dict[str, Any]) -> None:
    with pytest.raises(RefusedError, match="服务策划"):
        domain.submit_form(project_id, "service-plan", WORKER, sample_forms["service-plan"], NOW)


def test_unknown_person_cannot_submit(project_id: str, sample_forms: dict[str, Any]) -> None:
    domain.open_stage(project_id, "assessment", NOW)
    with pytest.raises(NotFoundError, match="nobody"):
        domain.submit_form(project_id, "needs-assessment", "nobody", sample_forms["needs-assessment"], NOW)


def test_bad_submission_writes_nothing(project_id: str, sample_forms: dict[str, Any]) -> None:
    domain.open_stage(project_id, "assessment", NOW)
    events = domain.project_events(project_id)
    messages = domain.list_messages()
    data = {**sample_forms["needs-assessment"], "target_count": 0}

    with pytest.raises(FormError) as caught:
        domain.submit_form(project_id, "needs-assessment", WORKER, data, NOW)

    assert caught.value.problems == [("拟服务老年人数（target_count）", "不能小于 1")]
    assert _count(FormSubmission) == 0
    assert domain.project_events(project_id) == events
    assert domain.list_messages() == messages
    assert [i["status"] for i in _stage(project_id, "assessment")["work_items"]] == ["open"]


# deciding


def test_return_without_comment_is_bad_input(awaiting_assessment: str) -> None:
    for comment in ("", "   "):
        with pytest.raises(FormError) as caught:
            domain.record_decision(awaiting_assessment, "assessment", SUPERVISOR, "return", comment, NOW)
        assert caught.value.problems == [("--comment", "必填")]
    assert _stage(awaiting_assessment, "assessment")["status"] == "awaiting_decision"


def test_reject_without_comment_is_bad_input(awaiting_assessment: str) -> None:
    with pytest.raises(FormError):
        domain.record_decision(awaiting_assessment, "assessment", SUPERVISOR, "reject", "", NOW)


@pytest.mark.parametrize("person", [WORKER, MANAGER, DIRECTOR])
def test_only_the_projects_supervisor_may_decide(awaiting_assessment: str, person: str) -> None:
    with pytest.raises(RefusedError, match="不是本阶段的审核人"):
        domain.record_decision(awaiting_assessment, "assessment", person, "approve", "", NOW)
    assert _stage(awaiting_assessment, "assessment")["decisions"] == []


def test_supervisor_cannot_decide_while_forms_are_open(project_id: str) -> None:
    domain.open_stage(project_id, "assessment", NOW)
    with pytest.raises(RefusedError, match="还有表单未提交（needs-assessment）"):
        domain.record_decision(project_id, "assessment", SUPERVISOR, "approve", "", NOW)


def test_second_decision_on_the_same_gate_is_already_decided(awaiting_assessment: str) -> None:
    first = domain.record_decision(awaiting_assessment, "assessment", SUPERVISOR, "approve", "", NOW)

    with pytest.raises(AlreadyDecidedError):
        domain.record_decision(awaiting_assessment, "assessment", SUPERVISOR, "return", "再看看", NOW)

    [decision] = _stage(awaiting_assessment, "assessment")["decisions"]
    assert (decision["id"], decision["outcome"], decision["applied"]) == (first.decision_id, "approve", False)
    assert domain.read_gate(awaiting_assessment, "assessment").pending_decision_id == first.decision_id


# applying a gate reply (what the flow does on resume)


def test_reply_without_a_recorded_decision_is_refused_and_counted(awaiting_assessment: str) -> None:
    before = domain.read_gate(awaiting_assessment, "assessment")
    assert (before.attempt, before.pause_key) == (1, "assessment-gate-1")

    outcome = domain.apply_gate_reply(awaiting_assessment, "assessment", 1, 99999, NOW)

    assert outcome.kind == "refused"
    after = domain.read_gate(awaiting_assessment, "assessment")
    assert (after.attempt, after.pause_key) == (2, "assessment-gate-1-attempt-2")
    refused = [e for e in domain.project_events(awaiting_assessment) if e["kind"] == "gate.input_refused"]
    assert [(e["payload"]["attempt"], e["payload"]["given"]) for e in refused] == [(1, 99999)]
    assert _stage(awaiting_assessment, "assessment")["status"] == "awaiting_decision"


def test_same_refused_reply_replayed_is_counted_once(awaiting_assessment: str) -> None:
    domain.apply_gate_reply(awaiting_assessment, "assessment", 1, None, NOW)
    again = domain.apply_gate_reply(awaiting_assessment, "assessment", 1, None, NOW)

    assert again.kind == "refused"
    assert domain.read_gate(awaiting_assessment, "assessment").attempt == 2
    assert _event_kinds(awaiting_assessment).count("gate.input_refused") == 1


def test_decision_of_another_stage_does_not_open_this_gate(awaiting_assessment: str) -> None:
    decision = domain.record_decision(awaiting_assessment, "assessment", SUPERVISOR, "approve", "", NOW)

    outcome = domain.apply_gate_reply(awaiting_assessment, "planning", 1, decision.decision_id, NOW)

    assert outcome.kind == "refused"
    assert _stage(awaiting_assessment, "planning")["status"] == "pending"


def test_applied_return_opens_round_two_for_the_worker(awaiting_assessment: str) -> None:
    decision_id = _return_assessment(awaiting_assessment)

    outcome = domain.apply_gate_reply(awaiting_assessment, "assessment", 1, decision_id, NOW)

    assert (outcome.kind, outcome.round) == ("returned", 1)
    stage = _stage(awaiting_assessment, "assessment")
    assert (stage["status"], stage["round"]) == ("open", 2)
    assert [(i["round"], i["status"], i["assignee"]) for i in stage["work_items"]] == [
        (1, "submitted", WORKER),
        (2, "open", WORKER),
    ]
    assert [t["round"] for t in domain.inbox(WORKER)["tasks"]] == [2]
    gate = domain.read_gate(awaiting_assessment, "assessment")
    assert (gate.pause_key, gate.pending_decision_id) == ("assessment-gate-2", None)
    reopened = domain.due_messages(NOW)[-1]
    assert (reopened.template, reopened.recipient_id) == ("stage_opened", WORKER)
    assert (reopened.context["round"], reopened.context["note"]) == (2, "请补充独居老人名册")


def test_resubmitting_after_a_return_asks_for_round_two_decision(
    awaiting_assessment: str, sample_forms: dict[str, Any]
) -> None:
    decision_id = _return_assessment(awaiting_assessment)
    domain.apply_gate_reply(awaiting_assessment, "assessment", 1, decision_id, NOW)

    domain.submit_form(awaiting_assessment, "needs-assessment", WORKER, sample_forms["needs-assessment-revised"], NOW)

    assert domain.inbox(SUPERVISOR)["decisions"] == [
        {
            "project": awaiting_assessment,
            "project_name": "幸福社区独居老人关爱",
            "stage": "assessment",
            "stage_title": "需求评估",
            "round": 2,
        }
    ]


def test_applying_a_reply_twice_records_it_once(awaiting_assessment: str) -> None:
    decision_id = _return_assessment(awaiting_assessment)
    first = domain.apply_gate_reply(awaiting_assessment, "assessment", 1, decision_id, NOW, round_=1)
    events = domain.project_events(awaiting_assessment)
    messages = domain.list_messages()

    # the flow re-run after a crash passes the round it read at the gate: round 1
    again = domain.apply_gate_reply(awaiting_assessment, "assessment", 1, decision_id, NOW, round_=1)

    assert again == first
    assert domain.project_events(awaiting_assessment) == events
    assert domain.list_messages() == messages
    assert _stage(awaiting_assessment, "assessment")["round"] == 2


def test_applied_reject_terminates_the_project(awaiting_assessment: str, sample_forms: dict[str, Any]) -> None:
    decided = domain.record_decision(awaiting_assessment, "assessment", SUPERVISOR, "reject", "需求不成立", NOW)

    outcome = domain.apply_gate_reply(awaiting_assessment, "assessment", 1, decided.decision_id, NOW)

    assert outcome.kind == "rejected"
    assert domain.project_status(awaiting_assessment)["status"] == "terminated"
    with pytest.raises(RefusedError, match="已结束"):
        domain.submit_form(awaiting_assessment, "needs-assessment", WORKER, sample_forms["needs-assessment"], NOW)


def test_project_whose_stages_all_pass_closes_and_tells_the_manager(
    project_id: str, pass_stage: Callable[..., domain.GateOutcome]
) -> None:
    for stage, form in [
        ("assessment", "needs-assessment"),
        ("planning", "service-plan"),
        ("execution", "activity-record"),
        ("evaluation", "outcome-evaluation"),
    ]:
        assert pass_stage(project_id, stage, form).kind == "approved"
    assert domain.remaining_stages(project_id) == ("running", [])

    assert domain.close_project(project_id, NOW) == "completed"
    assert domain.close_project(project_id, NOW) == "completed"

    assert _event_kinds(project_id).count("project.completed") == 1
    assert _count(OutboxMessage, OutboxMessage.template == "project_completed") == 1
    assert domain.list_messages()[-1]["recipient"] == MANAGER
