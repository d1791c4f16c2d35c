"""`swflow instruments`: the questionnaires and scales (forms_spec.instrument) — list them, show one with
its source, licence and scoring, check a file, and score one respondent's answers from a data file."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeAlias

from swflow.app.cli.common import print_json, read_data_file
from swflow.config.errors import FormError

__all__ = ["add_instrument_commands", "INSTRUMENT_COMMANDS"]

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Add: TypeAlias = Callable[[Sub, str, str], argparse.ArgumentParser]
KIND_WORDS = {
    "scale": "量表题",
    "yes_no": "是否题",
    "choice": "单选题",
    "multichoice": "多选题",
    "number": "数字题",
    "text": "文字题",
    "grid": "矩阵题",
}
METHOD_WORDS = {"sum": "求和", "mean": "平均", "count": "计数"}


def add_instrument_commands(sub: Sub, add: Add) -> None:
    group = add(sub, "instruments", "量表与问卷（需求调查、前后测、满意度）")
    parts = group.add_subparsers(dest="instruments_command", required=True, metavar="子命令")
    add(parts, "list", "列出量表与问卷").add_argument("--json", action="store_true")
    add(parts, "show", "显示一个量表：题目、计分、来源与授权").add_argument("instrument_id")
    add(parts, "validate", "检查一个量表文件").add_argument("file")
    p = add(parts, "score", "为一位受访者的回答计分（YAML/JSON：题号: 回答）")
    p.add_argument("instrument_id")
    p.add_argument("answers", help="回答文件：题号: 回答（矩阵题写 题号.行，其他选项的内容写 题号.other）")
    p.add_argument("--json", action="store_true")


def _show(instrument: Any) -> None:
    from swflow.forms_spec.scoring import skip_condition

    print(f"{instrument.id} v{instrument.version}  {instrument.title}")
    print(f"  来源：{instrument.source}\n  授权：{instrument.licence}\n  计分依据：{instrument.scoring_source}")
    if instrument.preamble:
        print(f"  指导语：{instrument.preamble}")
    for key, scale in instrument.scales.items():
        print(f"  量表 {key}：" + "、".join(f"{p}={label}" for p, label in scale.points.items()))
    for item in instrument.items:
        flags = [KIND_WORDS[item.kind]] + (["反向计分"] if item.reverse else []) + ([] if item.required else ["选答"])
        if item.show_if:
            flags.append(f"仅当{skip_condition(instrument, item)}")
        print(f"  {item.key:<12} {'，'.join(flags):<14} {item.text}")
        for row in item.rows:
            print(f"      · {item.key}.{row.key:<10} {'（反向计分）' if row.reverse else ''}{row.text}")
        if item.options:
            print("      可选：" + "、".join(f"{k}={label}" for k, label in item.options.items()))
    for score in instrument.scores:
        times = f" × {score.multiply:g}" if score.multiply != 1 else ""
        bands = "；".join(f"≥{b.min:g} {b.label}" for b in score.bands)
        print(
            f"  计分 {score.key}（{score.title}）：{METHOD_WORDS[score.method]}{times}，题目 {'、'.join(score.items)}"
        )
        if bands:
            print(f"      分档：{bands}")


def cmd_instruments(args: argparse.Namespace) -> int:
    from swflow.forms_spec.instrument import get_instrument, list_instruments, load_instrument
    from swflow.forms_spec.scoring import SCORING_VERSION, check_answers, score_answers

    if args.instruments_command == "list":
        rows = [{"id": i.id, "version": i.version, "title": i.title, "items": len(i.items)} for i in list_instruments()]
        if args.json:
            print_json(rows)
        for r in [] if args.json else rows:
            print(f"{r['id']:<22} v{r['version']}  {r['items']:>3} 题  {r['title']}")
        return 0
    if args.instruments_command == "validate":
        read_data_file(args.file, "instruments validate")  # size, nesting: before the loader parses it
        checked = load_instrument(Path(args.file))
        print(f"{args.file}：量表 {checked.id} v{checked.version}（{checked.title}）有效，{len(checked.items)} 题")
        return 0
    instrument = get_instrument(args.instrument_id)
    if args.instruments_command == "show":
        _show(instrument)
        return 0
    given = read_data_file(args.answers, "instruments score")
    if not isinstance(given, dict):
        raise FormError(f"{args.answers}：回答文件须是「题号: 回答」的映射", [(args.answers, "须是映射")])
    kept, problems = check_answers(instrument, {str(k): v for k, v in given.items()})
    if problems:
        lines = "\n".join(f"  - {where}：{rule}" for where, rule in problems)
        raise FormError(f"{args.answers}：{instrument.title}有 {len(problems)} 处错误：\n{lines}", problems)
    scores = score_answers(instrument, kept)
    if args.json:
        print_json({"instrument": instrument.id, "version": instrument.version, "scoring_version": SCORING_VERSION,
                    "answers": kept, "scores": scores})  # fmt: skip
        return 0
    titles = {s.key: s.title for s in instrument.scores}
    for key, result in scores.items():
        value = "不计分（回答不足）" if result["value"] is None else f"{result['value']:g}"
        band = f"（{result['band']}）" if result["band"] else ""
        print(f"{titles[key]}：{value}{band}  已答 {result['answered']} 题")
    return 0


INSTRUMENT_COMMANDS = {"instruments": cmd_instruments}
