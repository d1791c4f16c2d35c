"""Checks across fields and forms, written as data in a form's `rules:` (docs/forms.md lists them).

`field` is a top-level field (`end_date`) or a table's column (`post.measured_on`); `other` is a
field of the same form, or a column of the same table (the same row is meant).

- `not_future`: a date of something that happened (a measurement, an activity) is not after the day
  it is submitted.
- `not_before`: `field` is not before `other` (an end after its start).
- `within_project`: a date lies within the project's dates: not before the day the project was
  launched, and not after the day it closed (while it runs: not after today).
- `unique`: no two rows of a table have the same value in this column.
- `has_baseline`: a post measure only for an indicator the project measured at baseline (the rows
  of the project's tables marked `measures: baseline`, or the table named in `baseline`).

A stage's due date is not a form rule: the stage that records a schedule's activities is due when
its last activity ends, if that is later than its own duration (`domain.projects.rounds`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["FormRule", "RuleKind", "RULE_TITLES", "definition_problems"]

RuleKind = Literal["not_future", "not_before", "within_project", "unique", "has_baseline"]
RULE_TITLES = {
    "not_future": "不能晚于提交当天",
    "not_before": "不能早于另一字段",
    "within_project": "在项目期间之内",
    "unique": "各行不能重复",
    "has_baseline": "须有基线",
}
PATH = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$"


class FormRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: RuleKind
    field: str = Field(pattern=PATH)
    other: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$", description="not_before only")
    baseline: str | None = Field(
        default=None, pattern=r"^[a-z][a-z0-9-]*\.[a-z][a-z0-9_]*$", description="has_baseline: form-id.table"
    )

    @model_validator(mode="after")
    def _parameters(self) -> FormRule:
        if (self.kind == "not_before") != (self.other is not None):
            raise ValueError("other 只用于 not_before，且 not_before 必须给出 other")
        if self.baseline is not None and self.kind != "has_baseline":
            raise ValueError("baseline 只用于 has_baseline")
        if self.kind in ("unique", "has_baseline") and "." not in self.field:
            raise ValueError(f"{self.kind} 的 field 须是表格的一列（表格.列）")
        return self

    @property
    def table(self) -> str | None:
        return self.field.split(".", 1)[0] if "." in self.field else None

    @property
    def column(self) -> str:
        return self.field.rsplit(".", 1)[-1]


class _Field(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def columns(self) -> tuple[Any, ...] | None: ...
    @property
    def points(self) -> Any: ...
    @property
    def total_of(self) -> str | None: ...
    @property
    def grade_of(self) -> str | None: ...


DATED = {"not_future": ("date",), "within_project": ("date",), "not_before": ("date", "integer", "number")}


def definition_problems(fields: Sequence[_Field], rules: Sequence[FormRule]) -> list[str]:
    """What a form's rules and computed fields name that the form does not have, as `rules.N…: rule`."""
    by_name = {f.name: f for f in fields}
    problems: list[str] = []
    for f in fields:
        for key, source in (("total_of", f.total_of), ("grade_of", f.grade_of)):
            if source is not None and getattr(by_name.get(source), "points", None) is None:
                problems.append(f"{f.name}.{key}：没有评分表（带 points 的表格）{source}")
    for index, rule in enumerate(rules):
        where = f"rules.{index}"
        top = by_name.get(rule.table or rule.field)
        siblings = {c.name: c for c in (top.columns or ())} if top is not None and rule.table else by_name
        target = siblings.get(rule.column) if top is not None else None
        if target is None:
            problems.append(f"{where}.field：表单没有字段 {rule.field}")
            continue
        if rule.table and top is not None and top.type != "table":
            problems.append(f"{where}.field：{rule.table} 不是表格")
        if rule.kind == "unique" and target.type in ("multichoice", "attachment", "table"):
            problems.append(f"{where}.field：unique 不能用于 {target.type} 列（{rule.field}）")
        allowed = DATED.get(rule.kind)
        if allowed and target.type not in allowed:
            kinds = "/".join(allowed)
            problems.append(f"{where}.field：{rule.kind} 只能用于 {kinds} 字段，{rule.field} 是 {target.type}")
        if rule.other is not None:
            other = siblings.get(rule.other)
            if other is None:
                place = f"表格 {rule.table} 没有列" if rule.table else "表单没有字段"
                problems.append(f"{where}.other：{place} {rule.other}")
            elif other.type != target.type:
                problems.append(f"{where}.other：{rule.other}（{other.type}）与 {rule.field}（{target.type}）类型不同")
    return problems
