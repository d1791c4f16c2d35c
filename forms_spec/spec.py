"""Form definitions (YAML) and the pydantic models built from them."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from swflow.config.definitions import catalogue
from swflow.config.errors import DefinitionError, NotFoundError
from swflow.config.limits import get_limits
from swflow.config.yaml_source import load_definition
from swflow.forms_spec.rule_kinds import FormRule, definition_problems
from swflow.forms_spec.sheet import SHEET_COLUMNS, PointsSheet

__all__ = [
    "Attachment",
    "FieldSpec",
    "FormSpec",
    "ShowIf",
    "load_form",
    "list_forms",
    "get_form",
    "model_for",
    "is_survey_form",
]

FieldType = Literal[
    "text",  # one line
    "textarea",  # long text
    "integer",
    "number",  # decimal
    "date",
    "choice",  # single choice
    "multichoice",
    "boolean",
    "scale",  # 1–5 (min/max may narrow it)
    "person",  # a person id from the archive (checked on submission)
    "attachment",  # {path, sha256}: the file stays outside; its hash is archived
    "table",  # repeating rows of `columns`
]


class ShowIf(BaseModel):
    """The field is asked (and its `required` applies) only when another field has one of these values."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    field: str
    equals: tuple[str | int | bool, ...] = Field(min_length=1)


class Attachment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, max_length=500, title="文件路径")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", title="SHA-256")


class FieldSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)
    type: FieldType
    required: bool = False
    sensitive: bool = False
    help: str = ""
    min: int | float | None = None
    max: int | float | None = None
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=1)
    pattern: str | None = Field(default=None, description="regular expression a text must match")
    choices: dict[str, str] | None = None
    columns: tuple[FieldSpec, ...] | None = None
    show_if: ShowIf | None = None
    measures: Literal["baseline", "target", "post"] | None = Field(
        default=None,
        description="a table of indicators: baseline and post rows need `indicator` and `value` columns, "
        "target rows `indicator`, `target` and `direction` (increase|decrease)",
    )
    points: PointsSheet | None = Field(default=None, description="a points-based sheet (forms_spec.sheet)")
    total_of: str | None = Field(default=None, description="a number swflow fills in: the total of that sheet")
    grade_of: str | None = Field(default=None, description="a text swflow fills in: the grade band of that sheet")

    @model_validator(mode="before")
    @classmethod
    def _sheet_choices(cls, data: Any) -> Any:
        """A sheet's `item` column lists its items: written once, under `points.items`."""
        if not (isinstance(data, dict) and isinstance(data.get("points"), dict)):
            return data
        items = data["points"].get("items")
        if not isinstance(items, list) or not isinstance(data.get("columns"), list):
            return data
        labels = {i["key"]: i["label"] for i in items if isinstance(i, dict) and {"key", "label"} <= set(i)}
        columns = [
            {**c, "choices": labels} if isinstance(c, dict) and c.get("name") == "item" and "choices" not in c else c
            for c in data["columns"]
        ]
        return {**data, "columns": columns}

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        if self.type in ("choice", "multichoice") and not self.choices:
            raise ValueError(f"{self.type} 字段必须给出 choices")
        if self.type == "table":
            if not self.columns:
                raise ValueError("table 字段必须给出 columns")
            names = {c.name for c in self.columns}
            for col in self.columns:
                if col.show_if is not None and (col.show_if.field not in names or col.show_if.field == col.name):
                    raise ValueError(f"列 {col.name} 的 show_if.field：本表没有列 {col.show_if.field}")
            if any(col.type == "table" for col in self.columns):
                raise ValueError("table 的列不能再是 table")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min 不能大于 max")
        if self.measures is not None:
            needed = {"indicator", "value"} if self.measures != "target" else {"indicator", "target", "direction"}
            have = {c.name for c in self.columns or ()}
            if self.type != "table" or not needed <= have:
                raise ValueError(f"measures: {self.measures} 须是 table，且有列 {sorted(needed)}")
        if self.points is not None:
            self._check_sheet(self.points)
        if (self.total_of and self.type != "number") or (self.grade_of and self.type != "text"):
            raise ValueError("total_of 只能用于 number 字段，grade_of 只能用于 text 字段")
        if self.type == "scale" and not (1 <= (self.min or 1) <= (self.max or 5) <= 5):
            raise ValueError("scale 字段的 min/max 必须在 1–5 之内")
        if self.pattern is not None:
            if self.type not in ("text", "textarea"):
                raise ValueError("pattern 只能用于 text/textarea 字段")
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern 不是有效的正则表达式：{exc}") from exc
        return self

    def _check_sheet(self, sheet: PointsSheet) -> None:
        columns = {c.name: c for c in self.columns or ()}
        kinds = {name: spec.type for name, spec in columns.items()}
        wanted = dict(SHEET_COLUMNS) | ({"evidence": "attachment"} if any(i.evidence for i in sheet.items) else {})
        if self.type != "table" or any(kinds.get(name) != kind for name, kind in wanted.items()):
            listed = "、".join(f"{name}（{kind}）" for name, kind in wanted.items())
            raise ValueError(f"points：评分表须是 table，且有列 {listed}")
        if not (columns["item"].required and columns["points"].required):
            raise ValueError("points：item 列和 points 列须 required: true（每行都要写评分项和得分）")
        keys = set((columns["item"].choices or {}).keys())
        if keys != {i.key for i in sheet.items}:
            raise ValueError("points：item 列的 choices 须与 points.items 的 key 完全一致（可以不写，由 items 生成）")


class FormSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    version: int = Field(ge=1)
    title: str = Field(min_length=1)
    clause: str = Field(pattern=r"^\d+(\.\d+)*$")
    category: Literal["service_object", "service_process", "quality_monitoring", "referral_followup"] = Field(
        default="service_process", description="§8.3.4 archive category of its records"
    )
    fields: tuple[FieldSpec, ...] = Field(min_length=1)
    rules: tuple[FormRule, ...] = Field(default=(), description="checks across fields and forms (rule_kinds)")

    @model_validator(mode="after")
    def _references(self) -> FormSpec:
        if problems := definition_problems(self.fields, self.rules):
            raise ValueError("；".join(problems))
        return self

    @field_validator("fields")
    @classmethod
    def _names_unique(cls, fields: tuple[FieldSpec, ...]) -> tuple[FieldSpec, ...]:
        names = [f.name for f in fields]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"字段名重复：{', '.join(duplicates)}")
        by_name = {f.name: f for f in fields}
        for f in fields:
            if f.show_if is None:
                continue
            target = by_name.get(f.show_if.field)
            if target is None or target.name == f.name:
                raise ValueError(f"{f.name}.show_if.field：没有字段 {f.show_if.field}")
            if target.choices and not set(map(str, f.show_if.equals)) <= set(target.choices):
                raise ValueError(f"{f.name}.show_if.equals：不是 {target.name} 的选项")
        return fields

    def person_fields(self) -> tuple[tuple[str, str | None], ...]:
        """(field, column) of every person reference, column None for a top-level field."""
        found: list[tuple[str, str | None]] = []
        for f in self.fields:
            if f.type == "person":
                found.append((f.name, None))
            found += [(f.name, c.name) for c in f.columns or () if c.type == "person"]
        return tuple(found)

    def sensitive_fields(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields if f.sensitive)


def _annotation(spec: FieldSpec, owner: str) -> Any:
    if spec.type in ("text", "textarea"):
        return str
    if spec.type == "integer":
        return int
    if spec.type == "number":
        return float
    if spec.type == "date":
        return date
    if spec.type == "boolean":
        return bool
    if spec.type in ("scale", "person"):
        return int if spec.type == "scale" else str
    if spec.type == "attachment":
        return Attachment
    if spec.type == "choice":
        return Literal[tuple(spec.choices or {})]
    if spec.type == "multichoice":
        return list[Literal[tuple(spec.choices or {})]]  # type: ignore[misc]
    row = _build_model(f"{owner}_{spec.name}_row", spec.columns or ())
    return list[row]  # type: ignore[valid-type]


def _field(spec: FieldSpec, owner: str) -> tuple[Any, Any]:
    constraints: dict[str, Any] = {"title": spec.label, "description": spec.help or None}
    if spec.type in ("integer", "number"):
        constraints.update(ge=spec.min, le=spec.max)
    if spec.type == "number":
        constraints.update(allow_inf_nan=False)
    if spec.type == "scale":
        constraints.update(ge=spec.min or 1, le=spec.max or 5)
    if spec.type == "person":
        constraints.update(pattern=r"^[a-z][a-z0-9._-]*$", max_length=64)
    if spec.type in ("text", "textarea"):
        limits = get_limits()
        ceiling = limits.text_chars if spec.type == "text" else limits.longtext_chars
        longest = min(spec.max_length, ceiling) if spec.max_length is not None else ceiling
        constraints.update(min_length=spec.min_length, max_length=longest, pattern=spec.pattern)
    if spec.type in ("multichoice", "table") and spec.required:
        constraints.update(min_length=1)
    extra: dict[str, Any] = {}
    if spec.sensitive:
        extra["x-sensitive"] = True
    if spec.show_if is not None:
        extra["x-show-if"] = spec.show_if.model_dump(mode="json")
    constraints["json_schema_extra"] = extra or None
    annotation = _annotation(spec, owner)
    if spec.required and spec.show_if is None and not (spec.total_of or spec.grade_of):
        return annotation, Field(..., **constraints)
    return annotation | None, Field(None, **constraints)


def _build_model(name: str, fields: tuple[FieldSpec, ...]) -> type[BaseModel]:
    definitions = {f.name: _field(f, name) for f in fields}
    config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    return create_model(name, __config__=config, **definitions)  # type: ignore[call-overload, no-any-return]


_models: dict[str, type[BaseModel]] = {}


def model_for(form: FormSpec) -> type[BaseModel]:
    """The pydantic model that validates a submission of `form` (built once per definition)."""
    key = form.model_dump_json() + repr(get_limits())  # the limits may be changed (SWFLOW_MAX_*)
    if key not in _models:
        _models[key] = _build_model(form.id.replace("-", "_"), form.fields)
    return _models[key]


def _form_dir() -> Path:
    return Path(__file__).parent / "forms"


SURVEY_PREFIX = "survey-"  # the forms swflow makes of a template's surveys (forms_spec.survey_form)


def load_form(path: Path) -> FormSpec:
    form = load_definition(path, FormSpec)
    if form.id.startswith(SURVEY_PREFIX):
        raise DefinitionError(f"{path}: id: 以 {SURVEY_PREFIX} 开头的 id 留给问卷记录（模板的 surveys），请换一个")
    return form


def is_survey_form(form_id: str) -> bool:
    return form_id.startswith(SURVEY_PREFIX)


def list_forms() -> tuple[FormSpec, ...]:
    """swflow's forms and the agency's own (`config.definitions`), one per id."""
    return catalogue("forms", _form_dir(), load_form)


def get_form(form_id: str) -> FormSpec:
    for form in list_forms():
        if form.id == form_id:
            return form
    known = ", ".join(f.id for f in list_forms())
    raise NotFoundError(f"没有表单 {form_id}（可选：{known}）")
