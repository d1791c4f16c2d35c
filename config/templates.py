"""Service-project templates: immutable, validated definitions of stages, forms and gates."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .errors import NotFoundError
from .yaml_source import load_definition

__all__ = ["GateRule", "StageSpec", "Template", "load_template", "list_templates", "get_template"]

Slug = str
ROLES = ("manager", "supervisor", "worker", "director")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GateRule(_Frozen):
    """Who decides a stage's gate, and what the gate does on a return."""

    approvers: tuple[Literal["supervisor", "director"], ...] = Field(default=("supervisor",), min_length=1)
    return_reopens: Literal["all", "named"] = "all"


class StageSpec(_Frozen):
    key: Slug = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1)
    clause: str = Field(pattern=r"^\d+(\.\d+)*$")
    duration_days: int = Field(ge=1, le=250, description="working days")
    forms: tuple[str, ...] = Field(min_length=1)
    gate: GateRule = GateRule()


class ServiceItem(_Frozen):
    key: Slug = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str


class Template(_Frozen):
    id: Slug = Field(pattern=r"^[a-z][a-z0-9-]*$")
    version: int = Field(ge=1)
    title: str = Field(min_length=1)
    clause: str = Field(pattern=r"^\d+(\.\d+)*$")
    summary: str = ""
    target_groups: tuple[str, ...] = Field(min_length=1)
    service_items: tuple[ServiceItem, ...] = Field(min_length=1)
    sensitivity: Literal["normal", "sensitive"] = "normal"
    escalation_policy: str = "default"
    stages: tuple[StageSpec, ...] = Field(min_length=1)

    @field_validator("stages")
    @classmethod
    def _stage_keys_unique(cls, stages: tuple[StageSpec, ...]) -> tuple[StageSpec, ...]:
        keys = [stage.key for stage in stages]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise ValueError(f"阶段 key 重复：{', '.join(duplicates)}")
        return stages

    def stage(self, key: str) -> StageSpec:
        for stage in self.stages:
            if stage.key == key:
                return stage
        raise NotFoundError(f"模板 {self.id} 没有阶段 {key}（可选：{self.stage_keys()}）")

    def stage_keys(self) -> str:
        return ", ".join(stage.key for stage in self.stages)


def _template_dir() -> Path:
    return Path(__file__).parent / "templates"


def load_template(path: Path) -> Template:
    """Load and validate one template file (does not check that its forms exist: see forms_spec)."""
    return load_definition(path, Template)


@cache
def list_templates() -> tuple[Template, ...]:
    return tuple(load_template(p) for p in sorted(_template_dir().glob("*.yaml")))


def get_template(template_id: str) -> Template:
    for template in list_templates():
        if template.id == template_id:
            return template
    known = ", ".join(t.id for t in list_templates())
    raise NotFoundError(f"没有模板 {template_id}（可选：{known}）")
