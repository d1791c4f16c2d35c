"""An agency's points-based sheet (issue 15, part 2) as a web page: its items listed one row each, a
maximum exceeded refused at its input, the evidence uploaded, the total and grade computed by swflow."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from swflow import domain
from swflow.domain.projects.work_view import work_item_view

from ..unit._support import NOW, WORKER, pass_up_to_evaluation
from ..unit.test_agency_definitions import _agency_template, _definitions, _launch
from ..unit.test_points_sheet import SHEET
from .conftest import PHONE, sign_in
from .test_forms import submit, task_of


@pytest.fixture
def sheet_open(
    web_home: Path, pass_stage: Any, give_password: Callable[[str], str], capsys: pytest.CaptureFixture[str]
) -> int:
    """An agency template whose evaluation stage is the funder's sheet, open for wang.worker."""
    (_definitions(web_home, "forms") / "funder-evaluation.yaml").write_text(
        yaml.safe_dump(SHEET, allow_unicode=True), encoding="utf-8"
    )
    _agency_template(web_home, capsys)
    project = _launch("our-elderly")
    pass_up_to_evaluation(pass_stage, project)
    domain.open_stage(project, "evaluation", NOW)
    give_password(WORKER)
    return task_of(WORKER, "funder-evaluation")


@pytest.mark.browser
def test_a_worker_scores_the_sheet_with_evidence_and_sees_the_grade(
    web: str, sheet_open: int, browser: Any, tmp_path: Path, shots: Callable[..., Path]
) -> None:
    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, WORKER)
    page.goto(f"{web}/work/{sheet_open}")
    picked = [page.locator(f'[name="f.items.{i}.item"]').input_value() for i in range(3)]
    assert picked == ["plan", "records", "outcome"]  # one row per item, ready to score
    assert "提交后显示" in page.locator('[id="w-f.total"]').inner_text()
    evidence = tmp_path / "签到表.pdf"
    evidence.write_bytes(b"%PDF-1.4 sign-in sheet")
    for index, points in enumerate((29, 27, 45)):
        page.fill(f'[name="f.items.{index}.points"]', str(points))
    page.set_input_files('[name="f.items.1.evidence.file"]', str(evidence))
    page.set_input_files('[name="f.items.2.evidence.file"]', str(evidence))
    submit(page)
    errors = page.locator('[id="w-f.items"]').inner_text()
    assert "「服务成效」的得分须在 0–40 之间" in errors  # at the row's input, nothing recorded
    assert work_item_view(sheet_open, WORKER).submitted is None
    page.fill('[name="f.items.2.points"]', "36")
    submit(page)
    shots(page, "points-sheet-submitted")
    stored = work_item_view(sheet_open, WORKER).submitted
    assert stored is not None and (stored["total"], stored["grade"]) == (92, "优秀")
    sha = hashlib.sha256(evidence.read_bytes()).hexdigest()
    assert stored["items"][1]["evidence"]["sha256"] == stored["items"][2]["evidence"]["sha256"] == sha
    page.goto(f"{web}/work/{sheet_open}")
    assert "92" in page.locator('[id="w-f.total"]').inner_text()
