"""Issue 16, part 3: an intervention group against a comparison group (difference in change, Welch's
t-test, Cohen's d), each closed item's distribution and a banded score cross-tabulated by a respondent
attribute — each checked against a computation here, without swflow's or scipy's code."""

from __future__ import annotations

import json
import math
import random
import statistics
from pathlib import Path
from typing import Any

import pytest
import yaml

from swflow import domain
from swflow.app.cli.main import main
from swflow.config.errors import FormError
from swflow.domain.projects.surveys import Answered, record_responses, survey_report

from ._support import FLOW_RUN_ID, MANAGER, NOW, SECOND_WORKER, SUPERVISOR, WORKER
from .test_survey_change import _t_p_value
from .test_survey_indicators import sheet

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "templates" / "elderly-care-brief.yaml"
DAY = NOW.date().isoformat()
GROUPS = ["干预组", "对照组"]
ATTRIBUTES = [{"key": "sex", "title": "性别", "options": ["男", "女"]}, {"key": "community", "title": "社区"}]
HEADER = ["受访者编号", "填写日期", "组别", "性别", "community", "q1", "q2", "q3"]


def _launch(home: Path) -> str:
    data = yaml.safe_load(SHIPPED.read_text(encoding="utf-8")) | {"id": "our-grouped", "version": 1}
    common = {"instrument": "ucla-3", "groups": GROUPS, "attributes": ATTRIBUTES}
    data["stages"][0]["surveys"] = [common | {"key": "pre", "title": "前测", "wave": "baseline", "expected": 100}]
    data["stages"][-1]["surveys"] = [common | {"key": "post", "title": "后测", "wave": "post", "expected": 90}]
    folder = home / "definitions" / "templates"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "our-grouped.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    request = domain.LaunchRequest(
        template_id="our-grouped", name="准实验", community="幸福社区", manager_id=MANAGER,
        supervisor_id=SUPERVISOR, worker_ids=[WORKER, SECOND_WORKER],
    )  # fmt: skip
    plan = domain.prepare_launch(request, NOW.date())
    domain.record_launch(plan, FLOW_RUN_ID, NOW)
    return plan.project_id


def _waves() -> tuple[list[list[Any]], list[list[Any]]]:
    """100 respondents, half in each group; 90 of them again, the intervention group less lonely."""
    rng = random.Random(1616)
    pre = [[f"G{n:03d}", DAY, GROUPS[n % 2], ("男", "女")[n % 3 == 0], ("东区", "西区")[n % 4 == 0],
            *(rng.choice((1, 2, 2, 3, 3)) for _ in range(3))] for n in range(100)]  # fmt: skip
    post = []
    for row in pre[:90]:
        drop = (0, 1, 1) if row[2] == "干预组" else (0, 0, 1)
        post.append([*row[:5], *(max(1, a - rng.choice(drop)) for a in row[5:])])
    return pre, post


@pytest.fixture
def grouped(archive_home: Path, people: Any, pass_stage: Any, tmp_path: Path) -> tuple[str, list[Any], list[Any]]:
    project = _launch(archive_home)
    pre, post = _waves()
    domain.open_stage(project, "assessment", NOW)
    assert main(["survey", "import", project, "pre", sheet(tmp_path / "pre.xlsx", HEADER, pre), "--by", WORKER]) == 0
    domain.submit_form(project, "needs-assessment", WORKER, _sample("needs-assessment"), NOW)
    decided = domain.record_decision(project, "assessment", SUPERVISOR, "approve", "", NOW)
    domain.apply_gate_reply(
        project, "assessment", domain.read_gate(project, "assessment").attempt, decided.decision_id, NOW
    )
    for stage, form in (("planning", "service-plan"), ("execution", "activity-record")):
        assert pass_stage(project, stage, form).kind == "approved"
    domain.open_stage(project, "evaluation", NOW)
    assert main(["survey", "import", project, "post", sheet(tmp_path / "post.xlsx", HEADER, post), "--by", WORKER]) == 0
    return project, pre, post


def _sample(form: str) -> dict[str, Any]:
    from swflow.app.samples import form_samples

    return dict(form_samples()[form])


def _total(row: list[Any]) -> int:
    return int(sum(row[5:]))


