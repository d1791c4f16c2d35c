"""A survey spreadsheet of 5,000 respondents × 30 items (an agency instrument on a 1–5 scale, three
subscales and a total): `swflow instruments check` end to end, reading the XLSX and the CSV, checking
every cell, scoring and summarising. Median of 3 runs of the CLI, each a new process.

Run by hand:  .venv/bin/python bench/survey_sheet.py
"""

from __future__ import annotations

import csv
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from openpyxl import Workbook

RESPONDENTS, ITEMS = 5_000, 30


def _instrument(folder: Path) -> None:
    items = [{"key": f"q{n}", "text": f"第 {n} 题", "scale": "agree", "reverse": n % 7 == 0} for n in range(1, 31)]
    parts = {p: [f"q{n}" for n in range(p * 10 - 9, p * 10 + 1)] for p in (1, 2, 3)}
    scores = [
        {"key": f"part{p}", "title": f"分量表 {p}", "method": "mean", "items": keys} for p, keys in parts.items()
    ] + [{"key": "total", "title": "总分", "items": [f"q{n}" for n in range(1, 31)],
          "bands": [{"label": "高", "min": 110}, {"label": "中", "min": 80}, {"label": "低", "min": 0}]}]  # fmt: skip
    instrument = {
        "id": "bench-30",
        "version": 1,
        "title": "基准问卷（30 题）",
        "source": "bench",
        "licence": "bench",
        "scoring_source": "bench",
        "scales": {"agree": {"points": {1: "非常不同意", 2: "不同意", 3: "说不清", 4: "同意", 5: "非常同意"}}},
        "items": items,
        "scores": scores,
    }
    folder.mkdir(parents=True)
    (folder / "bench-30.yaml").write_text(yaml.safe_dump(instrument, allow_unicode=True), encoding="utf-8")


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="swflow-bench-survey-"))
    _instrument(home / "definitions" / "instruments")
    rng = random.Random(5000)
    header = ["respondent", *(f"q{n}" for n in range(1, ITEMS + 1))]
    rows = [[f"R{r:05d}", *(rng.randint(1, 5) for _ in range(ITEMS))] for r in range(RESPONDENTS)]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in [header, *rows]:
        sheet.append(row)
    book.save(home / "responses.xlsx")
    with (home / "responses.csv").open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows([header, *rows])
    env = {**os.environ, "SWFLOW_HOME": str(home)}
    for name in ("responses.xlsx", "responses.csv"):
        times = []
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "swflow.app.cli", "instruments", "check", "bench-30", str(home / name)],
                env=env,
                check=True,
                capture_output=True,
            )
            times.append(time.perf_counter() - start)
        size = (home / name).stat().st_size / 1e6
        median = statistics.median(times)
        print(f"instruments check, {RESPONDENTS} × {ITEMS}, {name} ({size:.1f} MB): median {median:.2f} s")


if __name__ == "__main__":
    main()
