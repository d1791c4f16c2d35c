"""Issue 16, part 5: `elderly-care`, the template most agencies start with, runs on the full form set with
an instrument-based baseline and post (UCLA-3 loneliness) and a satisfaction survey whose share fills the
evaluation results and scores the scorecard. The four short forms live on as `elderly-care-brief`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from swflow import domain
from swflow.app.cli.main import main
from swflow.archive.reports import indicator_report, scorecard_report
from swflow.config.templates import get_template

from ._support import FLOW_RUN_ID, MANAGER, NOW, SUPERVISOR, WORKER
from .test_survey_indicators import SAT_HEADER, lonely_waves, mean_total, satisfaction_rows, sheet

HEADER = ["受访者编号", "填写日期", "q1", "q2", "q3"]


def _open_items(project: str, key: str) -> list[dict[str, Any]]:
    stage = next(s for s in domain.project_status(project)["stages"] if s["key"] == key)
    return [i for i in stage["work_items"] if i["round"] == stage["round"] and i["status"] == "open"]


def test_elderly_care_runs_on_the_full_form_set_with_its_surveys_computing_its_outcomes(
    archive_home: Path, people: Any, sample_forms: dict[str, Any], tmp_path: Path
) -> None:
    template = get_template("elderly-care")
    assert template.version == 2 and "baseline-measures" in template.stages[0].forms
    assert [s.key for st in template.stages for s in st.surveys] == [
        "loneliness-pre",
        "loneliness-post",
        "satisfaction",
    ]
    assert [s.forms for s in get_template("elderly-care-brief").stages] == [
        ("needs-assessment",),
        ("service-plan",),
        ("activity-record",),
        ("outcome-evaluation",),
    ]
    request = domain.LaunchRequest(template_id="elderly-care", name="邻里守望", community="幸福社区",
                                   manager_id=MANAGER, supervisor_id=SUPERVISOR, worker_ids=[WORKER])  # fmt: skip
    plan = domain.prepare_launch(request, NOW.date())
    domain.record_launch(plan, FLOW_RUN_ID, NOW)
    project = plan.project_id
    pre, post = lonely_waves()
    sheets = {
        "assessment": [("loneliness-pre", sheet(tmp_path / "pre.xlsx", HEADER, pre), [])],
        "evaluation": [
            ("loneliness-post", sheet(tmp_path / "post.xlsx", HEADER, post), []),
            ("satisfaction", sheet(tmp_path / "s.xlsx", SAT_HEADER, satisfaction_rows(55, 60)),
             ["--answered-on", NOW.date().isoformat()]),
        ],
    }  # fmt: skip
    results = sample_forms["evaluation-results"] | {"satisfaction_percent": 91.67, "respondents": 60}
    for stage in template.stages:
        domain.open_stage(project, stage.key, NOW)
        for survey, path, extra in sheets.get(stage.key, []):
            assert main(["survey", "import", project, survey, path, "--by", WORKER, *extra]) == 0
        items = _open_items(project, stage.key)
        if stage.key == "execution":
            assert sorted(i["activity"] for i in items if i["activity"]) == ["a1", "a2"]  # the schedule's rows
        for item in items:
            data = results if item["form"] == "evaluation-results" else sample_forms[item["form"]]
            domain.submit_form(project, item["form"], item["assignee"], data, NOW, activity=item["activity"])
        decided = domain.record_decision(project, stage.key, SUPERVISOR, "approve", "", NOW)
        gate = domain.read_gate(project, stage.key)
        assert domain.apply_gate_reply(project, stage.key, gate.attempt, decided.decision_id, NOW).kind == "approved"

    rows = {r["indicator"]: r for r in indicator_report(project)}
    lonely = rows["孤独感平均分（UCLA-3）"]
    assert (lonely["baseline"], lonely["post"]) == (mean_total(pre), mean_total(post))
    assert rows["孤独者比例（UCLA-3 ≥ 6 分）"]["post_from"]["n"] == 50
    assert rows["服务对象每周获得探访的比例"]["baseline"] == 35  # typed in baseline-measures, as before
    card = scorecard_report(project)
    assert card["from_surveys"]["client_satisfaction"]["score"] == 5 and card["unscored"] == []
    assert main(["archive", "verify", project]) == 0
