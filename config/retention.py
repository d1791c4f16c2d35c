"""§8.3.4 record categories and how long each is kept (data: config/retention.yaml)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from swflow.config.yaml_source import load_definition

__all__ = ["Category", "CATEGORIES", "RetentionRules", "retention_rules", "event_category"]

Category = Literal["service_object", "service_process", "quality_monitoring", "referral_followup"]
CATEGORIES: tuple[Category, ...] = ("service_object", "service_process", "quality_monitoring", "referral_followup")


class CategoryRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    title: str
    years: int = Field(ge=1, le=100)


class RetentionRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    categories: dict[Category, CategoryRule]


@cache
def retention_rules() -> RetentionRules:
    return load_definition(Path(__file__).parent / "retention.yaml", RetentionRules)


_QUALITY_EVENTS = (
    "deadline.",
    "stage.at_risk",
    "gate.input_refused",
    "work_item.reassigned",
    # references to quality records (swflow.domain.quality) in a project's stream
    "supervision.",
    "incident.",
    "complaint.",
)


def event_category(kind: str, form_category: str | None = None) -> Category:
    """The category of an event: a submission takes its form's; oversight events are quality records."""
    if form_category in CATEGORIES:
        return form_category
    if kind.startswith(_QUALITY_EVENTS):
        return "quality_monitoring"
    if kind.startswith(("referral.", "follow_up.")):
        return "referral_followup"
    if kind.startswith(("person.", "consent.")):
        return "service_object"  # the registry's person served joining a project (swflow.domain.registry)
    return "service_process"
