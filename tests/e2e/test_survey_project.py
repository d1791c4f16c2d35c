"""Issue 16: a project with a survey at baseline and at post runs end to end through the CLI, each
command its own process against a running `swflow serve`: the responses imported from spreadsheets, the
evaluation results checked against what the answers give, the scorecard scored from the satisfaction
survey, the archive verified."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from swflow.app.samples import form_samples
from swflow.config.clock import SHANGHAI
from tests.e2e.test_lifecycle import MANAGER, SUPERVISOR, WORKER, open_forms
from tests.support.swflow_proc import Home, wait_for
from tests.unit.test_survey_indicators import (
    SAT_HEADER,
    lonely_waves,
    mean_total,
    measured_template,
    satisfaction_rows,
    sheet,
)

pytestmark = pytest.mark.prefect
HEADER = ["受访者编号", "填写日期", "q1", "q2", "q3"]


def _data(tmp_path: Path, name: str, data: dict[str, Any]) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data, ensure_ascii=False, default=str), encoding="utf-8")  # dates as ISO text
    return str(path)


def test_a_surveyed_project_runs_to_its_computed_scorecard_through_the_cli(served: Home, tmp_path: Path) -> None:
    measured_template(served.path)
    launched = served.cli("launch", "our-measured", "--name", "孤独感干预", "--community", "幸福社区",
                          "--manager", MANAGER, "--supervisor", SUPERVISOR, "--worker", WORKER)  # fmt: skip
    project = launched.stdout.strip()
    day = datetime.now(SHANGHAI).date().isoformat()
    pre, post = lonely_waves(day)
    samples = form_samples()
    steps: list[tuple[str, list[tuple[str, dict[str, Any]]]]] = [
        ("assessment", [(f, samples[f]) for f in ("needs-assessment", "baseline-measures")]),
        ("planning", [("service-plan", samples["service-plan"])]),
        ("execution", [("activity-record", samples["activity-record"])]),
    ]
    imports = {"assessment": [("lonely-pre", sheet(tmp_path / "pre.xlsx", HEADER, pre))]}
    for stage, forms in steps:
        wait_for(f"{stage} to open", lambda s=stage: open_forms(served, project, s), timeout=120)
        for survey, path in imports.get(stage, []):
            served.cli("survey", "import", project, survey, path, "--by", WORKER)
        for form, data in forms:
            served.cli("submit", project, form, "--by", WORKER, "--data", _data(tmp_path, form, data))
        served.cli("approve", project, stage, "--by", SUPERVISOR)

    wait_for("evaluation to open", lambda: open_forms(served, project, "evaluation"), timeout=120)
    served.cli("survey", "import", project, "lonely-post", sheet(tmp_path / "post.xlsx", HEADER, post), "--by", WORKER)
    results = samples["evaluation-results"] | {"satisfaction_percent": 91.7, "respondents": 36}
    results["post"] = [{"indicator": "孤独感平均分", "value": mean_total(post), "measured_on": day}]
    refused = served.cli("submit", project, "evaluation-results", "--by", WORKER,
                         "--data", _data(tmp_path, "results", results), check=False)  # fmt: skip
    assert refused.returncode == 2 and "它还没有可计分的回答" in refused.stderr and "Traceback" not in refused.stderr
    satisfaction = sheet(tmp_path / "s.xlsx", SAT_HEADER, satisfaction_rows(33, 36))
    served.cli("survey", "import", project, "satisfaction", satisfaction, "--by", WORKER, "--answered-on", day)
    refused = served.cli("submit", project, "evaluation-results", "--by", WORKER,
                         "--data", _data(tmp_path, "results", results), check=False)  # fmt: skip
    assert refused.returncode == 2 and "36 份回答算得 91.67" in refused.stderr
    results["satisfaction_percent"] = 91.67
    served.cli("submit", project, "evaluation-results", "--by", WORKER, "--data", _data(tmp_path, "results", results))
    card = samples["scorecard"] | {"scores": [r for r in samples["scorecard"]["scores"]
                                             if r["indicator"] != "client_satisfaction"]}  # fmt: skip
    served.cli("submit", project, "scorecard", "--by", WORKER, "--data", _data(tmp_path, "card", card))
    served.cli("approve", project, "evaluation", "--by", SUPERVISOR)
    wait_for("completion", lambda: served.json("status", project)["status"] == "completed", timeout=120)

    report = served.json("indicators", project)
    lonely = next(r for r in report["indicators"] if r["indicator"] == "孤独感平均分")
    assert (lonely["baseline"], lonely["post"]) == (mean_total(pre), mean_total(post))
    assert lonely["baseline_from"]["n"] == 60 and lonely["post_from"]["n"] == 50
    scorecard = report["scorecard"]
    assert scorecard["from_surveys"]["client_satisfaction"]["score"] == 5 and scorecard["unscored"] == []
    typed = {r["indicator"]: r["score"] for r in card["scores"]} | {"client_satisfaction": 5}
    dimension = next(d for d in scorecard["dimensions"] if d["key"] == "satisfaction")
    assert dimension["score"] == round(0.6 * 5 + 0.4 * typed["stakeholder_feedback"], 3)  # the card's weights
    change = next(s for s in report["surveys"] if s["key"] == "lonely-post")["change"][0]
    assert (change["n_paired"], change["lost_to_follow_up"]) == (50, 10)
    text = served.cli("indicators", project).stdout
    assert "后测由问卷「孤独感后测」算得：孤独感总分的平均分，n = 50" in text
    assert "服务对象满意度 计 5 分：由问卷「满意度调查」的「服务对象满意度」91.67 换算" in text
    assert served.cli("archive", "verify", project).returncode == 0
