"""Issue 16, part 3 on the web: the evaluation results page fills in what the project's surveys compute
(the satisfaction share, the respondents) and says where each value comes from; a value typed otherwise
is refused at its field with the value the answers give."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from swflow import domain
from swflow.app.cli.main import main
from swflow.domain.projects.work_view import work_item_view

from ..unit._support import NOW, WORKER
from ..unit.test_survey_indicators import SAT_HEADER, _to_evaluation, measured_template, satisfaction_rows, sheet
from .conftest import PHONE, sign_in
from .test_forms import submit, task_of


@pytest.fixture
def results_open(
    web_home: Path, sample_forms: dict[str, Any], give_password: Callable[[str], str], tmp_path: Path
) -> int:
    """A project whose evaluation is open with its loneliness post-test and 36 satisfaction answers in."""
    measured_template(web_home)
    request = domain.LaunchRequest(
        template_id="our-measured", name="孤独感干预", community="幸福社区", manager_id="zhou.pm",
        supervisor_id="li.supervisor", worker_ids=[WORKER],
    )  # fmt: skip
    plan = domain.prepare_launch(request, NOW.date())
    domain.record_launch(plan, "00000000-0000-0000-0000-000000000001", NOW)
    _to_evaluation(plan.project_id, tmp_path, sample_forms)
    rows = sheet(tmp_path / "s.xlsx", SAT_HEADER, satisfaction_rows(33, 36))
    answered = ["--answered-on", NOW.date().isoformat()]
    assert main(["survey", "import", plan.project_id, "satisfaction", rows, "--by", WORKER, *answered]) == 0
    give_password(WORKER)
    return task_of(WORKER, "evaluation-results")


@pytest.mark.browser
def test_the_results_page_fills_in_the_survey_values_and_refuses_another(
    web: str, results_open: int, browser: Any, sample_forms: dict[str, Any], shots: Callable[..., Path]
) -> None:
    page = browser.new_page(viewport=PHONE)
    sign_in(page, web, WORKER)
    page.goto(f"{web}/work/{results_open}")
    assert page.locator('[name="f.satisfaction_percent"]').input_value() == "91.67"
    assert page.locator('[name="f.respondents"]').input_value() == "36"
    note = page.locator("#from-satisfaction_percent").inner_text()
    assert note == "由问卷「满意度调查」计算：91.67 %（总体满意为满意的比例（%），n = 36）；提交时须与此一致"
    table = page.locator("#from-post").inner_text()
    assert "「孤独感平均分」由问卷「孤独感后测」计算" in table and "满意" not in table  # the fields have their own
    shots(page, "survey-values-filled")

    sample = sample_forms["evaluation-results"]
    for index, row in enumerate(sample["goal_attainment"][:1]):
        page.fill(f'[name="f.goal_attainment.{index}.goal"]', row["goal"])
        page.select_option(f'[name="f.goal_attainment.{index}.attainment"]', row["attainment"])
        page.fill(f'[name="f.goal_attainment.{index}.evidence"]', row["evidence"])
    page.fill('[name="f.post.0.indicator"]', "服务对象每周获得探访的比例")
    page.fill('[name="f.post.0.value"]', "82")
    page.fill('[name="f.post.0.measured_on"]', NOW.date().isoformat())
    page.fill('[name="f.satisfaction_percent"]', "91.7")
    submit(page)
    errors = page.locator('[id="w-f.satisfaction_percent"]').inner_text()
    assert "由问卷「满意度调查」的 36 份回答算得 91.67" in errors and "填的是 91.7" in errors
    assert work_item_view(results_open, WORKER).submitted is None
    page.fill('[name="f.satisfaction_percent"]', "91.67")
    submit(page)
    stored = work_item_view(results_open, WORKER).submitted
    assert stored is not None and stored["satisfaction_percent"] == 91.67
