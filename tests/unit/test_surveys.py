"""Issue 16, part 2: a template names its surveys; a worker imports a sheet of responses (or enters a
paper questionnaire), every bad cell named and nothing stored when any is bad; each response is a record
of the project that `archive verify` checks; `swflow survey show` gives the pre/post change."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import Workbook
from sqlalchemy import func, select

from swflow import domain
from swflow.app.cli.main import main
from swflow.db.engine import read_session
from swflow.db.tables import FormSubmission
from swflow.forms_spec.instrument import get_instrument

from ._support import FLOW_RUN_ID, MANAGER, NOW, SECOND_WORKER, SUPERVISOR, WORKER, pass_up_to_evaluation

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "templates" / "elderly-care-brief.yaml"
DAY = NOW.date().isoformat()
PRE = {"key": "loneliness-pre", "title": "孤独感前测", "instrument": "ucla-3", "wave": "baseline", "expected": 200}
POST = {"key": "loneliness-post", "title": "孤独感后测", "instrument": "ucla-3", "wave": "post", "expected": 180}


def _template(home: Path, pre: dict[str, Any] | None = PRE, post: dict[str, Any] = POST) -> Path:
    data = yaml.safe_load(SHIPPED.read_text(encoding="utf-8")) | {"id": "our-surveyed", "version": 1}
    if pre:
        data["stages"][0]["surveys"] = [pre]
    data["stages"][-1]["surveys"] = [post]
    folder = home / "definitions" / "templates"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "our-surveyed.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _launch() -> str:
    request = domain.LaunchRequest(
        template_id="our-surveyed", name="孤独感干预", community="幸福社区", manager_id=MANAGER,
        supervisor_id=SUPERVISOR, worker_ids=[WORKER, SECOND_WORKER],
    )  # fmt: skip
    plan = domain.prepare_launch(request, NOW.date())
    domain.record_launch(plan, FLOW_RUN_ID, NOW)
    return plan.project_id


def _sheet(path: Path, header: list[Any], rows: list[list[Any]]) -> str:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in [header, *rows]:
        sheet.append(row)
    book.save(path)
    return str(path)


def _waves() -> tuple[list[list[Any]], list[list[Any]]]:
    rng = random.Random(16)
    pre = [[f"C{n:03d}", *(rng.choice((1, 2, 2, 3, 3)) for _ in range(3))] for n in range(200)]
    post = [[row[0], DAY, *(max(1, a - rng.choice((0, 0, 1))) for a in row[1:])] for row in pre[:180]]
    return pre, post


def _stored() -> int:
    with read_session() as session:
        return int(session.scalar(select(func.count()).select_from(FormSubmission)) or 0)


@pytest.fixture
def surveyed(archive_home: Path, people: Any) -> str:
    _template(archive_home)
    return _launch()


def test_a_template_refuses_a_post_survey_naming_no_baseline_and_an_unknown_instrument(
    archive_home: Path, people: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _template(archive_home, pre=None)  # a post-only survey (satisfaction at the end) is allowed
    assert main(["templates", "validate", str(path)]) == 0
    path = _template(archive_home, pre=None, post=POST | {"compare_with": "loneliness-pre"})
    assert main(["templates", "validate", str(path)]) == 2
    assert (
        "stages.3.surveys.0.compare_with: 后测问卷须与此前同一量表（ucla-3）的基线问卷对照" in capsys.readouterr().err
    )
    path = _template(archive_home, post=POST | {"period": {"from_day": 2, "to_day": 11}})
    assert main(["templates", "validate", str(path)]) == 2
    assert "stages.3.surveys.0.period.to_day: 调查期须在本阶段的 10 个工作日内" in capsys.readouterr().err
    path = _template(archive_home, pre=PRE | {"instrument": "no-such"}, post=POST | {"instrument": "no-such"})
    assert main(["templates", "validate", str(path)]) == 2
    assert "stages.0.surveys.0.instrument: 没有量表/问卷 no-such" in capsys.readouterr().err


def test_two_waves_imported_give_the_change_an_independent_computation_gives(
    surveyed: str, pass_stage: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pre, post = _waves()
    domain.open_stage(surveyed, "assessment", NOW)
    sheet = _sheet(tmp_path / "pre.xlsx", ["受访者编号", "q1", "q2", "q3"], pre)
    argv = ["survey", "import", surveyed, "loneliness-pre", sheet, "--by", WORKER, "--answered-on", DAY]
    assert main(argv) == 0
    assert "已录入问卷 loneliness-pre 的 200 份回答" in capsys.readouterr().out
    assert main(argv) == 2  # the same people again: every one refused, nothing added
    assert "受访者 C000 的回答已经录入过" in capsys.readouterr().err and _stored() == 200
    pass_up_to_evaluation(pass_stage, surveyed)
    domain.open_stage(surveyed, "evaluation", NOW)
    texts = [item.text for item in get_instrument("ucla-3").items]  # columns by the questions' text
    header = ["respondent", "填写日期", *(f"{n}. {t}" for n, t in enumerate(texts, start=1))]
    assert (
        main(
            [
                "survey",
                "import",
                surveyed,
                "loneliness-post",
                _sheet(tmp_path / "post.xlsx", header, post),
                "--by",
                WORKER,
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["survey", "show", surveyed, "--json"]) == 0
    report = {s["key"]: s for s in json.loads(capsys.readouterr().out)}
    assert (report["loneliness-pre"]["responses"], report["loneliness-post"]["responses"]) == (200, 180)
    change = report["loneliness-post"]["change"][0]
    before = {row[0]: sum(row[1:]) for row in pre}
    diffs = [sum(row[2:]) - before[row[0]] for row in post]
    mean = sum(diffs) / len(diffs)
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1))
    assert (change["n_paired"], change["lost_to_follow_up"]) == (180, 20)
    assert change["mean_change"] == pytest.approx(mean, abs=1e-6) and change["cohens_dz"] == pytest.approx(
        mean / sd, abs=1e-5
    )
    assert main(["survey", "show", surveyed]) == 0
    assert "孤独感总分 较 loneliness-pre：配对 180 人" in capsys.readouterr().out
    assert main(["indicators", surveyed]) == 0
    shown = capsys.readouterr().out
    assert "问卷调查" in shown and "loneliness-post  孤独感后测（后测，ucla-3 v1）：180 / 180 份" in shown
    assert "孤独 " in shown and "不孤独 " in shown  # the bands, with how many in each
    assert main(["archive", "verify"]) == 0  # each response a record the chain and the tables agree on
    assert main(["archive", "export", surveyed, "--out", str(tmp_path / "dossier")]) == 0
    from openpyxl import load_workbook

    book = load_workbook(tmp_path / "dossier" / "tables.xlsx", read_only=True)
    assert book["问卷-loneliness-post"].max_row == 181  # a header and a row per respondent
    assert not [s for s in book.sheetnames if s.startswith("问卷：")]  # not also as a form's sheet
    assert "孤独感后测" in (tmp_path / "dossier" / "index.html").read_text(encoding="utf-8")
    items = [i for s in domain.project_status(surveyed)["stages"] for i in s["work_items"]]
    assert not [i for i in items if i["form"].startswith("survey-")]  # responses are summarised, not listed


def test_a_sheet_with_three_bad_cells_stores_nothing_and_names_them(
    surveyed: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pre, _ = _waves()
    pre[4][1], pre[50][3], pre[99][0] = 7, "从不", pre[98][0]
    domain.open_stage(surveyed, "assessment", NOW)
    sheet = _sheet(tmp_path / "pre.xlsx", ["受访者编号", "q1", "q2", "q3"], pre)
    assert main(["survey", "import", surveyed, "loneliness-pre", sheet, "--by", WORKER, "--answered-on", DAY]) == 2
    err = capsys.readouterr().err
    assert "3 处错误，一份也没有录入" in err
    assert "第 6 行（C004） › q1" in err and "第 52 行（C050） › q3" in err and "第 101 行（C098）" in err
    assert _stored() == 0


def test_a_paper_questionnaire_entered_by_the_team_only_and_not_dated_before_launch(
    surveyed: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    domain.open_stage(surveyed, "assessment", NOW)
    answers = tmp_path / "a.yaml"
    answers.write_text("q1: 经常\nq2: 有时\nq3: 2\n", encoding="utf-8")
    base = ["survey", "enter", surveyed, "loneliness-pre", "--respondent", "P1", "--data", str(answers)]
    assert main([*base, "--by", "qian.worker", "--answered-on", DAY]) == 3
    assert "不是项目" in capsys.readouterr().err
    assert main([*base, "--by", WORKER, "--answered-on", "2026-03-01"]) == 2
    assert "填写日期不能早于项目启动日（2026-03-02）" in capsys.readouterr().err
    assert main([*base, "--by", WORKER, "--answered-on", DAY]) == 0 and _stored() == 1
