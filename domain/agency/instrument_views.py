"""What the definition pages of a form and of an instrument show, in words (the web door's `swflow forms
show` and `swflow instruments show|score|check|compare`): a form's fields, conditions and cross-field
rules; an instrument's scales, items and scores; and the three tools that save nothing — scoring one
respondent's answers, checking a sheet of responses and summarising it, comparing a baseline sheet with a
post sheet. Every rule and statistic is forms_spec's; this module only puts them into words and rows.
Who may look is `definitions_admin.why_not_view_definitions`, asked by the door."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from swflow.config.errors import FormError
from swflow.forms_spec.change import paired_change
from swflow.forms_spec.instrument import Instrument, Item
from swflow.forms_spec.responses import Response, read_responses, summarise
from swflow.forms_spec.rule_kinds import RULE_TITLES
from swflow.forms_spec.scoring import check_answers, score_answers, skip_condition
from swflow.forms_spec.sheets import parse_sheet
from swflow.forms_spec.spec import FieldSpec, FormSpec

__all__ = [
    "TYPE_WORDS", "CATEGORY_WORDS", "KIND_WORDS", "METHOD_WORDS", "MOST_SHOWN", "FieldRow", "FormView",
    "ItemRow", "ScoreRow", "InstrumentView", "Tried", "SheetChecked", "Compared", "form_view", "instrument_view",
    "try_answers", "check_sheet", "compare_sheets",
]  # fmt: skip

TYPE_WORDS = {
    "text": "单行文字", "textarea": "多行文字", "integer": "整数", "number": "数字", "date": "日期",
    "choice": "单选", "multichoice": "多选", "boolean": "是/否", "scale": "评分（1–5）", "person": "人员",
    "attachment": "附件", "table": "表格",
}  # fmt: skip
CATEGORY_WORDS = {
    "service_object": "服务对象档案", "service_process": "服务过程档案", "quality_monitoring": "质量监控档案",
    "referral_followup": "转介跟进档案",
}  # fmt: skip
MEASURES_WORDS = {"baseline": "基线指标表", "target": "目标指标表", "post": "后测指标表"}
KIND_WORDS = {
    "scale": "量表题", "yes_no": "是否题", "choice": "单选题", "multichoice": "多选题", "number": "数字题",
    "text": "文字题", "grid": "矩阵题",
}  # fmt: skip
METHOD_WORDS = {"sum": "求和", "mean": "平均", "count": "计数"}
MOST_SHOWN = 200  # problems of a sheet listed on a page; the rest are counted
Pair = tuple[str, str]


class FieldRow(BaseModel):
    name: str
    label: str
    type_words: str
    required: bool
    sensitive: bool
    help: str = ""
    condition: str = ""  # 当「…」为「…」时填写
    choices: list[Pair] = []
    columns: list[FieldRow] = []
    measures: str = ""
    computed: str = ""  # a total or a grade swflow fills in


class FormView(BaseModel):
    id: str
    version: int
    title: str
    clause: str
    category: str
    fields: list[FieldRow]
    rules: list[str]  # the cross-field checks, in words
    spec: FormSpec  # for the preview: the same field macros the work page uses


class ItemRow(BaseModel):
    key: str
    text: str
    kind_words: str
    flags: list[str] = []  # 反向计分, 选答
    condition: str = ""  # 仅当「…」答「…」
    rows: list[tuple[str, str, bool]] = []  # a grid's (answer key, text, reverse)
    options: list[Pair] = []
    other: str = ""  # the option whose answer asks for a text
    points: list[Pair] = []  # a scale's points
    bounds: str = ""  # a number's range


class ScoreRow(BaseModel):
    key: str
    title: str
    method_words: str
    items: list[str]
    multiply: float = 1
    counts: list[str] = []
    min_answered: int | None = None
    bands: list[tuple[float, str]] = []


class InstrumentView(BaseModel):
    id: str
    version: int
    title: str
    source: str
    licence: str
    scoring_source: str
    preamble: str
    scales: list[tuple[str, list[Pair]]]
    items: list[ItemRow]
    scores: list[ScoreRow]
    instrument: Instrument


class Tried(BaseModel):
    """One respondent's answers tried on an instrument: problems at their item, else each score."""

    problems: dict[str, list[str]] = {}  # item key → rules (a grid row or the other-text named)
    unplaced: list[str] = []
    scores: list[dict[str, Any]] = []  # key, title, value, band, answered, of

    @property
    def count(self) -> int:
        return sum(map(len, self.problems.values())) + len(self.unplaced)


