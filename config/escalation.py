"""Escalation policies: who hears of a deadline, when, and what happens on its own (data)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from swflow.config.errors import NotFoundError
from swflow.config.yaml_source import load_definition

__all__ = ["EscalationStep", "EscalationPolicy", "get_policy", "list_policies"]

Audience = Literal["assignee", "manager", "supervisor", "director"]


class EscalationStep(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    offset_days: int = Field(ge=-10, le=60, description="working days from the due time")
    notify: tuple[Audience, ...] = Field(min_length=1)
    action: Literal["mark_at_risk", "reassign"] | None = None
    urgent: bool = False


class EscalationPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    version: int = Field(default=1, ge=1)
    title: str
    steps: tuple[EscalationStep, ...] = Field(min_length=1)

    @field_validator("steps")
    @classmethod
    def _in_order(cls, steps: tuple[EscalationStep, ...]) -> tuple[EscalationStep, ...]:
        offsets = [s.offset_days for s in steps]
        if offsets != sorted(set(offsets)):
            raise ValueError("各步骤的 offset_days 必须严格递增")
        keys = [s.key for s in steps]
        if len(set(keys)) != len(keys):
            raise ValueError("步骤 key 必须唯一")
        return steps


def _policy_dir() -> Path:
    return Path(__file__).parent / "escalation"


def _load_policy(path: Path) -> EscalationPolicy:
    return load_definition(path, EscalationPolicy)


def list_policies() -> tuple[EscalationPolicy, ...]:
    """swflow's policies and the agency's own (`config.definitions`), one per id."""
    from swflow.config.definitions import catalogue

    return catalogue("escalation", _policy_dir(), _load_policy)


def get_policy(policy_id: str) -> EscalationPolicy:
    for policy in list_policies():
        if policy.id == policy_id:
            return policy
    raise NotFoundError(f"没有升级策略 {policy_id}（可选：{', '.join(p.id for p in list_policies())}）")
