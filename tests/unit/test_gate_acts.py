"""Gate acts on a throw-away SQLite archive: who may decide, the state of the stage, and two steps
(the supervisor, then a director); the helpers and fixtures the other gate tests import live here."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from swflow import domain
from swflow.app.cli.main import main
from swflow.config.errors import AlreadyDecidedError, RefusedError
from swflow.config.templates import load_template
from swflow.domain.projects import launch

from ._support import DIRECTOR, NOW, SUPERVISOR, WORKER

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "templates" / "elderly-care-brief.yaml"
OTHER_SUPERVISOR = "sun.supervisor"  # a qualified supervisor who is not on the team


def _stage(project_id: str, key: str = "assessment") -> dict[str, Any]:
    return next(s for s in domain.project_status(project_id)["stages"] if s["key"] == key)


def _events(project_id: str, kind: str) -> list[dict[str, Any]]:
    return [e for e in domain.project_events(project_id) if e["kind"] == kind]


def _asked(project_id: str) -> list[str]:
    """Who has been asked for a decision, in order."""
    return [
        m["recipient"]
        for m in domain.list_messages()
        if m["template"] == "approval_requested" and m["project"] == project_id
    ]


def _add_person(person_id: str, roles: list[str], qualifications: list[dict[str, Any]], active: bool = True) -> None:
    record = domain.PersonRecord.model_validate(
        {
            "id": person_id,
            "name": person_id,
            "roles": roles,
            "qualifications": qualifications,
            "notify": [f"json://127.0.0.1:9/{person_id}"],
            "active": active,
        }
    )
    _import_confirmed(record)


def _import_confirmed(record: domain.PersonRecord) -> None:
    """Import a person as the agency would: a deciding role is held until a director confirms it
    through the link the import sent (the links need the web's signing key, set for the while)."""
    from swflow.config.settings import get_settings
    from swflow.domain.agency.grants import confirm_grant, import_people_held

    saved = os.environ.get("SWFLOW_WEB_SECRET")
    os.environ["SWFLOW_WEB_SECRET"] = saved or "test-secret-" + "g" * 32
    get_settings.cache_clear()
    try:
        report = import_people_held([record], "test", NOW)
        for url in report.links[:1]:  # one director's confirmation is enough
            confirm_grant(url.rsplit("/", 1)[1], NOW)
    finally:
        if saved is None:
            os.environ.pop("SWFLOW_WEB_SECRET")
        get_settings.cache_clear()


CERTIFICATE = {"kind": "certificate", "level": "社会工作师", "number": "SW-2020-0100"}


def _decide(project_id: str, person: str, outcome: str = "approve", comment: str = "", **kw: Any) -> domain.Decided:
    return domain.record_decision(project_id, "assessment", person, outcome, comment, NOW, **kw)  # type: ignore[arg-type]


def _apply(project_id: str, decision_id: int, stage: str = "assessment") -> domain.GateOutcome:
    gate = domain.read_gate(project_id, stage)
    return domain.apply_gate_reply(project_id, stage, gate.attempt, decision_id, NOW)


@pytest.fixture
def template_like(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """A variant of the shipped template, loaded from a file and offered to launches under its own id."""
    real_get_template = launch.get_template

    def _variant(template_id: str, change: Callable[[dict[str, Any]], None]) -> str:
        raw = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
        raw["id"] = template_id
        change(raw)
        path = tmp_path / f"{template_id}.yaml"
        path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        template = load_template(path)
        monkeypatch.setattr(
            launch,
            "get_template",
            lambda wanted: template if wanted == template.id else real_get_template(wanted),
        )
        return template.id

    return _variant


def _assessment_gate(**gate: Any) -> Callable[[dict[str, Any]], None]:
    def change(raw: dict[str, Any]) -> None:
        raw["stages"][0]["gate"] = gate

    return change


def _sensitive(raw: dict[str, Any]) -> None:
    """Sensitive, with a director step after the supervisor on assessment, planning and evaluation."""
    raw["sensitivity"] = "sensitive"
    for stage in raw["stages"]:
        if stage["phase"] != "execution":
            stage["gate"] = {"steps": ["supervisor", "director"]}


@pytest.fixture
def submit_assessment(sample_forms: dict[str, Any]) -> Callable[[str], str]:
    def _submit(project_id: str) -> str:
        domain.open_stage(project_id, "assessment", NOW)
        domain.submit_form(project_id, "needs-assessment", WORKER, sample_forms["needs-assessment"], NOW)
        return project_id

    return _submit


@pytest.fixture
def two_step(
    launch: Callable[..., str], template_like: Callable[..., str], submit_assessment: Callable[[str], str]
) -> str:
    """A sensitive project whose assessment (supervisor, then director) waits for step 1."""
    return submit_assessment(launch(template_id=template_like("sensitive-care", _sensitive)))


@pytest.fixture
def group_gate(
    launch: Callable[..., str], template_like: Callable[..., str], submit_assessment: Callable[[str], str]
) -> str:
    """A project whose assessment is decided by any supervisor who claims it."""
    return submit_assessment(launch(template_id=template_like("group-care", _assessment_gate(steps=["supervisors"]))))


# deciding: who


def test_supervisor_who_is_not_the_projects_supervisor_may_not_decide(awaiting_assessment: str) -> None:
    with pytest.raises(RefusedError, match="sun.supervisor 不是本阶段的审核人"):
        _decide(awaiting_assessment, OTHER_SUPERVISOR)
    assert _stage(awaiting_assessment)["decisions"] == []


def test_person_outside_the_role_group_may_not_decide(group_gate: str) -> None:
    with pytest.raises(RefusedError, match="chen.director 不是本阶段的审核人.*督导"):
        _decide(group_gate, DIRECTOR)
    assert _stage(group_gate)["decisions"] == []


def test_any_supervisor_may_decide_an_unclaimed_group_step(group_gate: str) -> None:
    decided = _decide(group_gate, OTHER_SUPERVISOR)
    assert (decided.final, decided.step) == (True, 1)


def test_group_step_asks_every_member_of_the_group(group_gate: str) -> None:
    assert sorted(_asked(group_gate)) == [SUPERVISOR, OTHER_SUPERVISOR]
    assert _stage(group_gate)["waiting_on"] == [SUPERVISOR, OTHER_SUPERVISOR]


def test_member_of_the_group_who_submitted_a_form_may_not_decide(
    launch: Callable[..., str], template_like: Callable[..., str], sample_forms: dict[str, Any]
) -> None:
    _add_person("wu.both", ["worker", "supervisor"], [CERTIFICATE])
    template_id = template_like("group-care", _assessment_gate(steps=["supervisors"]))
    project_id = launch(template_id=template_id, worker_ids=["wu.both"])
    domain.open_stage(project_id, "assessment", NOW)
    domain.submit_form(project_id, "needs-assessment", "wu.both", sample_forms["needs-assessment"], NOW)

    with pytest.raises(RefusedError, match="四眼原则：wu.both 提交过本阶段的表单"):
        _decide(project_id, "wu.both")
    with pytest.raises(RefusedError, match="四眼原则"):
        domain.claim_gate(project_id, "assessment", "wu.both", NOW)
    assert "wu.both" not in _stage(project_id)["waiting_on"]


def _manager_in_the_group(
    launch: Callable[..., str],
    template_like: Callable[..., str],
    submit_assessment: Callable[[str], str],
    allowed: bool,
) -> str:
    _add_person("ma.lead", ["manager", "supervisor"], [CERTIFICATE])
    gate = _assessment_gate(steps=["supervisors"], manager_may_decide=allowed)
    return submit_assessment(launch(template_id=template_like("group-care", gate), manager_id="ma.lead"))


def test_manager_may_not_decide_their_project_by_default(
    launch: Callable[..., str], template_like: Callable[..., str], submit_assessment: Callable[[str], str]
) -> None:
    project_id = _manager_in_the_group(launch, template_like, submit_assessment, allowed=False)

    with pytest.raises(RefusedError, match="四眼原则：ma.lead 是本项目的项目主管"):
        _decide(project_id, "ma.lead")
    assert _stage(project_id)["decisions"] == []


def test_manager_may_decide_when_the_template_allows_it(
    launch: Callable[..., str], template_like: Callable[..., str], submit_assessment: Callable[[str], str]
) -> None:
    project_id = _manager_in_the_group(launch, template_like, submit_assessment, allowed=True)

    decided = _decide(project_id, "ma.lead")

    assert decided.final
    assert [d["by"] for d in _stage(project_id)["decisions"]] == ["ma.lead"]


def test_manager_allowed_to_decide_is_asked_for_the_decision(
    launch: Callable[..., str], template_like: Callable[..., str], submit_assessment: Callable[[str], str]
) -> None:
    project_id = _manager_in_the_group(launch, template_like, submit_assessment, allowed=True)

    assert "ma.lead" in _asked(project_id)
    assert "ma.lead" in _stage(project_id)["waiting_on"]


# deciding: the state of the stage


def test_stage_not_yet_opened_cannot_be_decided(project_id: str) -> None:
    with pytest.raises(RefusedError, match="不能审核"):
        _decide(project_id, SUPERVISOR)


def test_approved_stage_cannot_be_decided_again(awaiting_assessment: str) -> None:
    assert _apply(awaiting_assessment, _decide(awaiting_assessment, SUPERVISOR).decision_id).kind == "approved"

    with pytest.raises(RefusedError, match="已结束") as caught:
        _decide(awaiting_assessment, SUPERVISOR, "return", "再看看")
    assert not isinstance(caught.value, AlreadyDecidedError)
    assert len(_stage(awaiting_assessment)["decisions"]) == 1


def test_decision_on_a_terminated_project_is_refused(awaiting_assessment: str) -> None:
    _apply(awaiting_assessment, _decide(awaiting_assessment, SUPERVISOR, "reject", "需求不成立").decision_id)

    with pytest.raises(RefusedError, match="已结束"):
        _decide(awaiting_assessment, SUPERVISOR)


# two steps: the supervisor, then a director


def test_first_step_approval_is_not_final_and_asks_the_director(two_step: str) -> None:
    assert _asked(two_step) == [SUPERVISOR]

    decided = _decide(two_step, SUPERVISOR, comment="同意，请主任审核")

    assert (decided.final, decided.step, decided.round) == (False, 1, 1)
    stage = _stage(two_step)
    assert (stage["status"], stage["gate"]) == ("awaiting_decision", {"step": 2, "assignee": None})
    assert stage["waiting_on"] == [DIRECTOR]
    assert _asked(two_step) == [SUPERVISOR, DIRECTOR]
    assert domain.read_gate(two_step, "assessment").pending_decision_id is None
    assert [e["payload"]["step"] for e in _events(two_step, "gate.step_approved")] == [1]
    assert _events(two_step, "gate.decided") == []


def test_a_form_cannot_change_under_an_approved_step(two_step: str, sample_forms: dict[str, Any]) -> None:
    """Step 2 must approve what step 1 saw: once a step is approved, the round's forms are fixed."""
    _decide(two_step, SUPERVISOR, comment="同意，请主任审核")
    [step_one] = _events(two_step, "gate.step_approved")
    [[submission_id, digest]] = step_one["payload"]["submissions"]  # the decision pins what it approved
    changed = {**sample_forms["needs-assessment"], "problem_definition": "步骤一之后改写的内容"}
    with pytest.raises(RefusedError, match="本轮审核已有 1 步批准，表单不能再改"):
        domain.submit_form(two_step, "needs-assessment", WORKER, changed, NOW)
    final = _decide(two_step, DIRECTOR, comment="同意")
    [decided] = _events(two_step, "gate.decided")
    assert decided["payload"]["submissions"] == [[submission_id, digest]] and final.final
    assert len(_events(two_step, "form.submitted")) == 1 and _events(two_step, "form.resubmitted") == []


def test_the_cli_door_says_why_the_form_is_fixed(
    two_step: str, sample_forms: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:

    _decide(two_step, SUPERVISOR, comment="同意，请主任审核")
    data = tmp_path / "form.json"
    data.write_text(json.dumps(sample_forms["needs-assessment"], ensure_ascii=False), encoding="utf-8")
    code = main(["submit", two_step, "needs-assessment", "--by", WORKER, "--data", str(data)])
    err = capsys.readouterr().err
    assert code == 3 and "表单不能再改" in err and "请当前审核人退回" in err and "Traceback" not in err


def test_supervisor_may_not_decide_the_director_step(two_step: str) -> None:
    _decide(two_step, SUPERVISOR)

    with pytest.raises(RefusedError, match="li.supervisor 不是本阶段的审核人.*机构负责人"):
        _decide(two_step, SUPERVISOR, "reject", "不行")


def test_director_may_not_decide_the_supervisor_step(two_step: str) -> None:
    with pytest.raises(RefusedError, match="chen.director 不是本阶段的审核人"):
        _decide(two_step, DIRECTOR)
    assert _stage(two_step)["decisions"] == []


def test_directors_decision_is_final_and_only_it_opens_the_gate(two_step: str) -> None:
    first = _decide(two_step, SUPERVISOR)
    final = _decide(two_step, DIRECTOR)

    assert (final.final, final.step) == (True, 2)
    assert _stage(two_step)["status"] == "decided"
    assert domain.read_gate(two_step, "assessment").pending_decision_id == final.decision_id

    refused = _apply(two_step, first.decision_id)
    assert refused.kind == "refused"
    assert "前一步" in refused.reason
    assert _stage(two_step)["status"] == "decided"

    assert _apply(two_step, final.decision_id).kind == "approved"
    assert _stage(two_step)["status"] == "approved"


def test_second_decision_on_the_final_step_is_already_decided(two_step: str) -> None:
    _decide(two_step, SUPERVISOR)
    _decide(two_step, DIRECTOR)

    with pytest.raises(AlreadyDecidedError):
        _decide(two_step, DIRECTOR, "return", "再看看")


def test_return_at_the_director_step_starts_the_next_round_at_step_one(two_step: str) -> None:
    _decide(two_step, SUPERVISOR)
    returned = _decide(two_step, DIRECTOR, "return", "请补充个案风险评估")

    assert _apply(two_step, returned.decision_id).kind == "returned"

    stage = _stage(two_step)
    assert (stage["status"], stage["round"], stage["gate"]) == ("open", 2, {"step": 1, "assignee": None})


def test_person_who_decided_step_one_may_not_decide_step_two(
    launch: Callable[..., str], template_like: Callable[..., str], submit_assessment: Callable[[str], str]
) -> None:
    _add_person("zheng.both", ["supervisor", "director"], [CERTIFICATE])
    project_id = submit_assessment(
        launch(template_id=template_like("sensitive-care", _sensitive), supervisor_id="zheng.both")
    )
    _decide(project_id, "zheng.both")

    with pytest.raises(RefusedError, match="四眼原则：zheng.both 已决定本轮的前一步"):
        _decide(project_id, "zheng.both")
    assert _decide(project_id, DIRECTOR).final


def test_person_who_decided_step_one_is_not_asked_for_step_two(
    launch: Callable[..., str], template_like: Callable[..., str], submit_assessment: Callable[[str], str]
) -> None:
    _add_person("zheng.both", ["supervisor", "director"], [CERTIFICATE])
    project_id = submit_assessment(
        launch(template_id=template_like("sensitive-care", _sensitive), supervisor_id="zheng.both")
    )
    _decide(project_id, "zheng.both")

    assert _stage(project_id)["waiting_on"] == [DIRECTOR]
    assert _asked(project_id) == ["zheng.both", DIRECTOR]
