"""Issue 16, part 3: indicators computed from surveys instead of typed — the mean of a score, the share in
a band, the share satisfied, the number of responses; the measures tables, a number field and the
scorecard must agree with them; the reports read them; the submission's event keeps what it counted."""

from __future__ import annotations

import json
import random
import statistics
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import Workbook

from swflow import domain
from swflow.app.cli.main import main
from swflow.archive.reports import indicator_report, scorecard_report
from swflow.config.errors import FormError

from ._support import FLOW_RUN_ID, MANAGER, NOW, SECOND_WORKER, SUPERVISOR, WORKER

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "templates" / "elderly-care-brief.yaml"
DAY = NOW.date().isoformat()
LONELY = [
    {"name": "孤独感平均分", "statistic": "mean", "score": "total"},
    {"name": "孤独者比例", "statistic": "share_in_bands", "score": "total", "bands": ["孤独"]},
]
LEVELS = [{"at_least": 90, "score": 5}, {"at_least": 80, "score": 4}, {"at_least": 70, "score": 3}]
SATISFIED = [
    {"name": "服务对象满意度", "statistic": "share_in_bands", "score": "satisfied", "bands": ["满意"],
     "field": "evaluation-results.satisfaction_percent", "scorecard": "client_satisfaction", "levels": LEVELS},
    {"name": "满意度调查受访人数", "statistic": "responses", "field": "evaluation-results.respondents"},
]  # fmt: skip
PRE = {"key": "lonely-pre", "title": "孤独感前测", "instrument": "ucla-3", "wave": "baseline", "expected": 60}
POST = {"key": "lonely-post", "title": "孤独感后测", "instrument": "ucla-3", "wave": "post", "expected": 50}
SAT = {"key": "satisfaction", "title": "满意度调查", "instrument": "service-satisfaction", "wave": "post"}
SAT_HEADER = ["受访者编号", "heard_from", "sessions", "content.fit", "content.time", "content.safety",
              "worker.attitude", "worker.skill", "worker.response", "helped", "useless", "continue",
              "overall"]  # fmt: skip
AT = "stages.3.surveys.1.indicators.0"


def measured_template(home: Path, **changes: Any) -> Path:
    """elderly-care-brief with a baseline-measures form and an ucla-3 survey at assessment, the evaluation
    results and the scorecard at evaluation with an ucla-3 post-test and a satisfaction survey."""
    data = yaml.safe_load(SHIPPED.read_text(encoding="utf-8")) | {"id": "our-measured", "version": 1}
    assessment, *_, evaluation = data["stages"]
    assessment["forms"] = ["needs-assessment", "baseline-measures"]
    assessment["surveys"] = [PRE | {"indicators": LONELY}]
    evaluation["forms"] = ["evaluation-results", "scorecard"]
    evaluation["surveys"] = [
        POST | {"indicators": LONELY, "period": {"from_day": 0, "to_day": 5}},
        SAT | {"expected": 36, "indicators": SATISFIED},
    ]
    evaluation["surveys"] = json.loads(json.dumps(evaluation["surveys"]))  # the changes below: this copy only
    for key, value in changes.items():
        evaluation["surveys"][1]["indicators"][0][key] = value
    folder = home / "definitions" / "templates"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "our-measured.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def sheet(path: Path, header: list[Any], rows: list[list[Any]]) -> str:
    book = Workbook()
    page = book.active
    assert page is not None
    for row in [header, *rows]:
        page.append(row)
    book.save(path)
    return str(path)


def lonely_waves(day: str = DAY) -> tuple[list[list[Any]], list[list[Any]]]:
    """60 respondents' ucla-3 answers (respondent, day, q1–q3) and 50 of them again, a little less lonely."""
    rng = random.Random(161)
    pre = [[f"L{n:02d}", day, *(rng.choice((1, 2, 2, 3, 3)) for _ in range(3))] for n in range(60)]
    post = [[row[0], day, *(max(1, a - rng.choice((0, 1))) for a in row[2:])] for row in pre[:50]]
    return pre, post


def satisfaction_rows(satisfied: int, of: int) -> list[list[Any]]:
    """`of` respondents, the first `satisfied` of them answering 4 or 5 to the overall question."""
    return [
        [f"S{n:02d}", "worker", 6, 4, 4, 5, 5, 4, 4, 4, 2, "是", (5, 4)[n % 2] if n < satisfied else (3, 2)[n % 2]]
        for n in range(of)
    ]


