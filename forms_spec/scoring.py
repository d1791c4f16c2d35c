"""One respondent's answers to an instrument: checked (every problem named at once, by item) and scored.

Answers are a mapping of answer key (`q1`, a grid row `q5.a`, a choice's other text `q3.other`) to the
value. A choice may be given by its key or its label, a scale point by its number or its label, yes/no
as 是/否 or true/false. An item hidden by its skip logic must be left empty; a required item shown must be
answered. Scores follow the instrument: reverse items are turned (high − value + low) before any score."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from swflow.config.errors import FormError
from swflow.forms_spec.instrument import GridRow, Instrument, Item

__all__ = ["check_answers", "score_answers", "skip_condition", "SCORING_VERSION"]

SCORING_VERSION = 1  # the archive keeps it beside each computed score: a number traces to its rule
YES = {"是": True, "yes": True, "true": True, "1": True, "否": False, "no": False, "false": False, "0": False}

Problem = tuple[str, str]


def _where(item: Item, row: GridRow | None) -> str:
    short = item.text if len(item.text) <= 16 else item.text[:15] + "…"
    return f"{item.key}（{short}）" + (f" › {row.key}（{row.text}）" if row else "")


def _scale_value(instrument: Instrument, item: Item, value: Any) -> tuple[int | None, str | None]:
    scale = instrument.scales[item.scale or ""]
    labels = scale.by_label
    if isinstance(value, int) and not isinstance(value, bool) and value in scale.points:
        return value, None
    if isinstance(value, str) and value.strip() in labels:
        return labels[value.strip()], None
    try:
        number = float(str(value).strip())
    except ValueError:
        number = math.nan
    if number.is_integer() and int(number) in scale.points:
        return int(number), None
    listed = "、".join(f"{p}={label}" for p, label in scale.points.items())
    return None, f"须是 {scale.low}–{scale.high} 的整数或其标签（{listed}）"


def _one(instrument: Instrument, item: Item, value: Any) -> tuple[Any, str | None]:
    """The answer as kept, or the rule it breaks."""
    if item.kind in ("scale", "grid"):
        return _scale_value(instrument, item, value)
    if item.kind == "yes_no":
        if isinstance(value, bool):
            return value, None
        word = YES.get(str(value).strip().lower())
        return (word, None) if word is not None else (None, "须是 是 或 否")
    if item.kind in ("choice", "multichoice"):
        options = item.options or {}
        keys = {label: key for key, label in options.items()}
        given = value if isinstance(value, list) else [value] if item.kind == "choice" else str(value).split("|")
        picked = [keys.get(str(v).strip(), str(v).strip()) for v in given]
        wrong = [v for v in picked if v not in options]
        if wrong or (item.kind == "choice" and len(picked) != 1):
            return None, f"须是选项之一（{'、'.join(f'{k}={label}' for k, label in options.items())}）"
        return (picked[0] if item.kind == "choice" else picked), None
    if item.kind == "number":
        try:
            number = float(str(value).strip())
        except ValueError:
            return None, "须是数字"
        if not math.isfinite(number) or (item.min is not None and number < item.min):
            return None, f"不能小于 {item.min:g}" if item.min is not None else "须是数字"
        if item.max is not None and number > item.max:
            return None, f"不能大于 {item.max:g}"
        return (int(number) if number.is_integer() else number), None
    text = str(value).strip()
    return (text, None) if len(text) <= 2000 else (None, "不超过 2000 字")


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _shown(item: Item, kept: Mapping[str, Any]) -> bool:
    if item.show_if is None:
        return True
    value = kept.get(item.show_if.item)
    values = value if isinstance(value, list) else [value]
    return any(v in item.show_if.equals for v in values)


def skip_condition(instrument: Instrument, item: Item) -> str:
    """「您愿意继续参加本项目的服务吗？」答「否」: in the words of the question the skip depends on."""
    assert item.show_if is not None
    source, _ = instrument.answer_items[item.show_if.item]
    words: dict[Any, str] = dict(source.options or {})
    if source.scale:
        words.update(instrument.scales[source.scale].points)
    shown = [("是" if v else "否") if isinstance(v, bool) else words.get(v, str(v)) for v in item.show_if.equals]
    text = source.text if len(source.text) <= 16 else source.text[:15] + "…"
    return f"「{text}」答「{'」或「'.join(shown)}」"


def _answers_of(item: Item) -> list[tuple[str, GridRow | None]]:
    return [(f"{item.key}.{row.key}", row) for row in item.rows] if item.kind == "grid" else [(item.key, None)]


def check_answers(instrument: Instrument, given: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """The answers as kept (keys, numbers, True/False) and every problem with its item."""
    problems: list[Problem] = []
    kept: dict[str, Any] = {}
    known = set(instrument.answer_items) | {f"{i.key}.other" for i in instrument.items if i.other}
    problems += [(str(key), "问卷中没有这一题") for key in given if key not in known]
    for item in instrument.items:
        shown = _shown(item, kept)
        for key, row in _answers_of(item):
            value = given.get(key)
            if _empty(value):
                if shown and item.required:
                    problems.append((_where(item, row), "必答"))
                continue
            if not shown:
                problems.append((_where(item, row), f"只在{skip_condition(instrument, item)}时回答（跳过此题）"))
                continue
            answer, rule = _one(instrument, item, value)
            if rule is not None:
                problems.append((_where(item, row), rule))
            else:
                kept[key] = answer
        if item.other is not None:
            picked = kept.get(item.key)
            chose_other = picked == item.other or (isinstance(picked, list) and item.other in picked)
            text = given.get(f"{item.key}.other")
            if chose_other and _empty(text):
                problems.append(
                    (f"{_where(item, None)} › 其他", f"选了「{(item.options or {})[item.other]}」须写明内容")
                )
            elif not chose_other and not _empty(text):
                problems.append((f"{_where(item, None)} › 其他", f"只在选「{(item.options or {})[item.other]}」时填写"))
            elif chose_other:
                kept[f"{item.key}.other"] = str(text).strip()[:500]
    return kept, problems


def _scored(instrument: Instrument, key: str, value: Any) -> float | None:
    item, row = instrument.answer_items[key]
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if not isinstance(value, int | float):
        return None
    if item.kind in ("scale", "grid") and (item.reverse or (row is not None and row.reverse)):
        scale = instrument.scales[item.scale or ""]
        return float(scale.high - value + scale.low)
    return float(value)


def score_answers(instrument: Instrument, kept: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each score of the instrument: value (None with too few answers), its band, how many items answered."""
    results: dict[str, dict[str, Any]] = {}
    for score in instrument.scores:
        answered = [key for key in score.items if key in kept]
        enough = len(answered) >= (score.min_answered or len(score.items))
        value: float | None = None
        if enough and answered:
            if score.method == "count":
                value = float(sum(1 for key in answered if _counts(kept[key], score.counts)))
            else:
                points = [p for key in answered if (p := _scored(instrument, key, kept[key])) is not None]
                value = sum(points) if score.method == "sum" else sum(points) / len(points)
            value = round(value * score.multiply, 4)
        results[score.key] = {
            "value": None if value is None else (int(value) if float(value).is_integer() else value),
            "band": None if value is None else score.band(value),
            "answered": len(answered),
        }
    return results


def _counts(value: Any, counts: tuple[Any, ...]) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(v in counts for v in values)


def answers_or_error(instrument: Instrument, given: Mapping[str, Any], subject: str) -> dict[str, Any]:
    """The answers as kept, or one FormError naming every problem."""
    kept, problems = check_answers(instrument, given)
    if problems:
        lines = "\n".join(f"  - {where}：{rule}" for where, rule in problems)
        raise FormError(f"{subject}有 {len(problems)} 处错误：\n{lines}", problems)
    return kept
