"""The words and rows of the definition pages (domain.agency.instrument_views): a problem of a trial is
placed at its item, a sheet's problems are capped and counted, a comparison names a score that is not
there and the problems of both waves; the numbers are forms_spec's own."""

from __future__ import annotations

from swflow.domain.agency.instrument_views import (
    MOST_SHOWN,
    check_sheet,
    compare_sheets,
    form_view,
    instrument_view,
    try_answers,
)
from swflow.forms_spec import get_form
from swflow.forms_spec.instrument import get_instrument


def test_a_trial_places_each_problem_at_its_item_and_scores_only_when_all_hold() -> None:
    satisfaction = get_instrument("service-satisfaction")
    tried = try_answers(satisfaction, {"heard_from": "other", "content.fit": "9", "nonsense": "1"})
    assert "其他：选了「其他」须写明内容" in tried.problems["heard_from"]
    assert any(rule.startswith("fit（活动内容符合我的需要）：须是") for rule in tried.problems["content"])
    assert tried.unplaced == ["nonsense：问卷中没有这一题"] and tried.scores == []
    ucla = try_answers(get_instrument("ucla-3"), {"q1": "3", "q2": "经常", "q3": 1})
    assert ucla.count == 0 and ucla.scores == [
        {"key": "total", "title": "孤独感总分", "of": 3, "value": 7, "band": "孤独", "answered": 3}
    ]


def test_a_sheet_lists_at_most_two_hundred_problems_and_counts_the_rest() -> None:
    ucla = get_instrument("ucla-3")
    rows = "\n".join(f"r{n},9,9,9" for n in range(100))
    checked = check_sheet(ucla, "many.csv", f"受访者编号,q1,q2,q3\n{rows}\n".encode())
    assert len(checked.problems) == MOST_SHOWN and checked.more == 300 - MOST_SHOWN and checked.scores == []
    good = check_sheet(ucla, "good.csv", "受访者编号,q1,q2,q3\nr1,1,1,1\nr2,3,3,3\n".encode("gb18030"))
    assert good.responses == 2 and good.scores[0]["n"] == 2 and good.scores[0]["mean"] == 6
    assert check_sheet(ucla, "a.pdf", b"x").problems == [("文件", "a.pdf：回答表须是 .xlsx 或 .csv 文件")]


def test_a_comparison_names_an_unknown_score_and_the_wave_of_each_problem() -> None:
    ucla = get_instrument("ucla-3")
    good = ("b.csv", "受访者编号,q1,q2,q3\nr1,1,1,1\n".encode())
    compared = compare_sheets(ucla, "nope", good, ("p.csv", "受访者编号,q1,q2,q3\nr1,1,1,7\n".encode()))
    assert compared.result is None and compared.problems[0] == ("计分", "ucla-3 没有计分 nope（可选：total）")
    assert compared.problems[1][0].startswith("后测 › 第 2 行（r1） › q3")
    paired = compare_sheets(ucla, "total", good, ("p.csv", "受访者编号,q1,q2,q3\nr1,2,2,2\n".encode()))
    assert paired.result is not None and paired.result["n_paired"] == 1 and paired.result["mean_change"] == 3


def test_a_forms_conditions_and_an_instruments_skips_are_in_words() -> None:
    view = form_view(get_form("service-activity-record"))
    method_other = next(f for f in view.fields if f.name == "method_other")
    assert method_other.condition == "当「主要工作方法」为「其他」时填写" and method_other.type_words == "单行文字"
    assert view.rules and all("：" in line for line in view.rules)
    why_not = next(i for i in instrument_view(get_instrument("service-satisfaction")).items if i.key == "why_not")
    assert why_not.condition.startswith("仅当「") and why_not.condition.endswith("答「否」时回答")