@pytest.fixture
def measured(archive_home: Path, people: Any) -> str:
    measured_template(archive_home)
    request = domain.LaunchRequest(
        template_id="our-measured", name="孤独感干预", community="幸福社区", manager_id=MANAGER,
        supervisor_id=SUPERVISOR, worker_ids=[WORKER, SECOND_WORKER],
    )  # fmt: skip
    plan = domain.prepare_launch(request, NOW.date())
    domain.record_launch(plan, FLOW_RUN_ID, NOW)
    return plan.project_id


def _through(project: str, stage: str, forms: list[str], sample_forms: dict[str, Any]) -> None:
    for form in forms:
        domain.submit_form(project, form, WORKER, sample_forms[form], NOW)
    decided = domain.record_decision(project, stage, SUPERVISOR, "approve", "", NOW)
    gate = domain.read_gate(project, stage)
    assert domain.apply_gate_reply(project, stage, gate.attempt, decided.decision_id, NOW).kind == "approved"


def _to_evaluation(project: str, tmp_path: Path, sample_forms: dict[str, Any]) -> list[list[Any]]:
    pre, post = lonely_waves()
    domain.open_stage(project, "assessment", NOW)
    header = ["受访者编号", "填写日期", "q1", "q2", "q3"]
    assert (
        main(["survey", "import", project, "lonely-pre", sheet(tmp_path / "pre.xlsx", header, pre), "--by", WORKER])
        == 0
    )
    _through(project, "assessment", ["needs-assessment", "baseline-measures"], sample_forms)
    for stage, form in (("planning", "service-plan"), ("execution", "activity-record")):
        domain.open_stage(project, stage, NOW)
        _through(project, stage, [form], sample_forms)
    domain.open_stage(project, "evaluation", NOW)
    assert (
        main(["survey", "import", project, "lonely-post", sheet(tmp_path / "post.xlsx", header, post), "--by", WORKER])
        == 0
    )
    return pre


def mean_total(rows: list[list[Any]]) -> float:
    """The mean ucla-3 total of the rows, computed here (not by swflow)."""
    return round(statistics.fmean(sum(row[2:]) for row in rows), 2)


def _lonely_share(rows: list[list[Any]]) -> float:
    return round(100 * sum(1 for row in rows if sum(row[2:]) >= 6) / len(rows), 2)


