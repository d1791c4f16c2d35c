"""The checks a submission gets after its fields each passed: points sheets (rule_kinds' sheet
items, maxima, evidence; total and grade filled in) and a form's `rules` across fields and forms.

Each problem is (where, rule) in the words of `validate`: the field's label and key, the row; a rule
across two fields names both. Checks that need the project (today, its dates, its baselines) run
only when a `FormContext` is given: a submission checked outside a project (the unit checks of the
shipped samples, `validate_submission` without one) skips them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from swflow.forms_spec.rule_kinds import FormRule
from swflow.forms_spec.spec import FieldSpec, FormSpec

__all__ = ["Baseline", "Computed", "FormContext", "field_label", "sheet_problems", "rule_problems"]

Problem = tuple[str, str]


@dataclass(frozen=True)
class Baseline:
    """The indicators a project measured at baseline in one table (`form-id.table`)."""

    where: str  # 「需求评估 › 基线指标」: the form and table, as a reader knows them
    indicators: frozenset[str]
    marked: bool  # a `measures: baseline` table: what `has_baseline` looks at unless told otherwise
    submitted: bool = True  # False: the project's template has the form, no one has submitted it yet


@dataclass(frozen=True)
class Computed:
    """An indicator's value as a survey of the project computes it (`survey_values`): what a measures
    table's row, a number field or a scorecard row must agree with."""

    name: str
    role: str  # baseline | post: the measures tables it is a value of
    survey: str  # the survey's key
    survey_title: str
    statistic: str  # how, in words: 「平均分」「≥ 6 分的比例（%）」
    unit: str  # 分, %, 份
    value: float | None  # None: no response scored yet
    n: int
    sd: float | None = None
    field: str | None = None  # `form-id.field`
    scorecard: str | None = None  # the scorecard indicator scored from it
    scorecard_score: int | None = None
    through: int = 0  # the last response (submission id) it counts: the inputs, traceable

    def shown(self) -> str:
        """「91.67 %（总体满意为满意的比例（%），n = 36）」, or 「尚无回答」."""
        return "尚无回答" if self.value is None else f"{self.value:g} {self.unit}（{self.statistic}，n = {self.n}）"


@dataclass(frozen=True)
class FormContext:
    today: date
    launched: date | None = None
    closed: date | None = None
    baselines: Mapping[str, Baseline] = field(default_factory=dict)
    computed: tuple[Computed, ...] = ()


def field_label(form: FormSpec, loc: tuple[Any, ...]) -> str:
    """「后测（post） › 第 2 行 › 指标（indicator）」 for ("post", 1, "indicator")."""
    fields: tuple[FieldSpec, ...] | None = form.fields
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"第 {part + 1} 行")
            continue
        spec = next((f for f in fields or () if f.name == part), None)
        parts.append(f"{spec.label}（{part}）" if spec else str(part))
        fields = spec.columns if spec else None
    return " › ".join(parts) or "(表单)"


def _number(value: float) -> str:
    return f"{value:g}"


def sheet_problems(form: FormSpec, clean: dict[str, Any]) -> list[Problem]:
    """Every points sheet complete, each item once, within its maximum, with its evidence; the
    fields computed from a sheet (`total_of`, `grade_of`) filled into `clean` or checked."""
    problems: list[Problem] = []
    for sheet_field in (f for f in form.fields if f.points is not None):
        sheet, name = sheet_field.points, sheet_field.name
        assert sheet is not None
        rows = clean.get(name) or []
        typed = [f for f in form.fields if name in (f.total_of, f.grade_of) and clean.get(f.name) is not None]
        if not rows:
            problems += [
                (field_label(form, (f.name,)), f"由「{sheet_field.label}」的得分计算：先为各评分项打分") for f in typed
            ]
            continue
        items = {i.key: i for i in sheet.items}
        seen: dict[str, int] = {}
        for index, row in enumerate(rows):
            item = items[row["item"]]
            if row["item"] in seen:
                again = f"与第 {seen[row['item']] + 1} 行是同一评分项「{item.label}」"
                problems.append((field_label(form, (name, index, "item")), again))
            seen.setdefault(row["item"], index)
            if round(row["points"], 2) != row["points"]:
                problems.append((field_label(form, (name, index, "points")), "得分最多保留两位小数"))
            elif not 0 <= row["points"] <= item.max:
                bounds = f"「{item.label}」的得分须在 0–{_number(item.max)} 之间"
                problems.append((field_label(form, (name, index, "points")), bounds))
            if item.evidence and not row.get("evidence"):
                problems.append((field_label(form, (name, index, "evidence")), f"「{item.label}」须附佐证材料"))
        if missing := [i.label for i in sheet.items if i.key not in seen]:
            problems.append((field_label(form, (name,)), f"缺少评分项：{'、'.join(missing)}（每一项都要打分）"))
        total = round(sum(float(row["points"]) for row in rows), 2)
        computed: dict[str, Any] = {}
        for f in form.fields:
            if f.total_of == name:
                computed[f.name] = total
            elif f.grade_of == name:
                computed[f.name] = sheet.grade(total)
        for key, value in computed.items():
            given = clean.get(key)
            if given is not None and given != value and not (isinstance(value, float) and abs(given - value) < 0.005):
                what = "各评分项得分之和" if isinstance(value, float) else f"总分 {_number(total)} 对应的等级"
                shown = _number(value) if isinstance(value, float) else value
                problems.append((field_label(form, (key,)), f"应为 {shown}（{what}，由系统计算，可以不填）"))
            clean[key] = int(value) if isinstance(value, float) and value.is_integer() else value
    return problems