class SheetChecked(BaseModel):
    problems: list[Pair] = []  # at most MOST_SHOWN
    more: int = 0  # problems not listed
    responses: int = 0
    scores: list[dict[str, Any]] = []  # summarise(), each with its key


class Compared(BaseModel):
    problems: list[Pair] = []
    more: int = 0
    result: dict[str, Any] | None = None  # paired_change()


def _condition(spec: FieldSpec, siblings: tuple[FieldSpec, ...]) -> str:
    if spec.show_if is None:
        return ""
    target = next((s for s in siblings if s.name == spec.show_if.field), None)
    choices = dict(target.choices or {}) if target else {}
    words = [("是" if v else "否") if isinstance(v, bool) else choices.get(str(v), str(v)) for v in spec.show_if.equals]
    label = target.label if target else spec.show_if.field
    return f"当「{label}」为「{'、'.join(words)}」时填写"


def _field_row(spec: FieldSpec, siblings: tuple[FieldSpec, ...]) -> FieldRow:
    computed = ""
    if spec.total_of:
        computed = f"由系统计算：{spec.total_of} 的总分"
    elif spec.grade_of:
        computed = f"由系统计算：{spec.grade_of} 的等级"
    elif spec.points is not None:
        computed = f"评分表：{len(spec.points.items)} 个评分项，" + "、".join(
            f"≥{g.min:g} {g.grade}" for g in spec.points.grades
        )
    kind = TYPE_WORDS[spec.type]
    if spec.type == "scale" and (spec.min or spec.max):
        kind = f"评分（{int(spec.min or 1)}–{int(spec.max or 5)}）"
    return FieldRow(
        name=spec.name, label=spec.label, type_words=kind, required=spec.required, sensitive=spec.sensitive,
        help=spec.help, condition=_condition(spec, siblings), choices=list((spec.choices or {}).items()),
        columns=[_field_row(c, spec.columns or ()) for c in spec.columns or ()],
        measures=MEASURES_WORDS.get(spec.measures or "", ""), computed=computed,
    )  # fmt: skip


def _labelled(form: FormSpec, path: str) -> str:
    """`post.measured_on` → 「后测指标 › 测量日期（post.measured_on）」."""
    head, _, column = path.partition(".")
    spec = next((f for f in form.fields if f.name == head), None)
    if spec is None:
        return path
    inner = next((c for c in spec.columns or () if c.name == column), None) if column else None
    words = spec.label + (f" › {inner.label}" if inner else (f" › {column}" if column else ""))
    return f"{words}（{path}）"


def form_view(form: FormSpec) -> FormView:
    rules = []
    for rule in form.rules:
        line = f"{_labelled(form, rule.field)}：{RULE_TITLES[rule.kind]}"
        if rule.other is not None:
            other = f"{rule.table}.{rule.other}" if rule.table else rule.other
            line += f"「{_labelled(form, other)}」"
        if rule.baseline is not None:
            line += f"（基线见 {rule.baseline}）"
        rules.append(line)
    return FormView(
        id=form.id, version=form.version, title=form.title, clause=form.clause,
        category=CATEGORY_WORDS.get(form.category, form.category),
        fields=[_field_row(f, form.fields) for f in form.fields], rules=rules, spec=form,
    )  # fmt: skip


def _item_row(instrument: Instrument, item: Item) -> ItemRow:
    flags = (["反向计分"] if item.reverse else []) + ([] if item.required else ["选答"])
    bounds = ""
    if item.kind == "number" and (item.min is not None or item.max is not None):
        low = "" if item.min is None else f"{item.min:g}"
        high = "" if item.max is None else f"{item.max:g}"
        bounds = f"{low}–{high}"
    points = instrument.scales[item.scale].points if item.scale else {}
    return ItemRow(
        key=item.key, text=item.text, kind_words=KIND_WORDS[item.kind], flags=flags,
        condition=f"仅当{skip_condition(instrument, item)}时回答" if item.show_if else "",
        rows=[(f"{item.key}.{r.key}", r.text, r.reverse) for r in item.rows],
        options=list((item.options or {}).items()),
        other=(item.options or {}).get(item.other or "", ""), points=[(str(p), w) for p, w in points.items()],
        bounds=bounds,
    )  # fmt: skip


