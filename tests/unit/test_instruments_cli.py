"""`swflow instruments`: list, show, validate an agency's file, score one respondent's answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from swflow.app.cli.main import main
from swflow.forms_spec.instrument import get_instrument

PHQ9_ANSWERS = {"q1": 1, "q2": "好几天", "q3": 1, "q4": 3, "q5": 0, "q6": 2, "q7": 1, "q8": 0, "q9": 0}


def test_list_and_show_say_where_an_instrument_comes_from(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["instruments", "list"]) == 0
    assert "phq-9" in capsys.readouterr().out
    assert main(["instruments", "show", "service-satisfaction"]) == 0
    out = capsys.readouterr().out
    assert "来源：swflow 自拟" in out and "反向计分" in out and "仅当「您愿意继续参加本项目的服务吗？」答「否」" in out
    assert "content.fit" in out and "可选：committee=居委会通知" in out


def test_score_prints_each_score_with_its_band_and_json_keeps_the_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text(yaml.safe_dump(PHQ9_ANSWERS, allow_unicode=True), encoding="utf-8")
    assert main(["instruments", "score", "phq-9", str(answers)]) == 0
    assert "抑郁症状总分：9（轻度）  已答 9 题" in capsys.readouterr().out  # 1+1+1+3+0+2+1+0+0
    assert main(["instruments", "score", "phq-9", str(answers), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["answers"]["q2"] == 1 and report["scores"]["self_harm"]["band"] == "未报告"
    assert report["scoring_version"] == 1


def test_bad_answers_are_all_named_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text(yaml.safe_dump({**PHQ9_ANSWERS, "q1": 4, "q10": "很难", "q11": 1}), encoding="utf-8")
    assert main(["instruments", "score", "phq-9", str(answers)]) == 2
    err = capsys.readouterr().err
    assert "3 处错误" in err and "q11：问卷中没有这一题" in err and "须是 0–3 的整数或其标签" in err
    assert "q10" in err and "须是选项之一" in err and "Traceback" not in err


def test_an_agency_instrument_is_checked_with_its_path_and_then_listed(
    archive_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = archive_home / "definitions" / "instruments"
    folder.mkdir(parents=True)
    mine = get_instrument("ucla-3").model_dump(mode="json") | {"id": "our-loneliness", "title": "本机构孤独感问卷"}
    mine["items"][2]["scale"] = "frequency"  # no such scale in this file
    path = folder / "our-loneliness.yaml"
    path.write_text(yaml.safe_dump(mine, allow_unicode=True), encoding="utf-8")
    assert main(["instruments", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "items.2.scale：没有量表 frequency" in err
    mine["items"][2]["scale"] = "often"
    path.write_text(yaml.safe_dump(mine, allow_unicode=True), encoding="utf-8")
    assert main(["instruments", "validate", str(path)]) == 0
    assert main(["instruments", "list"]) == 0
    assert "本机构孤独感问卷" in capsys.readouterr().out
