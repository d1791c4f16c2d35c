"""Check a submission against its form: errors name the field (in Chinese and by key) and the rule."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from config.errors import FormError

from .spec import FieldSpec, FormSpec, model_for

__all__ = ["validate_submission", "form_schema", "mask_sensitive", "MASK"]

MASK = "＊＊＊（敏感信息已隐藏）"


def _rule(item: Any) -> str:
    kind, ctx = item["type"], item.get("ctx", {})
    rules = {
        "missing": "必填",
        "extra_forbidden": "表单中没有此字段",
        "string_too_short": f"至少 {ctx.get('min_length')} 个字",
        "string_too_long": f"最多 {ctx.get('max_length')} 个字",
        "too_short": f"至少 {ctx.get('min_length')} 项",
        "greater_than_equal": f"不能小于 {ctx.get('ge')}",
        "less_than_equal": f"不能大于 {ctx.get('le')}",
        "literal_error": f"必须是以下之一：{ctx.get('expected')}",
        "int_parsing": "必须是整数",
        "int_from_float": "必须是整数",
        "float_parsing": "必须是数字",
        "date_from_datetime_parsing": "必须是日期（YYYY-MM-DD）",
        "date_parsing": "必须是日期（YYYY-MM-DD）",
        "date_type": "必须是日期（YYYY-MM-DD）",
        "bool_parsing": "必须是 是/否（true/false）",
        "string_type": "必须是文字",
        "list_type": "必须是列表",
        "model_type": "必须是一行（键: 值）",
    }
    return rules.get(kind, item["msg"])


def _label(form: FormSpec, loc: tuple[Any, ...]) -> str:
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


def validate_submission(form: FormSpec, data: Any) -> dict[str, Any]:
    """The submission as clean JSON-able data, or a FormError listing every (field, rule)."""
    if not isinstance(data, dict):
        raise FormError(f"表单 {form.id}：提交的数据必须是键值映射", [("(表单)", "必须是映射")])
    try:
        model: BaseModel = model_for(form).model_validate(data)
    except ValidationError as exc:
        problems = [(_label(form, tuple(item["loc"])), _rule(item)) for item in exc.errors()]
        lines = "\n".join(f"  - {field}：{rule}" for field, rule in problems)
        raise FormError(f"表单 {form.id}（{form.title}）有 {len(problems)} 处错误：\n{lines}", problems) from exc
    return model.model_dump(mode="json", exclude_none=True)


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
