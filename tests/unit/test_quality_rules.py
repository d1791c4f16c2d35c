"""The pure rules of quality management (§7.3–§7.5, §8.1) and its settings, without a database."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from swflow.config.errors import DefinitionError
from swflow.config.quality import QualitySettings, quality_settings
from swflow.config.yaml_source import load_definition
from swflow.domain.quality.rules import (
    Audience,
    Circle,
    add_months,
    audience,
    coverage_state,
    session_problems,
    staffing_flag,
    supervision_due_at,
    why_not_move_complaint,
    why_not_read,
    working_days_between,
)

from ._quality import at

SESSION = Circle("督导记录 #1", frozenset({"li.supervisor", "wang.worker"}))


def test_a_supervision_record_is_read_by_its_supervisor_supervisee_and_director_only() -> None:
    assert why_not_read(SESSION, "li.supervisor", ["supervisor"]) is None
    assert why_not_read(SESSION, "wang.worker", ["worker"]) is None
    assert why_not_read(SESSION, "chen.director", ["director"]) is None
    refused = why_not_read(SESSION, "sun.supervisor", ["supervisor"])
    assert refused is not None and "督导记录 #1" in refused
    assert why_not_read(SESSION, "zhou.pm", ["manager"]) is not None


def test_individual_supervision_has_one_supervisee_and_group_at_least_two() -> None:
    today = date(2026, 3, 2)
    assert session_problems("li", ["supervisor"], {"wang": True}, "individual", today, today) == []
    assert session_problems("li", ["supervisor"], {"wang": True, "zhao": True}, "group", today, today) == []
    assert "个别督导" in session_problems("li", ["supervisor"], {"a": True, "b": True}, "individual", today, today)[0]
    assert "小组督导" in session_problems("li", ["supervisor"], {"wang": True}, "group", today, today)[0]


def test_only_a_supervisor_records_supervision_of_others_that_has_happened() -> None:
    today = date(2026, 3, 2)
    problems = session_problems("wang", ["worker"], {"wang": True, "qian": False}, "group", date(2026, 3, 9), today)
    assert len(problems) == 4  # no role, supervises themself, a supervisee left, a date to come
    assert any("督导」角色" in p for p in problems) and any("之后" in p for p in problems)


def test_a_complaint_is_acknowledged_then_answered_then_closed() -> None:
    assert why_not_move_complaint("open", "ack", 1) is None
    assert why_not_move_complaint("open", "answer", 1) is None  # an answer also acknowledges
    assert why_not_move_complaint("acknowledged", "answer", 1) is None
    assert why_not_move_complaint("answered", "close", 1) is None
    assert why_not_move_complaint("acknowledged", "ack", 1) is not None
    assert why_not_move_complaint("acknowledged", "close", 1) is not None
    assert why_not_move_complaint("closed", "answer", 1) is not None


def test_supervision_falls_due_on_a_working_day() -> None:
    assert supervision_due_at(date(2026, 3, 2), 30) == at("2026-04-01", 18)
    # 30 days after 2 September is 2 October, inside the National Day holiday (1–7 October)
    assert supervision_due_at(date(2026, 9, 2), 30) == at("2026-10-08", 18)


def test_coverage_state_says_overdue_after_the_due_time() -> None:
    due = at("2026-04-01", 18)
    assert coverage_state(due, at("2026-03-01")) == "ok"
    assert coverage_state(due, at("2026-03-30")) == "due_soon"
    assert coverage_state(due, at("2026-04-02")) == "overdue"


def test_a_yearly_review_from_29_february_falls_on_28_february() -> None:
    assert add_months(date(2028, 2, 29), 12) == date(2029, 2, 28)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2026, 3, 2), 12) == date(2027, 3, 2)


def test_audiences_name_the_people_of_the_record_and_the_directors() -> None:
    who = Audience(assignee=("wang",), manager=("zhou",), supervisor=("li",))
    assert audience(["assignee"], who, ["chen"]) == ["wang"]
    assert audience(["assignee", "manager"], who, ["chen"]) == ["wang", "zhou"]
    assert audience(["supervisor", "director"], who, ["chen", "wu"]) == ["chen", "li", "wu"]


def test_response_times_count_working_days_after_receipt() -> None:
    assert working_days_between(date(2026, 3, 2), date(2026, 3, 2)) == 0
    assert working_days_between(date(2026, 3, 6), date(2026, 3, 9)) == 1  # Friday → Monday
    assert working_days_between(date(2026, 9, 30), date(2026, 10, 9)) == 2  # 8 and 9 October: 1–7 are off


def test_an_urban_community_needs_a_qualified_worker_and_a_rural_one_should_have_one() -> None:
    assert staffing_flag("urban", 1) is None and staffing_flag("rural", 1) is None
    assert "至少配备一名" in (staffing_flag("urban", 0) or "")
    assert "宜配备" in (staffing_flag("rural", 0) or "")


def test_a_template_can_ask_for_more_frequent_supervision() -> None:
    rule = quality_settings().supervision
    assert rule.every_days_for([]) == rule.every_days == 30
    assert rule.every_days_for(["elderly-care-brief"]) == 30
    assert rule.every_days_for(["elderly-care-brief", "domestic-violence"]) == 14


def test_an_agency_copy_in_swflow_home_replaces_the_shipped_settings(archive_home: Path) -> None:
    shipped = Path(__file__).resolve().parents[2] / "config" / "quality.yaml"
    text = shipped.read_text(encoding="utf-8").replace("ack_days: 2", "ack_days: 1")
    (archive_home / "quality.yaml").write_text(text, encoding="utf-8")
    assert quality_settings().complaints.ack_days == 1


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (
            ("escalation_policy: default\n\ncomplaints", "escalation_policy: nowhere\n\ncomplaints"),
            "没有升级策略 nowhere",
        ),
        (("domestic-violence: 14", "no-such-template: 14"), "没有模板 no-such-template"),
        (("answer_days: 10", "answer_days: 1"), "answer_days 不能少于 ack_days"),
    ],
)
def test_bad_quality_settings_name_the_file_the_path_and_the_rule(
    tmp_path: Path, change: tuple[str, str], rule: str
) -> None:
    shipped = Path(__file__).resolve().parents[2] / "config" / "quality.yaml"
    path = tmp_path / "quality.yaml"
    text = shipped.read_text(encoding="utf-8")
    assert change[0] in text
    path.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_definition(path, QualitySettings)
    assert str(path) in str(caught.value) and rule in str(caught.value)