def _values(form: FormSpec, clean: dict[str, Any], rule: FormRule) -> list[tuple[tuple[Any, ...], Any, Any]]:
    """(loc, value, the `other` value beside it) of every place the rule's field has a value."""
    if rule.table is None:
        value = clean.get(rule.field)
        return [] if value is None else [((rule.field,), value, clean.get(rule.other) if rule.other else None)]
    rows = clean.get(rule.table) or []
    return [
        ((rule.table, index, rule.column), row[rule.column], row.get(rule.other) if rule.other else None)
        for index, row in enumerate(rows)
        if isinstance(row, dict) and row.get(rule.column) is not None
    ]


def _key(value: Any) -> Any:
    """What two rows are compared by: text with its spaces and case aside, anything else as JSON text."""
    if isinstance(value, str):
        return " ".join(value.split()).casefold()
    return value if isinstance(value, int | float | bool) else repr(value)


def _check(form: FormSpec, rule: FormRule, places: list[Any], context: FormContext | None) -> list[Problem]:
    problems: list[Problem] = []
    if rule.kind == "unique":
        first: dict[Any, int] = {}
        for loc, value, _ in places:
            if (earlier := first.setdefault(_key(value), loc[1])) != loc[1]:
                problems.append((field_label(form, loc), f"与第 {earlier + 1} 行重复（{value}），每行须不同"))
        return problems
    if rule.kind == "not_before":
        for loc, value, other in places:
            if other is not None and value < other:
                other_loc = (*loc[:-1], rule.other)
                problems.append((field_label(form, loc), f"不能早于{field_label(form, other_loc)}的 {other}"))
        return problems
    if context is None:
        return problems
    if rule.kind == "not_future":
        for loc, value, _ in places:
            if date.fromisoformat(value) > context.today:
                problems.append((field_label(form, loc), f"不能晚于提交当天（{context.today}）：记录的是已经发生的事"))
    elif rule.kind == "within_project" and context.launched is not None:
        end, end_word = (context.closed, "项目结项日") if context.closed else (context.today, "提交当天")
        for loc, value, _ in places:
            day = date.fromisoformat(value)
            if day < context.launched:
                problems.append((field_label(form, loc), f"不能早于项目启动日（{context.launched}）"))
            elif day > end:
                problems.append((field_label(form, loc), f"不能晚于{end_word}（{end}）"))
    elif rule.kind == "has_baseline":
        problems += _baseline_problems(form, rule, places, context)
    return problems


def _baseline_problems(form: FormSpec, rule: FormRule, places: list[Any], context: FormContext) -> list[Problem]:
    sources = (
        ([context.baselines[rule.baseline]] if rule.baseline in context.baselines else [])
        if rule.baseline
        else [b for b in context.baselines.values() if b.marked]
    )
    surveyed = [] if rule.baseline else [c for c in context.computed if c.role == "baseline"]
    if not sources and not surveyed:  # the project's template asks for no baseline: nothing to compare with
        return []
    where = "、".join([*(b.where for b in sources), *dict.fromkeys(f"问卷「{c.survey_title}」" for c in surveyed)])
    known = {_key(str(i)): str(i) for b in sources for i in b.indicators}
    known |= {_key(c.name): c.name for c in surveyed}
    problems: list[Problem] = []
    for loc, value, _ in places:
        if not any(b.submitted for b in sources) and not surveyed:
            problems.append((field_label(form, loc), f"本项目还没有提交基线（{where}）：后测只能对已有基线的指标填写"))
        elif _key(str(value)) not in known:
            listed = f"（已有：{'、'.join(sorted(known.values()))}）" if known else "：基线中还没有任何指标"
            problems.append((field_label(form, loc), f"基线（{where}）中没有指标「{value}」{listed}"))
    return problems


def rule_problems(form: FormSpec, clean: dict[str, Any], context: FormContext | None) -> list[Problem]:
    """The form's `rules` on a submission whose fields each passed."""
    problems: list[Problem] = []
    for rule in form.rules:
        problems += _check(form, rule, _values(form, clean, rule), context)
    return problems
