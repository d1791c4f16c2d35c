"""The registry's records are form specs (forms_spec/registry/*.yaml): the same field types, rules,
zh-CN errors and `sensitive` marks as the stage forms, so masking is `mask_sensitive` everywhere."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal

from swflow import forms_spec
from swflow.config.errors import DefinitionError
from swflow.forms_spec import FormSpec, load_form, mask_sensitive, validate_submission

__all__ = ["RecordKind", "record_spec", "checked", "masked", "sensitive_names"]

RecordKind = Literal["person", "volunteer", "organisation", "referral", "resource-link"]

_FILES: dict[str, str] = {
    "person": "served-person.yaml",
    "volunteer": "volunteer.yaml",
    "organisation": "organisation.yaml",
    "referral": "referral.yaml",
    "resource-link": "resource-link.yaml",
}
_IDENTITY = {"name": "text", "birth_year": "integer", "phone": "text", "gender": "choice"}


@cache
def record_spec(kind: RecordKind) -> FormSpec:
    path = Path(forms_spec.__file__).parent / "registry" / _FILES[kind]
    spec = load_form(path)
    if kind in ("person", "volunteer"):
        types = {f.name: f.type for f in spec.fields}
        missing = [f"{name}（{kind_}）" for name, kind_ in _IDENTITY.items() if types.get(name) != kind_]
        if missing:
            raise DefinitionError(f"{path}: 须有字段 {'、'.join(missing)}：用于识别重复登记")
    return spec


def checked(kind: RecordKind, data: dict[str, Any]) -> dict[str, Any]:
    """Clean data, or one FormError naming every field (label and key) and rule (exit 2)."""
    given = {k: v for k, v in data.items() if v not in (None, "", [])}
    return validate_submission(record_spec(kind), given)


def masked(kind: RecordKind, data: dict[str, Any], clear: bool) -> dict[str, Any]:
    return dict(data) if clear else mask_sensitive(record_spec(kind), data)


def sensitive_names(kind: RecordKind) -> frozenset[str]:
    return record_spec(kind).sensitive_fields()
