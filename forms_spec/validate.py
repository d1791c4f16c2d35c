"""Check a submission against its form: errors name the field (in Chinese and by key) and the rule."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from swflow.config.errors import FormError, pydantic_rule
from swflow.forms_spec.computed_checks import computed_problems
from swflow.forms_spec.cross_checks import FormContext, field_label, rule_problems, sheet_problems
from swflow.forms_spec.spec import FieldSpec, FormSpec, model_for

__all__ = ["validate_submission", "form_schema", "mask_sensitive", "MASK"]

MASK = "＊＊＊（敏感信息已隐藏）"


_FORM_WORDS = {"extra_forbidden": "表单中没有此字段", "model_type": "必须是一行（键: 值）"}


def _rule(item: Any) -> str:
    return _FORM_WORDS.get(item["type"]) or pydantic_rule(item)


_label = field_label


def _shown(spec: FieldSpec, row: dict[str, Any]) -> bool:
    assert spec.show_if is not None
    value = row.get(spec.show_if.field)
    values = value if isinstance(value, list) else [value]  # a multichoice shows it when any matches
    return any(v in spec.show_if.equals for v in values)


def _wanted(spec: FieldSpec) -> str:
    assert spec.show_if is not None
    words = {True: "是", False: "否"}
    return "、".join(words.get(v, str(v)) if isinstance(v, bool) else str(v) for v in spec.show_if.equals)


def _show_if_problems(
    form: FormSpec, fields: tuple[FieldSpec, ...], data: dict[str, Any], loc: tuple[Any, ...] = ()
) -> list[tuple[str, str]]:
    """A field asked only under a condition: required when shown, absent when hidden (rows too)."""
    problems: list[tuple[str, str]] = []
    for spec in fields:
        if spec.columns and isinstance(data.get(spec.name), list):
            for index, row in enumerate(data[spec.name]):
                if isinstance(row, dict):
                    problems += _show_if_problems(form, spec.columns, row, (*loc, spec.name, index))
        if spec.show_if is None:
            continue
        label = _label(form, (*loc, spec.name))
        given = data.get(spec.name) not in (None, "", [])
        if _shown(spec, data):
            if spec.required and not given:
                problems.append((label, f"当 {spec.show_if.field} 为 {_wanted(spec)} 时必填"))
        elif given:
            problems.append((label, f"只在 {spec.show_if.field} 为 {_wanted(spec)} 时填写"))
    return problems


def _keys_for_labels(fields: tuple[FieldSpec, ...], data: dict[str, Any]) -> dict[str, Any]:
    """A choice may be given by its key or by its label as `forms show` lists it ("个人" for
    `individual`); the record keeps the key. Table rows are read the same way."""
    given = dict(data)
    for spec in fields:
        value = given.get(spec.name)
        if spec.choices and spec.type in ("choice", "multichoice"):
            keys = {label: key for key, label in spec.choices.items() if label not in spec.choices}
            if isinstance(value, str) and value not in spec.choices:
                given[spec.name] = keys.get(value, value)
            elif isinstance(value, list):
                given[spec.name] = [
                    keys.get(v, v) if isinstance(v, str) and v not in spec.choices else v for v in value
                ]
        elif spec.columns and isinstance(value, list):
            given[spec.name] = [_keys_for_labels(spec.columns, row) if isinstance(row, dict) else row for row in value]
    return given


def validate_submission(form: FormSpec, data: Any, context: FormContext | None = None) -> dict[str, Any]:
    """The submission as clean JSON-able data, or one FormError listing every (field, rule).

    Each field is checked on its own first; when all pass, the points sheets and the form's rules
    (`cross_checks`; those about the project only with its `context`)."""
    if not isinstance(data, dict):
        raise FormError(f"表单 {form.id}：提交的数据必须是键值映射", [("(表单)", "必须是映射")])
    data = _keys_for_labels(form.fields, data)
    problems: list[tuple[str, str]] = []
    model: BaseModel | None = None
    try:
        model = model_for(form).model_validate(data)
    except ValidationError as exc:
        problems += [(_label(form, tuple(item["loc"])), _rule(item)) for item in exc.errors()]
    problems += _show_if_problems(form, form.fields, data)
    clean = model.model_dump(mode="json", exclude_none=True) if model is not None else {}
    if not problems and model is not None:
        problems += sheet_problems(form, clean)
        problems += rule_problems(form, clean, context)
        problems += computed_problems(form, clean, context)
    if problems or model is None:
        lines = "\n".join(f"  - {field}：{rule}" for field, rule in problems)
        raise FormError(f"表单 {form.id}（{form.title}）有 {len(problems)} 处错误：\n{lines}", problems)
    return clean


def form_schema(form: FormSpec) -> dict[str, Any]:
    schema = model_for(form).model_json_schema()
    schema["title"] = form.title
    schema["x-form-id"] = form.id
    schema["x-form-version"] = form.version
    return schema


def _mask(fields: tuple[FieldSpec, ...], data: dict[str, Any]) -> dict[str, Any]:
    specs = {f.name: f for f in fields}
    masked: dict[str, Any] = {}
    for key, value in data.items():
        spec = specs.get(key)
        if spec is not None and spec.sensitive:
            masked[key] = MASK
        elif spec is not None and spec.columns and isinstance(value, list):
            masked[key] = [_mask(spec.columns, row) if isinstance(row, dict) else row for row in value]
        else:
            masked[key] = value
    return masked


def mask_sensitive(form: FormSpec, data: dict[str, Any]) -> dict[str, Any]:
    """A copy of `data` with every sensitive field, and sensitive table column, masked."""
    return _mask(form.fields, data)