def test_the_intervention_group_changes_against_the_comparison_group_as_computed_here(
    grouped: tuple[str, list[Any], list[Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    project, pre, post = grouped
    [report] = [s for s in survey_report(project) if s["key"] == "post"]
    [compared] = report["group_change"]
    before = {row[0]: _total(row) for row in pre}
    changes = {g: [_total(r) - before[r[0]] for r in post if r[2] == g] for g in GROUPS}
    first, second = changes["干预组"], changes["对照组"]
    m1, m2, v1, v2 = (
        statistics.fmean(first),
        statistics.fmean(second),
        statistics.variance(first),
        statistics.variance(second),
    )
    n1, n2 = len(first), len(second)
    t = (m1 - m2) / math.sqrt(v1 / n1 + v2 / n2)
    df = (v1 / n1 + v2 / n2) ** 2 / ((v1 / n1) ** 2 / (n1 - 1) + (v2 / n2) ** 2 / (n2 - 1))
    pooled = math.sqrt(((n1 - 1) * v1 + (n2 - 1) * v2) / (n1 + n2 - 2))
    assert compared["difference_in_change"] == pytest.approx(m1 - m2, abs=1e-6)
    assert compared["welch"]["t"] == pytest.approx(t, abs=1e-5)
    assert compared["welch"]["df"] == pytest.approx(df, abs=1e-5)
    assert compared["welch"]["p"] == pytest.approx(_t_p_value(t, df), rel=1e-4)
    assert compared["cohens_d"] == pytest.approx((m1 - m2) / pooled, abs=1e-5)
    assert m1 < m2  # the intervention group became less lonely than the comparison group
    assert compared["groups"]["干预组"]["n_paired"] == 45 and compared["groups"]["对照组"]["lost_to_follow_up"] == 5

    q1 = next(d for d in report["distributions"] if d["key"] == "q1")
    wanted = {
        label: sum(1 for r in post if r[5] == point) for point, label in ((1, "几乎没有"), (2, "有时"), (3, "经常"))
    }
    assert q1["counts"] == wanted and q1["answered"] == 90
    sex = next(t for t in report["crosstabs"] if t["attribute"] == "sex")
    women_lonely = sum(1 for r in post if r[3] == "女" and _total(r) >= 6)
    assert sex["rows"]["女"]["孤独"] == women_lonely and list(sex["rows"]) == ["男", "女"]
    community = next(t for t in report["crosstabs"] if t["attribute"] == "community")
    assert set(community["rows"]) == {"东区", "西区"}
    assert sum(sum(cells.values()) for cells in community["rows"].values()) == 90
    assert report["groups"]["干预组"]["total"]["n"] == 45
    capsys.readouterr()
    assert main(["survey", "show", project]) == 0
    shown = capsys.readouterr().out
    assert f"孤独感总分：干预组的变化减对照组的变化 = {m1 - m2:+.6g}，Welch t 检验 p = " in shown
    assert f"    女：孤独 {women_lonely}、不孤独 " in shown and "  孤独感总分 × 性别：" in shown


def test_a_group_missing_wrong_or_changed_since_baseline_is_named_and_nothing_is_stored(
    grouped: tuple[str, list[Any], list[Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project, pre, _ = grouped
    late = [row for row in pre[90:]]
    late[0] = [*late[0][:2], "", *late[0][3:]]  # no group
    late[1] = [*late[1][:2], "实验组", *late[1][3:]]  # not a group of the survey
    late[2] = [*late[2][:2], GROUPS[0] if late[2][2] == GROUPS[1] else GROUPS[1], *late[2][3:]]  # changed
    late[3] = [*late[3][:3], "未知", *late[3][4:]]  # not an option of 性别
    capsys.readouterr()
    assert main(["survey", "import", project, "post", sheet(tmp_path / "late.xlsx", HEADER, late), "--by", WORKER]) == 2
    err = capsys.readouterr().err
    assert f"第 2 行（{late[0][0]}） › 组别：须填写组别（干预组、对照组）" in err
    assert f"第 3 行（{late[1][0]}） › 组别：「实验组」不是本问卷的组别（可选：干预组、对照组）" in err
    assert f"受访者 {late[2][0]} 在基线调查属于{pre[92][2]}，这里写的是{late[2][2]}（前后测须同组）" in err
    assert f"第 5 行（{late[3][0]}） › 性别：「未知」不是可选值（男、女）" in err
    assert "有 4 处错误，一份也没有录入" in err
    assert next(s for s in survey_report(project) if s["key"] == "post")["responses"] == 90
    headers = [h for h in HEADER if h != "组别"]
    no_group = sheet(tmp_path / "x.xlsx", headers, [r[:2] + r[3:] for r in late])
    assert main(["survey", "import", project, "post", no_group, "--by", WORKER]) == 2
    assert "缺少“组别”列（group）：本问卷分干预组、对照组" in capsys.readouterr().err
    answers = {"q1": 1, "q2": 1, "q3": 1}
    with pytest.raises(FormError, match="本问卷没有受访者信息「age」"):
        record_responses(
            project, "post", WORKER, [Answered(late[4][0], DAY, answers, "(文件)", "干预组", {"age": "70"})], NOW
        )
    capsys.readouterr()
    assert main(["survey", "show", project, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[1]["group_change"][0]["intervention"] == "干预组"


def test_the_dossier_shows_the_groups_the_items_and_the_crosstabs_to_those_who_see_the_answers(
    grouped: tuple[str, list[Any], list[Any]], tmp_path: Path
) -> None:
    project, _, post = grouped
    pages = {}
    for viewer in (SUPERVISOR, "qian.worker"):  # the project's supervisor; a worker outside the project
        out = tmp_path / viewer
        assert main(["archive", "export", project, "--out", str(out), "--as", viewer]) == 0
        pages[viewer] = (out / "index.html").read_text(encoding="utf-8")
    shown, masked = pages[SUPERVISOR], pages["qian.worker"]
    [compared] = next(s for s in survey_report(project) if s["key"] == "post")["group_change"]
    assert 'id="survey-groups-post"' in shown and f"{compared['difference_in_change']:+.4g}" in shown
    women_lonely = sum(1 for r in post if r[3] == "女" and _total(r) >= 6)
    assert "孤独感总分 × 性别（人数）" in shown
    assert f'<th scope="row">女</th><td class="num">{women_lonely}</td>' in shown
    assert "孤独感总分 × 性别" not in masked and "交叉表只对项目团队、督导和机构负责人显示" in masked
    assert 'id="survey-items-post"' in shown and "您有多经常觉得自己缺少陪伴？" in shown
