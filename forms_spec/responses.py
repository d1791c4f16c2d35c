"""Many respondents' answers to one instrument, as a spreadsheet gives them (one row per respondent, one
column per item — the shape survey websites and Excel both produce): every bad row and cell named at
once, duplicate respondents refused, each response scored, and the scores summarised (n, mean, sd, range,
bands) with Python's `statistics`.

A column is named by its answer key (`q1`, a grid row `content.fit`, an other-text `heard_from.other`)
or by the item's text as the questionnaire prints it (a leading number such as `1.` or `Q1、` aside);
the respondent's column is `respondent` or `受访者编号`."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from swflow.forms_spec.instrument import Instrument
from swflow.forms_spec.scoring import check_answers, score_answers

__all__ = ["Response", "RESPONDENT_COLUMNS", "read_responses", "sheet_columns", "summarise"]

RESPONDENT_COLUMNS = ("respondent", "受访者编号", "编号")
NUMBERING = re.compile(r"^\s*(?:[Qq]?\d{1,3}\s*[.、．:：)）]\s*)")
Problem = tuple[str, str]


@dataclass(frozen=True)
class Response:
    row: int  # the spreadsheet's row number (the header is row 1); recorded: the submission's id
    respondent: str
    answers: dict[str, Any]  # by answer key (`q1`, `content.fit`)
    scores: dict[str, dict[str, Any]]
    group: str | None = None  # 干预组 / 对照组, when the survey has groups
    attributes: dict[str, str] = field(default_factory=dict)  # 性别, 年龄段 …, by the attribute's key


def _normal(text: str) -> str:
    return re.sub(r"\s+", "", NUMBERING.sub("", str(text))).rstrip("？?").casefold()


def sheet_columns(
    instrument: Instrument, headers: Sequence[Any], skip: Sequence[str] = ()
) -> tuple[int | None, dict[int, str], list[Problem]]:
    """The respondent's column, each item's column, and every problem of the header row; `skip` names
    columns that are not answers (a date column)."""
    by_text: dict[str, str] = {}
    for key, (item, row) in instrument.answer_items.items():
        by_text.setdefault(_normal(row.text if row else item.text), key)
    keys = set(instrument.answer_items) | {f"{i.key}.other" for i in instrument.items if i.other}
    respondent: int | None = None
    columns: dict[int, str] = {}
    problems: list[Problem] = []
    for index, header in enumerate(headers):
        name = "" if header is None else str(header).strip()
        where = f"第 1 行 › 第 {index + 1} 列「{name[:30]}」"
        if name in RESPONDENT_COLUMNS:
            respondent = index
            continue
        if not name or name in skip:
            continue
        found = name if name in keys else by_text.get(_normal(name))
        if found is None:
            problems.append((where, "问卷中没有这一题（列名写题号，如 q1，或题目原文）"))
        elif found in columns.values():
            problems.append((where, f"与另一列是同一题 {found}"))
        else:
            columns[index] = found
    if respondent is None:
        problems.append(("第 1 行", f"缺少受访者编号列（列名：{' 或 '.join(RESPONDENT_COLUMNS[:2])}）"))
    missing = [key for key, (item, _) in instrument.answer_items.items() if item.required and item.show_if is None]
    if absent := [key for key in missing if key not in columns.values()]:
        problems.append(("第 1 行", f"缺少必答题的列：{'、'.join(absent)}"))
    return respondent, columns, problems


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def read_responses(
    instrument: Instrument, headers: Sequence[Any], rows: Sequence[Sequence[Any]]
) -> tuple[list[Response], list[Problem]]:
    """Each non-empty row as a scored response, or every problem of the sheet (then use none of it)."""
    respondent_at, columns, problems = sheet_columns(instrument, headers)
    if problems:
        return [], problems
    assert respondent_at is not None
    responses: list[Response] = []
    seen: dict[str, int] = {}
    for offset, cells in enumerate(rows):
        number = offset + 2
        if all(_blank(c) for c in cells):
            continue
        who = cells[respondent_at] if respondent_at < len(cells) else None
        respondent = "" if _blank(who) else str(who).strip()
        head = f"第 {number} 行" + (f"（{respondent[:20]}）" if respondent else "")
        if not respondent:
            problems.append((head, "缺少受访者编号"))
        elif respondent in seen:
            problems.append((head, f"受访者 {respondent} 与第 {seen[respondent]} 行重复（每人每次调查只答一份）"))
        seen.setdefault(respondent, number)
        given = {key: cells[i] for i, key in columns.items() if i < len(cells) and not _blank(cells[i])}
        kept, wrong = check_answers(instrument, given)
        problems += [(f"{head} › {where}", rule) for where, rule in wrong]
        if not wrong and respondent:
            responses.append(Response(number, respondent, kept, score_answers(instrument, kept)))
    if not responses and not problems:
        problems.append(("(文件)", "没有一行回答"))
    return ([] if problems else responses), problems


def summarise(instrument: Instrument, responses: Sequence[Response]) -> dict[str, dict[str, Any]]:
    """Per score: n (scored), mean, sd (sample), min, max, how many fall in each band and their share."""
    out: dict[str, dict[str, Any]] = {}
    for score in instrument.scores:
        values = [float(r.scores[score.key]["value"]) for r in responses if r.scores[score.key]["value"] is not None]
        bands = Counter(r.scores[score.key]["band"] for r in responses if r.scores[score.key]["band"] is not None)
        out[score.key] = {
            "title": score.title,
            "n": len(values),
            "mean": round(statistics.fmean(values), 4) if values else None,
            "sd": round(statistics.stdev(values), 4) if len(values) > 1 else None,
            "min": min(values, default=None),
            "max": max(values, default=None),
            "bands": {band.label: bands.get(band.label, 0) for band in score.bands},
            "shares": {  # the share in each band, % of those scored: "满意 92.5 %", "孤独 40 %"
                band.label: round(100 * bands.get(band.label, 0) / len(values), 1) for band in score.bands
            }
            if values
            else {},
        }
    return out
