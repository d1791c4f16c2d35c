"""Issue 16, part 1: instruments as data — response scales of any range, reverse items, grids, skip
logic, "其他：____", subscales, totals and bands — scoring known answer sheets to their published totals."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from swflow.forms_spec.instrument import Instrument, get_instrument, list_instruments
from swflow.forms_spec.scoring import check_answers, score_answers

SATISFIED = {
    "heard_from": "其他",
    "heard_from.other": "社区微信群",
    "sessions": "12",
    "content.fit": 5,
    "content.time": "满意",
    "content.safety": 3,
    "worker.attitude": 5,
    "worker.skill": 4,
    "worker.response": 4,
    "helped": 4,
    "useless": 2,  # reverse-scored: 6 − 2 = 4
    "continue": "是",
    "overall": "非常满意",
}


def test_every_shipped_instrument_says_where_it_and_its_scoring_come_from() -> None:
    ids = {i.id for i in list_instruments()}
    assert {"phq-9", "ucla-3", "who-5", "service-satisfaction"} <= ids
    for instrument in list_instruments():
        assert instrument.source and instrument.licence and instrument.scoring_source


def test_phq9_scores_a_known_answer_sheet_to_its_published_total_and_band() -> None:
    phq = get_instrument("phq-9")
    answers = {f"q{n}": v for n, v in zip(range(1, 10), (1, 2, 1, 3, 0, 2, 1, 0, 1), strict=True)}
    kept, problems = check_answers(phq, {**answers, "q4": "几乎每天", "q10": "有些困难"})
    assert problems == [] and kept["q4"] == 3 and kept["q10"] == "some"
    scores = score_answers(phq, kept)
    assert scores["total"] == {"value": 11, "band": "中度", "answered": 9}  # 1+2+1+3+0+2+1+0+1
    assert scores["self_harm"]["band"] == "需立即评估风险"
    assert score_answers(phq, {**kept, "q1": 3, "q2": 3, "q3": 3})["total"]["band"] == "中重度"  # 15


def test_who5_transforms_the_raw_sum_to_a_percentage() -> None:
    who = get_instrument("who-5")
    kept, problems = check_answers(who, {"q1": 3, "q2": 2, "q3": 2, "q4": 3, "q5": 2})
    assert problems == []
    assert score_answers(who, kept)["index"] == {"value": 48, "band": "较差", "answered": 5}  # 12 × 4


def test_reverse_items_grids_and_subscales_of_the_satisfaction_questionnaire() -> None:
    survey = get_instrument("service-satisfaction")
    kept, problems = check_answers(survey, SATISFIED)
    assert problems == []
    assert (kept["heard_from"], kept["heard_from.other"], kept["sessions"], kept["continue"]) == (
        "other",
        "社区微信群",
        12,
        True,
    )
    scores = score_answers(survey, kept)
    assert scores["content"]["value"] == 4  # (5 + 4 + 3) / 3
    assert scores["worker"]["value"] == pytest.approx(13 / 3, abs=1e-4)
    assert scores["benefit"]["value"] == 4  # (4 + (6 − 2)) / 2: the negative item turned
    assert scores["satisfied"]["band"] == "满意"


def test_every_bad_answer_is_named_at_once_with_its_item() -> None:
    survey = get_instrument("service-satisfaction")
    given = {**SATISFIED, "heard_from.other": "", "content.fit": 6, "sessions": "很多", "why_not": "太远", "q99": 1}
    del given["overall"]
    _, problems = check_answers(survey, given)
    assert dict(problems) == {
        "q99": "问卷中没有这一题",
        "heard_from（您是通过什么途径知道本项目的？） › 其他": "选了「其他」须写明内容",
        "sessions（您参加了几次本项目的活动或服务？）": "须是数字",
        "content（请为本项目的服务内容打分） › fit（活动内容符合我的需要）": (
            "须是 1–5 的整数或其标签（1=非常不满意、2=不满意、3=一般、4=满意、5=非常满意）"
        ),
        "why_not（不愿意继续参加的主要原因是什么？）": (
            "只在「您愿意继续参加本项目的服务吗？」答「否」时回答（跳过此题）"
        ),
        "overall（总体而言，您对本项目的服务满意…）": "必答",
    }


def test_skip_logic_asks_the_follow_up_only_after_its_answer() -> None:
    survey = get_instrument("service-satisfaction")
    _, problems = check_answers(survey, {**SATISFIED, "continue": "否"})
    assert problems == [("why_not（不愿意继续参加的主要原因是什么？）", "必答")]
    kept, problems = check_answers(survey, {**SATISFIED, "continue": "否", "why_not": "活动时间与上班冲突"})
    assert problems == [] and kept["why_not"] == "活动时间与上班冲突"


def test_too_few_answers_give_no_score_rather_than_a_wrong_one() -> None:
    ucla = get_instrument("ucla-3")
    assert score_answers(ucla, {"q1": 3, "q2": 3})["total"] == {"value": None, "band": None, "answered": 2}


@pytest.mark.parametrize(
    ("change", "wanted"),
    [
        (lambda d: d["items"][0].update(scale="agreement"), r"items\.0\.scale：没有量表 agreement"),
        (lambda d: d["items"][0].update(show_if={"item": "q3", "equals": [1]}), r"不是此前的题目"),
        (lambda d: d["scores"][0].update(items=["q1", "q7"]), r"scores\.0\.items：没有题目 q7"),
        (lambda d: d["scales"]["often"].update(points={1: "少", 3: "多"}), r"连续整数"),
        (lambda d: d["scores"][0]["bands"].reverse(), r"bands：须从高到低排列"),
    ],
)
def test_an_instrument_that_does_not_hold_together_is_refused_as_a_definition(change: Any, wanted: str) -> None:
    data = copy.deepcopy(get_instrument("ucla-3").model_dump(mode="json"))
    data["scales"]["often"]["points"] = {int(k): v for k, v in data["scales"]["often"]["points"].items()}
    change(data)
    with pytest.raises(ValueError, match=wanted):
        Instrument.model_validate(data)
