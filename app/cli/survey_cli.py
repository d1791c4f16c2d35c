"""`swflow survey`: a project's surveys (issue 16) — import a sheet of responses or enter one paper
questionnaire, checked all at once and recorded all or nothing; show what they add up to."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TypeAlias

from swflow.app.cli.common import domain_acts, print_json, read_data_file
from swflow.config.clock import system_clock
from swflow.config.errors import FormError

__all__ = ["add_survey_commands", "print_surveys", "SURVEY_COMMANDS"]

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Add: TypeAlias = Callable[[Sub, str, str], argparse.ArgumentParser]
WAVE_WORDS = {"needs": "需求调查", "baseline": "基线（前测）", "post": "后测"}


def add_survey_commands(sub: Sub, add: Add) -> None:
    group = add(sub, "survey", "项目的问卷调查：录入回答、查看汇总与前后测变化")
    parts = group.add_subparsers(dest="survey_command", required=True, metavar="子命令")
    p = add(parts, "import", "导入一份回答表（XLSX/CSV：每行一位受访者）；有一处错就一份也不录入")
    p.add_argument("project")
    p.add_argument("survey", help="模板中问卷的 key")
    p.add_argument("file")
    p.add_argument("--by", required=True, help="录入人（项目团队成员）")
    p.add_argument("--answered-on", help="表中没有“填写日期”列时，所有回答的填写日期（YYYY-MM-DD）")
    p = add(parts, "enter", "录入一份纸质问卷")
    p.add_argument("project")
    p.add_argument("survey")
    p.add_argument("--by", required=True, help="录入人（项目团队成员）")
    p.add_argument("--respondent", required=True, help="受访者编号（名册问卷填服务对象的登记编号）")
    p.add_argument("--answered-on", required=True, help="填写日期（YYYY-MM-DD）")
    p.add_argument("--data", required=True, help="回答文件（YAML/JSON：题号: 回答）")
    p.add_argument("--group", help="组别（问卷分干预组、对照组时必填）")
    p.add_argument("--attribute", action="append", default=[], metavar="KEY=值", help="受访者信息，如 sex=女（可重复）")
    p = add(parts, "show", "项目各问卷的回答数、得分汇总和前后测变化")
    p.add_argument("project")
    p.add_argument("--json", action="store_true")


def print_surveys(report: list[dict[str, Any]]) -> None:
    """Each survey: responses of those expected, its scores, its bands, the change from its baseline."""
    for survey in report:
        print(f"{survey['key']}  {survey['title']}（{WAVE_WORDS[survey['wave']]}，{survey['instrument']} "
              f"v{survey['instrument_version']}）：{survey['responses']} / {survey['expected']} 份")  # fmt: skip
        if survey.get("period"):
            print(f"  调查期：{survey['period']['from']} 至 {survey['period']['to']}")
        for computed in survey.get("indicators", []):
            value = "尚无回答" if computed["value"] is None else f"{computed['value']:g} {computed['unit']}"
            sd = f"，标准差 {computed['sd']:g}" if computed.get("sd") is not None else ""
            print(f"  指标「{computed['name']}」= {value}（{computed['statistic']}，n = {computed['n']}{sd}）")
        for result in survey["scores"].values():
            if result["n"]:
                sd = f"，标准差 {result['sd']:g}" if result["sd"] is not None else ""
                shares = result.get("shares", {})
                listed = "、".join(f"{k} {v} 人（{shares.get(k, 0):g}%）" for k, v in result["bands"].items())
                bands = f"；{listed}" if listed else ""
                print(f"  {result['title']}：n={result['n']}，平均 {result['mean']:g}{sd}{bands}")
        for change in survey.get("change", []):
            if change["mean_change"] is None:
                continue
            test = change["t_test"]
            p = f"，配对 t 检验 p = {test['p']:.4g}" if test else ""
            print(f"  {change['title']} 较 {survey['compared_with']}：配对 {change['n_paired']} 人，"
                  f"变化 {change['mean_change']:+g}{p}，失访 {change['lost_to_follow_up']}")  # fmt: skip
        for compared in survey.get("group_change", []):
            if compared["difference_in_change"] is None:
                continue
            welch = compared["welch"]
            p = f"，Welch t 检验 p = {welch['p']:.4g}，Cohen's d = {compared['cohens_d']:g}" if welch else ""
            title = compared["groups"][compared["intervention"]]["title"]
            print(f"  {title}：{compared['intervention']}的变化减{compared['comparison']}的变化 = "
                  f"{compared['difference_in_change']:+g}{p}")  # fmt: skip
        for table in survey.get("crosstabs", []):
            print(f"  {table['score_title']} × {table['attribute_title']}：")
            for value, cells in table["rows"].items():
                print(f"    {value}：" + "、".join(f"{band} {n}" for band, n in cells.items()))


def cmd_survey(args: argparse.Namespace) -> int:
    domain_acts()  # the archive's schema is current
    from swflow.app.cli.instrument_cli import sheet_rows
    from swflow.domain.projects.surveys import Answered, record_responses, sheet_answers, survey_report

    if args.survey_command == "show":
        report = survey_report(args.project)
        if args.json:
            print_json(report)
            return 0
        print_surveys(report)
        if not report:
            print(f"项目 {args.project} 的模板没有问卷")
        return 0
    if args.survey_command == "enter":
        answers = read_data_file(args.data)
        if not isinstance(answers, dict):
            raise FormError(f"{args.data}：回答文件须是「题号: 回答」的映射", [(args.data, "须是映射")])
        facts = dict(a.split("=", 1) if "=" in a else (a, "") for a in args.attribute)
        if bad := [a for a in args.attribute if "=" not in a]:
            raise FormError(f"--attribute 须写成 KEY=值：{bad[0]}", [("--attribute", "须写成 KEY=值")])
        answers = {str(k): v for k, v in answers.items()}
        given = [Answered(args.respondent, args.answered_on, answers, args.data, args.group, facts)]
    else:
        headers, rows = sheet_rows(args.file)
        given = sheet_answers(args.project, args.survey, headers, rows, args.answered_on)
    count = record_responses(args.project, args.survey, args.by, given, system_clock())
    print(f"已录入问卷 {args.survey} 的 {count} 份回答（项目 {args.project}）")
    return 0


SURVEY_COMMANDS = {"survey": cmd_survey}
