"""Issue 16 (toward part 2): a spreadsheet of many respondents checked against an instrument — every bad
cell named at once, duplicate respondents refused — and its scores summarised (n, mean, sd, bands)."""

from __future__ import annotations

import csv
import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from swflow.app.cli.main import main
from swflow.forms_spec.instrument import get_instrument
from swflow.forms_spec.responses import read_responses

ITEMS = [f"q{n}" for n in range(1, 10)]


def _respondents(count: int, seed: int = 16) -> list[list[Any]]:
    rng = random.Random(seed)
    return [[f"R{n:03d}", *(rng.choice((0, 0, 1, 1, 2, 3)) for _ in ITEMS)] for n in range(1, count + 1)]


def _xlsx(path: Path, header: list[Any], rows: list[list[Any]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_two_hundred_respondents_are_scored_and_summarised_as_an_independent_computation_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _respondents(200)
    path = _xlsx(tmp_path / "baseline.xlsx", ["受访者编号", *ITEMS], rows)
    assert main(["instruments", "check", "phq-9", str(path), "--json"]) == 0
    total = json.loads(capsys.readouterr().out)["scores"]["total"]
    sums = [sum(row[1:]) for row in rows]
    mean = sum(sums) / len(sums)
    sd = math.sqrt(sum((s - mean) ** 2 for s in sums) / (len(sums) - 1))
    assert total["n"] == 200 and total["mean"] == pytest.approx(mean, abs=1e-4)
    assert total["sd"] == pytest.approx(sd, abs=1e-4)
    assert (total["min"], total["max"]) == (min(sums), max(sums))
    assert total["bands"]["中度"] == sum(1 for s in sums if 10 <= s <= 14)
    assert sum(total["bands"].values()) == 200
    assert total["shares"]["中度"] == round(100 * total["bands"]["中度"] / 200, 1)
    assert main(["instruments", "check", "phq-9", str(path)]) == 0
    assert "200 份有效回答" in capsys.readouterr().out


def test_a_sheet_with_three_bad_cells_names_all_three(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = _respondents(30)
    rows[3][2], rows[10][9], rows[20][5] = 4, "不知道", ""  # out of range, not a label, a required item left empty
    path = _xlsx(tmp_path / "bad.xlsx", ["respondent", *ITEMS], rows)
    assert main(["instruments", "check", "phq-9", str(path)]) == 2
    err = capsys.readouterr().err
    assert "3 处错误" in err
    assert "第 5 行（R004） › q2（感到心情低落、沮丧或绝望）：须是 0–3 的整数或其标签" in err
    assert "第 12 行（R011） › q9（有不如死掉或用某种方式伤害自己…）：须是 0–3 的整数或其标签" in err
    assert "第 22 行（R021） › q5（食欲不振或吃太多）：必答" in err


def test_a_respondent_twice_and_a_column_the_instrument_lacks_are_refused() -> None:
    phq = get_instrument("phq-9")
    rows = _respondents(3)
    rows[2][0] = "R001"
    _, problems = read_responses(phq, ["respondent", *ITEMS], rows)
    assert problems == [("第 4 行（R001）", "受访者 R001 与第 2 行重复（每人每次调查只答一份）")]
    _, problems = read_responses(phq, ["respondent", *ITEMS, "q99"], rows)
    assert problems == [("第 1 行 › 第 11 列「q99」", "问卷中没有这一题（列名写题号，如 q1，或题目原文）")]
    _, problems = read_responses(phq, ITEMS[:8], [row[1:9] for row in rows])
    assert [rule for _, rule in problems] == [
        "缺少受访者编号列（列名：respondent 或 受访者编号）",
        "缺少必答题的列：q9",
    ]


def test_a_csv_saved_by_excel_in_gb18030_with_the_questions_as_headers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ucla = get_instrument("ucla-3")
    header = ["受访者编号", *(f"{n}. {item.text}" for n, item in enumerate(ucla.items, start=1))]
    path = tmp_path / "loneliness.csv"
    with path.open("w", encoding="gb18030", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows([["A1", "经常", "有时", "经常"], ["A2", 1, 1, 2], ["", "", "", ""]])
    assert main(["instruments", "check", "ucla-3", str(path), "--json"]) == 0
    total = json.loads(capsys.readouterr().out)["scores"]["total"]
    assert (total["n"], total["mean"], total["bands"]) == (2, 6, {"孤独": 1, "不孤独": 1})  # (8 + 4) / 2