def instrument_view(instrument: Instrument) -> InstrumentView:
    scores = [
        ScoreRow(
            key=s.key,
            title=s.title,
            method_words=METHOD_WORDS[s.method],
            items=list(s.items),
            multiply=s.multiply,
            counts=[("是" if c else "否") if isinstance(c, bool) else str(c) for c in s.counts],
            min_answered=s.min_answered,
            bands=[(b.min, b.label) for b in s.bands],
        )  # fmt: skip
        for s in instrument.scores
    ]
    return InstrumentView(
        id=instrument.id, version=instrument.version, title=instrument.title, source=instrument.source,
        licence=instrument.licence, scoring_source=instrument.scoring_source, preamble=instrument.preamble,
        scales=[(k, [(str(p), w) for p, w in s.points.items()]) for k, s in instrument.scales.items()],
        items=[_item_row(instrument, i) for i in instrument.items], scores=scores, instrument=instrument,
    )  # fmt: skip


def try_answers(instrument: Instrument, given: Mapping[str, Any]) -> Tried:
    """check_answers, then score_answers: nothing is saved. A problem is placed at the item it names
    (its words begin with the item's key: `q1（…）`, `content（…） › fit（…）`)."""
    kept, problems = check_answers(instrument, given)
    tried = Tried()
    keys = {item.key for item in instrument.items}
    for where, rule in problems:
        key, _, rest = where.partition("（")
        if key not in keys:
            tried.unplaced.append(f"{where}：{rule}")
            continue
        part = rest.partition(" › ")[2]
        tried.problems.setdefault(key, []).append(f"{part}：{rule}" if part else rule)
    if problems:
        return tried
    titles = {s.key: (s.title, len(s.items)) for s in instrument.scores}
    for key, result in score_answers(instrument, kept).items():
        tried.scores.append({"key": key, "title": titles[key][0], "of": titles[key][1], **result})
    return tried


def _sheet(instrument: Instrument, name: str, raw: bytes, wave: str = "") -> tuple[list[Response], list[Pair]]:
    prefix = f"{wave} › " if wave else ""
    try:
        headers, rows = parse_sheet(name, raw)
    except FormError as bad:
        return [], [(wave or "文件", str(bad))]
    responses, problems = read_responses(instrument, headers, rows)
    return responses, [(prefix + where, rule) for where, rule in problems]


def _capped(problems: list[Pair]) -> tuple[list[Pair], int]:
    return problems[:MOST_SHOWN], max(len(problems) - MOST_SHOWN, 0)


def check_sheet(instrument: Instrument, name: str, raw: bytes) -> SheetChecked:
    """Every problem of one sheet of responses, or its summary per score (n, mean, sd, range, bands)."""
    responses, problems = _sheet(instrument, name, raw)
    if problems:
        shown, more = _capped(problems)
        return SheetChecked(problems=shown, more=more)
    summary = summarise(instrument, responses)
    return SheetChecked(responses=len(responses), scores=[{"key": k, **v} for k, v in summary.items()])


def compare_sheets(
    instrument: Instrument, score_key: str, baseline: tuple[str, bytes], post: tuple[str, bytes]
) -> Compared:
    """The paired change of one score between a baseline sheet and a post sheet, or every problem of both."""
    problems: list[Pair] = []
    if score_key not in {s.key for s in instrument.scores}:
        listed = "、".join(s.key for s in instrument.scores) or "无"
        problems.append(("计分", f"{instrument.id} 没有计分 {score_key}（可选：{listed}）"))
    before, wrong_before = _sheet(instrument, *baseline, wave="前测")
    after, wrong_after = _sheet(instrument, *post, wave="后测")
    problems += wrong_before + wrong_after
    if problems:
        shown, more = _capped(problems)
        return Compared(problems=shown, more=more)
    return Compared(result=paired_change(instrument, score_key, before, after))
