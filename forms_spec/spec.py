"""Form definitions (YAML) and the pydantic models built from them."""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from config.errors import NotFoundError
from config.yaml_source import load_definition

__all__ = ["FieldSpec", "FormSpec", "load_form", "list_forms", "get_form", "model_for"]

FieldType = Literal["text", "textarea", "integer", "number", "date", "choice", "multichoice", "boolean", "table"]


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
    choices: dict[str, str] | None = None
    columns: tuple[FieldSpec, ...] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        if self.type in ("choice", "multichoice") and not self.choices:
            raise ValueError(f"{self.type} 字段必须给出 choices")
        if self.type == "table":
            if not self.columns:
                raise ValueError("table 字段必须给出 columns")
            if any(col.type == "table" for col in self.columns):
                raise ValueError("table 的列不能再是 table")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min 不能大于 max")
        return self


class FormSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    version: int = Field(ge=1)
    title: str = Field(min_length=1)
    clause: str = Field(pattern=r"^\d+(\.\d+)*$")
    fields: tuple[FieldSpec, ...] = Field(min_length=1)

    @field_validator("fields")
    @classmethod
    def _names_unique(cls, fields: tuple[FieldSpec, ...]) -> tuple[FieldSpec, ...]:
        names = [f.name for f in fields]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"字段名重复：{', '.join(duplicates)}")
        return fields

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
    if spec.type in ("text", "textarea"):
        constraints.update(min_length=spec.min_length, max_length=spec.max_length)
    if spec.type in ("multichoice", "table") and spec.required:
        constraints.update(min_length=1)
    if spec.sensitive:
        constraints["json_schema_extra"] = {"x-sensitive": True}
    annotation = _annotation(spec, owner)
    if spec.required:
        return annotation, Field(..., **constraints)
    return annotation | None, Field(None, **constraints)


def _build_model(name: str, fields: tuple[FieldSpec, ...]) -> type[BaseModel]:
    definitions = {f.name: _field(f, name) for f in fields}
    config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    return create_model(name, __config__=config, **definitions)  # type: ignore[call-overload, no-any-return]


_models: dict[str, type[BaseModel]] = {}


def model_for(form: FormSpec) -> type[BaseModel]:
    """The pydantic model that validates a submission of `form` (built once per definition)."""
    key = form.model_dump_json()
    if key not in _models:
        _models[key] = _build_model(form.id.replace("-", "_"), form.fields)
    return _models[key]


def _form_dir() -> Path:
    return Path(__file__).parent / "forms"


def load_form(path: Path) -> FormSpec:
    return load_definition(path, FormSpec)


@cache
def list_forms() -> tuple[FormSpec, ...]:
    return tuple(load_form(p) for p in sorted(_form_dir().glob("*.yaml")))


def get_form(form_id: str) -> FormSpec:
    for form in list_forms():
        if form.id == form_id:
            return form
    known = ", ".join(f.id for f in list_forms())
    raise NotFoundError(f"没有表单 {form_id}（可选：{known}）")
