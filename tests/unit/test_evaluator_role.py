"""Issue 15, part 2a: an evaluator (评估方) fills the forms a template reserves for them — workers do not
grade their own project. The evaluator holds the role (no §8.1.1 check), is named at launch, is not on
the team (four eyes), sees the project masked, and no escalation hands their form to a worker."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from swflow import db, domain
from swflow.app.cli.main import main
from swflow.config.clock import SHANGHAI
from swflow.config.errors import RefusedError
from swflow.config.settings import get_settings
from swflow.db.registry_tables import ServedPerson
from swflow.db.tables import Event, FormSubmission, Person, Project, WorkItem
from swflow.domain.agency import sweep
from swflow.domain.people.records import list_people
from swflow.domain.people.visibility import may_see_sensitive
from swflow.domain.projects import work_item_view
from swflow.domain.projects.project_view import project_view, why_not_see
from swflow.domain.registry.access import sees_person

from ._registry import person as register_person
from ._support import DIRECTOR, FLOW_RUN_ID, MANAGER, NOW, SECOND_WORKER, SUPERVISOR, WORKER, pass_up_to_evaluation

EVALUATOR = "liu.evaluator"  # a funder's person: the evaluator role only, no certificate
TEMPLATE = "our-evaluated"
SHIPPED = Path(__file__).resolve().parents[2] / "config" / "templates" / "elderly-care-brief.yaml"


@pytest.fixture
def evaluator(people: list[domain.PersonRecord]) -> str:
    record = {"id": EVALUATOR, "name": "刘评估", "roles": ["evaluator"], "notify": ["json://127.0.0.1:9/liu"]}
    domain.import_people([domain.PersonRecord.model_validate(record)], actor="test", now=NOW)
    return EVALUATOR


def _template(home: Path, stage: dict[str, Any] | None = None, **top: Any) -> Path:
    """elderly-care-brief as an agency template whose evaluation stage has the scorecard filled by the evaluator."""
    data = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    data |= {"id": TEMPLATE, "version": 1, **top}
    evaluation = {"forms": ["outcome-evaluation", "scorecard"], "evaluator_forms": ["scorecard"], **(stage or {})}
    data["stages"][-1] |= evaluation
    folder = home / "definitions" / "templates"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{TEMPLATE}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _launch(evaluator_id: str | None, template_id: str = TEMPLATE, workers: tuple[str, ...] = ()) -> str:
    request = domain.LaunchRequest(
        template_id=template_id,
        name="第三方评估的项目",
        community="幸福社区",
        manager_id=MANAGER,
        supervisor_id=SUPERVISOR,
        worker_ids=list(workers or (WORKER, SECOND_WORKER)),
        evaluator_id=evaluator_id,
    )
    plan = domain.prepare_launch(request, NOW.date())
    domain.record_launch(plan, FLOW_RUN_ID, NOW)
    return plan.project_id


def _evaluation_items(project_id: str) -> dict[str, str]:
    stage = next(s for s in domain.project_status(project_id)["stages"] if s["key"] == "evaluation")
    return {i["form"]: i["assignee"] for i in stage["work_items"]}


def _written(project_id: str) -> tuple[int, int]:
    with db.read_session() as session:
        events = session.execute(select(func.count()).where(Event.stream == f"project:{project_id}")).scalar_one()
        forms = session.execute(select(func.count()).select_from(FormSubmission)).scalar_one()
        return events, forms


@pytest.fixture
def at_evaluation(archive_home: Path, evaluator: str, pass_stage: Any) -> str:
    """A project of the agency template whose evaluation stage is open."""
    _template(archive_home)
    project_id = _launch(evaluator)
    pass_up_to_evaluation(pass_stage, project_id)
    domain.open_stage(project_id, "evaluation", NOW)
    return project_id


def test_an_evaluator_form_must_be_one_of_its_stages_forms(
    archive_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _template(archive_home, {"evaluator_forms": ["service-plan"]})
    assert main(["templates", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "stages.3.evaluator_forms" in err and "service-plan 不是本阶段的必填表单" in err


def test_launch_without_an_evaluator_is_refused_naming_the_forms_and_the_option(
    archive_home: Path, evaluator: str
) -> None:
    _template(archive_home)
    with pytest.raises(RefusedError, match=r"--evaluator.*阶段 evaluation：scorecard"):
        _launch(None)
    with pytest.raises(RefusedError, match=r"--evaluator.*没有由评估方填写的表单"):
        _launch(EVALUATOR, template_id="elderly-care-brief")  # nothing for an evaluator to fill
    assert domain.list_projects() == []


@pytest.mark.parametrize(
    ("who", "rule"), [(WORKER, "评估方和社工"), (MANAGER, "评估方和项目主管"), (SUPERVISOR, "评估方和督导")]
)
def test_launch_refuses_an_evaluator_on_the_team(archive_home: Path, evaluator: str, who: str, rule: str) -> None:
    _template(archive_home)
    people = [p for p in list_people() if p["id"] == who]
    qualifications = [{"kind": "certificate", "level": "社会工作师", "number": "SW-2020-0100"}]
    record = {
        "id": who,
        "name": "兼任者",
        "roles": [*people[0]["roles"], "evaluator"],
        "qualifications": qualifications,
    }
    domain.import_people([domain.PersonRecord.model_validate(record)], actor="test", now=NOW)
    with pytest.raises(RefusedError, match=f"{who} 不能同时是本项目的{rule}（四眼原则"):
        _launch(who)
    assert domain.list_projects() == []


def test_a_template_may_let_its_evaluator_serve_on_the_team(archive_home: Path, people: Any) -> None:
    """`evaluator_independent: false`: a worker with the evaluator role may score; they still see as a worker."""
    _template(archive_home, evaluator_independent=False)
    qualifications = [{"kind": "certificate", "level": "助理社会工作师", "number": "ASW-2023-0009"}]
    record = {"id": SECOND_WORKER, "name": "赵社工", "roles": ["worker", "evaluator"], "qualifications": qualifications}
    domain.import_people([domain.PersonRecord.model_validate(record)], actor="test", now=NOW)
    project_id = _launch(SECOND_WORKER)
    with db.read_session() as session:
        assert may_see_sensitive(session, session.get_one(Project, project_id), SECOND_WORKER)


def test_launch_refuses_a_person_without_the_role_or_deactivated(archive_home: Path, evaluator: str) -> None:
    _template(archive_home)
    with pytest.raises(RefusedError, match=f"{DIRECTOR} 没有「评估方」角色"):
        _launch(DIRECTOR)
    record = {"id": EVALUATOR, "name": "刘评估", "roles": ["evaluator"], "active": False}
    domain.import_people([domain.PersonRecord.model_validate(record)], actor="test", now=NOW)
    with pytest.raises(RefusedError, match=f"{EVALUATOR} 已停用"):
        _launch(EVALUATOR)
    assert domain.list_projects() == []


def test_the_scorecard_goes_to_the_evaluator_and_only_they_may_submit_it(
    at_evaluation: str, sample_forms: dict[str, Any]
) -> None:
    project_id = at_evaluation
    assert _evaluation_items(project_id) == {"outcome-evaluation": WORKER, "scorecard": EVALUATOR}
    assert [t["form"] for t in domain.inbox(EVALUATOR)["tasks"]] == ["scorecard"]
    launched = domain.project_events(project_id)[0]
    assert launched["kind"] == "project.launched" and launched["payload"]["evaluator_id"] == EVALUATOR

    before = _written(project_id)
    with pytest.raises(RefusedError, match=f"{WORKER} 不能提交此表单：模板规定它由评估方 刘评估（{EVALUATOR}）填写"):
        domain.submit_form(project_id, "scorecard", WORKER, sample_forms["scorecard"], NOW)
    assert _written(project_id) == before  # nothing half-written
    with db.read_session() as session:
        item = session.execute(select(WorkItem).where(WorkItem.form_id == "scorecard")).scalar_one()
    with pytest.raises(RefusedError, match="评估方 刘评估"):
        work_item_view(item.id, WORKER)  # the web's form page says the same
    assert work_item_view(item.id, EVALUATOR).form_id == "scorecard"

    domain.submit_form(project_id, "outcome-evaluation", WORKER, sample_forms["outcome-evaluation"], NOW)
    done = domain.submit_form(project_id, "scorecard", EVALUATOR, sample_forms["scorecard"], NOW)
    assert done.stage_complete
    with db.read_session() as session:
        row = session.get_one(FormSubmission, done.submission_id)
        assert (row.form_id, row.submitted_by) == ("scorecard", EVALUATOR)
    decided = domain.record_decision(project_id, "evaluation", SUPERVISOR, "approve", "", NOW)
    gate = domain.read_gate(project_id, "evaluation")
    assert domain.apply_gate_reply(project_id, "evaluation", gate.attempt, decided.decision_id, NOW).kind == "approved"
    domain.close_project(project_id, NOW)
    assert domain.project_status(project_id)["status"] == "completed"


def test_the_evaluator_sees_the_project_page_masked_and_not_the_people_served(
    at_evaluation: str, capsys: pytest.CaptureFixture[str]
) -> None:
    project_id = at_evaluation
    with db.read_session() as session:
        project = session.get_one(Project, project_id)
        assert may_see_sensitive(session, project, WORKER)
        assert not may_see_sensitive(session, project, EVALUATOR)
    assert why_not_see(project_id, EVALUATOR) is None
    page = project_view(project_id, EVALUATOR, NOW)
    assert page["sensitive_visible"] is False
    assert page["team"][-1] == {"person": EVALUATOR, "name": "刘评估", "role": "evaluator"}

    status = domain.project_status(project_id)
    assert [m["role"] for m in status["team"]] == ["manager", "supervisor", "worker", "worker", "evaluator"]
    from swflow.app.cli.views import print_project

    print_project(status)
    assert f"社工 {SECOND_WORKER}，评估方 {EVALUATOR}" in capsys.readouterr().out

    served = register_person(project=project_id)
    with db.read_session() as session:
        record = session.get_one(ServedPerson, served)
        assert sees_person(session, record, session.get_one(Person, WORKER))
        assert not sees_person(session, record, session.get_one(Person, EVALUATOR))


def test_escalation_never_hands_the_evaluators_form_to_a_worker(
    archive_home: Path, evaluator: str, pass_stage: Any
) -> None:
    step = {
        "key": "overdue_1",
        "title": "逾期一个工作日",
        "offset_days": 1,
        "notify": ["assignee"],
        "action": "reassign",
    }
    policy = {"id": "hand-over", "title": "逾期转交", "steps": [step]}
    folder = archive_home / "definitions" / "escalation"
    folder.mkdir(parents=True)
    (folder / "hand-over.yaml").write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    _template(archive_home, {"escalation_policy": "hand-over"})
    project_id = _launch(EVALUATOR)
    pass_up_to_evaluation(pass_stage, project_id)
    domain.open_stage(project_id, "evaluation", NOW)  # ten working days: due 16 March 18:00

    report = sweep(datetime(2026, 3, 18, 10, tzinfo=SHANGHAI))
    assert report.escalated == 2  # both items are late
    assert _evaluation_items(project_id) == {"outcome-evaluation": SECOND_WORKER, "scorecard": EVALUATOR}
    assert len(report.reassigned) == 1  # the worker's form went to the next worker; the evaluator's stayed


def test_cli_launch_takes_the_evaluator(
    archive_home: Path, evaluator: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SWFLOW_PREFECT_API_URL", "http://127.0.0.1:9/api")  # no Prefect: the project waits for its run
    get_settings.cache_clear()
    _template(archive_home)
    argv = ["launch", TEMPLATE, "--name", "评估", "--community", "幸福社区", "--manager", MANAGER,
            "--supervisor", SUPERVISOR, "--worker", WORKER]  # fmt: skip
    assert main(argv) == 3
    assert "评估方（--evaluator）" in capsys.readouterr().err and domain.list_projects() == []
    assert main([*argv, "--evaluator", EVALUATOR]) == 0
    project_id = capsys.readouterr().out.split()[-1]
    assert {"person": EVALUATOR, "role": "evaluator"} in domain.project_status(project_id)["team"]


def test_people_import_takes_an_evaluator_without_qualifications(
    people: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "evaluators.yaml"
    funder = {"id": "he.funder", "name": "何评估", "roles": ["evaluator"]}  # no qualification, no channel
    path.write_text(yaml.safe_dump({"people": [funder]}, allow_unicode=True), encoding="utf-8")
    assert main(["people", "import", str(path)]) == 0
    assert [p["roles"] for p in list_people() if p["id"] == "he.funder"] == [["evaluator"]]
    capsys.readouterr()
    assert main(["people", "list"]) == 0
    listed = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("he.funder"))
    assert "评估方" in listed and "evaluator" not in listed  # the title, not the key
