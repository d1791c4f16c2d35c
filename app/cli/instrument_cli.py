"""`swflow instruments`: the questionnaires and scales (forms_spec.instrument) — list them, show one with
its source, licence and scoring, check a file, and score one respondent's answers from a data file."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeAlias

from swflow.app.cli.common import print_json, read_data_file
from swflow.config.errors import FormError

__all__ = ["add_instrument_commands", "INSTRUMENT_COMMANDS", "sheet_rows"]

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
    p = add(parts, "check", "检查一份回答表（XLSX/CSV：每行一位受访者，每列一题）并汇总得分；有错时逐格列出")
    p.add_argument("instrument_id")
    p.add_argument("file", help="XLSX 或 CSV；首行是列名：受访者编号（respondent）和题号或题目原文")
    p.add_argument("--json", action="store_true")

    p = add(parts, "compare", "前测与后测：同一批受访者的得分变化、配对检验和效应量")
    p.add_argument("instrument_id")
    p.add_argument("baseline", help="前测（基线）回答表，XLSX 或 CSV")
    p.add_argument("post", help="后测回答表，XLSX 或 CSV")
    p.add_argument("--score", help="比较哪一项计分（默认第一项）")
    p.add_argument("--json", action="store_true")


def sheet_rows(path: str) -> tuple[list[Any], list[list[Any]]]:
    """The header and rows of a CSV (UTF-8, or GB18030 as Excel saves it on Chinese Windows) or an XLSX."""
    from swflow.config.limits import read_input_bytes
    from swflow.forms_spec.sheets import parse_sheet

    return parse_sheet(path, read_input_bytes(path, ""))


def _responses(instrument: Any, path: str) -> list[Any]:
    """The sheet's responses, or one FormError naming its bad cells (at most 200 listed)."""
    from swflow.forms_spec.responses import read_responses

    headers, rows = sheet_rows(path)
    responses, problems = read_responses(instrument, headers, rows)
    if problems:
        shown = problems[:200]
        more = f"\n  ……另有 {len(problems) - len(shown)} 处" if len(problems) > len(shown) else ""
        lines = "\n".join(f"  - {where}：{rule}" for where, rule in shown)
        raise FormError(f"{path}：{instrument.title}的回答表有 {len(problems)} 处错误：\n{lines}{more}", problems)
    return responses


def _compare(instrument: Any, args: argparse.Namespace) -> int:
    from swflow.forms_spec.change import paired_change

    keys = [s.key for s in instrument.scores]
    score = args.score or (keys[0] if keys else None)
    if score is None or score not in keys:
        listed = "、".join(keys) or "无"
        raise FormError(f"--score：{instrument.id} 没有计分 {score}（可选：{listed}）", [("--score", "计分 key")])
    result = paired_change(instrument, score, _responses(instrument, args.baseline), _responses(instrument, args.post))
    if args.json:
        print_json(result)
        return 0
    lost, new = result["lost_to_follow_up"], result["new_at_post"]
    print(f"{instrument.title} · {result['title']}：前测 {result['n_baseline']} 人，后测 {result['n_post']} 人，"
          f"配对 {result['n_paired']} 人（失访 {lost}，后测新增 {new}）")  # fmt: skip
    if result["mean_change"] is None:
        print("  没有同时回答两次的受访者：无法比较")
        return 0
    print(f"  平均 {result['mean_baseline']:g} → {result['mean_post']:g}，变化 {result['mean_change']:+g}"
          + (f"（标准差 {result['sd_change']:g}）" if result["sd_change"] is not None else ""))  # fmt: skip
    for key in ("t_test", "wilcoxon"):
        test = result.get(key)
        if test:
            value = f"t({test['df']}) = {test['t']:g}" if key == "t_test" else f"W = {test['statistic']:g}"
            print(f"  {test['method']}：{value}，p = {test['p']:.4g}")
    if result.get("cohens_dz") is not None:
        print(f"  效应量 Cohen's d_z = {result['cohens_dz']:.3g}")
    if note := result.get("note"):
        print(f"  {note}")
    return 0


def _check(instrument: Any, path: str, as_json: bool) -> int:
    from swflow.forms_spec.responses import summarise
    from swflow.forms_spec.scoring import SCORING_VERSION

    responses = _responses(instrument, path)
    summary = summarise(instrument, responses)
    if as_json:
        print_json({"instrument": instrument.id, "version": instrument.version, "scoring_version": SCORING_VERSION,
                    "responses": len(responses), "scores": summary})  # fmt: skip
        return 0
    print(f"{instrument.title}：{len(responses)} 份有效回答")
    for result in summary.values():
        if result["n"] == 0:
            print(f"  {result['title']}：无（回答不足）")
            continue
        sd = "" if result["sd"] is None else f"，标准差 {result['sd']:g}"
        span = f"范围 {result['min']:g}–{result['max']:g}"
        print(f"  {result['title']}：n={result['n']}，平均 {result['mean']:g}{sd}，{span}")
        if result["bands"]:
            print("    " + "、".join(f"{label} {count} 人" for label, count in result["bands"].items()))
    return 0


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
    if args.instruments_command == "check":
        return _check(instrument, args.file, args.json)
    if args.instruments_command == "compare":
        return _compare(instrument, args)
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