def test_typed_values_must_be_what_the_answers_give_and_the_reports_read_the_surveys(
    measured: str, sample_forms: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pre = _to_evaluation(measured, tmp_path, sample_forms)
    _, post = lonely_waves()
    results = dict(sample_forms["evaluation-results"])
    results["post"] = [{"indicator": "孤独感平均分", "value": mean_total(post) + 0.1, "measured_on": DAY}]
    with pytest.raises(FormError) as refused:
        domain.submit_form(measured, "evaluation-results", WORKER, results, NOW)
    rules = dict(refused.value.problems)
    assert rules["后测（post） › 第 1 行 › 后测值（value）"] == (
        f"「孤独感平均分」由问卷「孤独感后测」的 50 份回答算得 {mean_total(post):g}（孤独感总分的平均分），"
        f"填的是 {mean_total(post) + 0.1:g}"
    )
    assert "此值由问卷「满意度调查」计算，它还没有可计分的回答" in rules["服务对象满意度（%）（satisfaction_percent）"]

    rows = satisfaction_rows(33, 36)  # 91.67 %: the sample's typed 91.7 is not what the answers give
    capsys.readouterr()
    assert main(["survey", "import", measured, "satisfaction", sheet(tmp_path / "s.xlsx", SAT_HEADER, rows),
                 "--by", WORKER, "--answered-on", DAY]) == 0  # fmt: skip
    results["post"] = [
        {"indicator": "孤独感平均分", "value": mean_total(post), "measured_on": DAY}
    ]  # its baseline: the survey
    with pytest.raises(FormError) as refused:
        domain.submit_form(measured, "evaluation-results", WORKER, results, NOW)
    assert dict(refused.value.problems)["服务对象满意度（%）（satisfaction_percent）"] == (
        "「服务对象满意度」由问卷「满意度调查」的 36 份回答算得 91.67（总体满意为满意的比例（%）），填的是 91.7"
    )
    results |= {"satisfaction_percent": 91.67, "respondents": 36}
    submitted = domain.submit_form(measured, "evaluation-results", WORKER, results, NOW)

    events = domain.project_events(measured)
    event = next(e["payload"] for e in events if e["payload"].get("submission_id") == submitted.submission_id)
    kept = {c["name"]: c for c in event["computed"]}
    assert set(kept) == {"孤独感平均分", "服务对象满意度", "满意度调查受访人数"}
    assert kept["服务对象满意度"]["n"] == 36 and kept["服务对象满意度"]["through"] > kept["孤独感平均分"]["through"]
    assert event["statistics_version"] >= 1

    report = {r["indicator"]: r for r in indicator_report(measured)}
    lonely = report["孤独感平均分"]
    assert (lonely["baseline"], lonely["post"]) == (mean_total(pre), mean_total(post))
    assert lonely["baseline_from"]["n"] == 60 and lonely["post_from"]["survey"] == "lonely-post"
    assert report["孤独者比例"]["baseline"] == _lonely_share(pre) and report["孤独者比例"]["unit"] == "%"
    assert report["孤独者比例"]["post"] == _lonely_share(post)
    assert report["服务对象每周获得探访的比例"]["baseline_from"] is None  # typed in baseline-measures, as before

    card = dict(sample_forms["scorecard"])
    card["scores"] = [r for r in card["scores"] if r["indicator"] != "client_satisfaction"]
    card["scores"].append({"indicator": "client_satisfaction", "score": 4})
    with pytest.raises(FormError, match="按问卷「满意度调查」的「服务对象满意度」91.67 计 5 分，填的是 4"):
        domain.submit_form(measured, "scorecard", WORKER, card, NOW)
    card["scores"] = [r for r in card["scores"] if r["indicator"] != "client_satisfaction"]  # left to the survey
    domain.submit_form(measured, "scorecard", WORKER, card, NOW)
    scored = scorecard_report(measured)
    assert scored["from_surveys"]["client_satisfaction"]["score"] == 5
    assert "client_satisfaction" not in scored["unscored"]

    capsys.readouterr()
    assert main(["survey", "show", measured, "--json"]) == 0
    shown = {s["key"]: s for s in json.loads(capsys.readouterr().out)}
    assert [i["value"] for i in shown["satisfaction"]["indicators"]] == [91.67, 36.0]
    assert shown["lonely-post"]["period"] == {"from": DAY, "to": "2026-03-09"}  # 5 working days after it opened
    assert main(["archive", "verify", measured]) == 0


def test_an_answer_dated_outside_the_survey_period_is_refused(
    measured: str,
    sample_forms: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _to_evaluation(measured, tmp_path, sample_forms)
    data = tmp_path / "lonely.yaml"
    data.write_text("q1: 2\nq2: 2\nq3: 3\n", encoding="utf-8")
    monkeypatch.setenv("SWFLOW_NOW", "2026-03-13T10:00")
    enter = ["survey", "enter", measured, "lonely-post", "--by", WORKER, "--respondent", "L59", "--data", str(data)]
    capsys.readouterr()
    assert main([*enter, "--answered-on", "2026-03-12"]) == 2
    assert "填写日期 2026-03-12 不在调查期内（2026-03-02 至 2026-03-09）" in capsys.readouterr().err
    assert main([*enter, "--answered-on", "2026-03-09"]) == 0  # its last day


@pytest.mark.parametrize(
    ("change", "wanted"),
    [
        ({"score": "no_such"}, f"{AT}.score: 量表 service-satisfaction 没有得分 no_such"),
        ({"bands": ["很满意"]}, f"{AT}.bands: 得分 satisfied 没有分档 很满意（可选：满意、不满意或一般）"),
        ({"field": "evaluation-results.note"}, f"{AT}.field: 本模板的表单中没有数值字段 evaluation-results.note"),
        ({"scorecard": "no_such"}, f"{AT}.scorecard: 记分卡 default 没有指标 no_such"),
        ({"levels": [{"at_least": 90, "score": 9}]}, f"{AT}.levels: 得分 9 不在记分卡的 1–5 分之内"),
        ({"levels": [{"at_least": 80, "score": 4}, {"at_least": 90, "score": 5}]}, "at_least 须从高到低、互不相同"),
        ({"cutoff": 3}, "cutoff 只用于、且必须用于 share_at_least / share_at_most"),
    ],
)  # fmt: skip
def test_a_computed_indicator_that_does_not_fit_its_instrument_or_card_is_refused(
    archive_home: Path, people: Any, capsys: pytest.CaptureFixture[str], change: dict[str, Any], wanted: str
) -> None:
    path = measured_template(archive_home, **change)
    assert main(["templates", "validate", str(path)]) == 2
    assert wanted in capsys.readouterr().err
