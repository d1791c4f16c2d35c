"""Quality management settings (§7.3–§7.5, §8.1) as data: config/quality.yaml, or the agency's
own copy in $SWFLOW_HOME/quality.yaml, validated at load like templates are."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from swflow.config.settings import home_dir
from swflow.config.yaml_source import load_definition

__all__ = [
    "CommunityKind",
    "QualitySettings",
    "SupervisionRule",
    "ComplaintRule",
    "quality_settings",
    "quality_settings_path",
]

CommunityKind = Literal["urban", "rural"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SupervisionRule(_Frozen):
    every_days: int = Field(ge=1, le=366, description="at least one session within this many days")
    roles: tuple[Literal["manager", "supervisor", "worker", "director"], ...] = Field(
        default=("worker",), min_length=1, description="people with these roles need supervision"
    )
    templates: dict[str, int] = Field(default={}, description="template id → a stricter every_days")
    escalation_policy: str = "default"

    def every_days_for(self, template_ids: Iterable[str]) -> int:
        """The agency default, or the strictest override among the templates a worker serves in."""
        return min([self.every_days, *(self.templates[t] for t in template_ids if t in self.templates)])


class ComplaintRule(_Frozen):
    ack_days: int = Field(ge=1, le=30, description="working days to acknowledge")
    answer_days: int = Field(ge=1, le=90, description="working days to answer, from receipt")
    escalation_policy: str = "default"

    @model_validator(mode="after")
    def _answer_after_ack(self) -> ComplaintRule:
        if self.answer_days < self.ack_days:
            raise ValueError("answer_days 不能少于 ack_days（答复不会早于确认受理）")
        return self


class ActionRule(_Frozen):
    escalation_policy: str = "default"


class IncidentRule(_Frozen):
    form: str = Field(default="incident-report", description="kinds and severities are this form's choices")
    notify_at_once: tuple[str, ...] = ("severe",)
    close_days: dict[str, int] = Field(
        default={"default": 10},
        description="severity (or 'default') → working days to record the follow-up and close",
    )
    escalation_policy: str = "default"

    @model_validator(mode="after")
    def _a_default_close_time(self) -> IncidentRule:
        if "default" not in self.close_days:
            raise ValueError("close_days 须有 default（未单列的严重程度按它计）")
        if any(not 1 <= days <= 90 for days in self.close_days.values()):
            raise ValueError("close_days 的每一项须在 1 到 90 个工作日之间")
        return self

    def close_days_for(self, severity: str) -> int:
        return self.close_days.get(severity, self.close_days["default"])


class RiskReviewRule(_Frozen):
    every_months: int = Field(ge=1, le=60)
    escalation_policy: str = "risk-review"


class CertificateRule(_Frozen):
    escalation_policy: str = "certificate"
    report_within_days: int = Field(default=60, ge=1, le=366)


class StaffingRule(_Frozen):
    default_kind: CommunityKind = "urban"
    communities: dict[str, CommunityKind] = {}

    def kind_of(self, community: str) -> CommunityKind:
        return self.communities.get(community, self.default_kind)


class QualitySettings(_Frozen):
    supervision: SupervisionRule
    complaints: ComplaintRule
    actions: ActionRule = ActionRule()
    incidents: IncidentRule = IncidentRule()
    risk_review: RiskReviewRule
    certificates: CertificateRule = CertificateRule()
    staffing: StaffingRule = StaffingRule()

    @model_validator(mode="after")
    def _references_exist(self) -> QualitySettings:
        from swflow.config.escalation import list_policies
        from swflow.config.templates import list_templates

        policies = {p.id for p in list_policies()}
        for section in ("supervision", "complaints", "actions", "incidents", "risk_review", "certificates"):
            policy = getattr(self, section).escalation_policy
            if policy not in policies:
                raise ValueError(
                    f"{section}.escalation_policy: 没有升级策略 {policy}（可选：{', '.join(sorted(policies))}）"
                )
        templates = {t.id for t in list_templates()}
        for template_id in self.supervision.templates:
            if template_id not in templates:
                raise ValueError(
                    f"supervision.templates: 没有模板 {template_id}（可选：{', '.join(sorted(templates))}）"
                )
        return self


def quality_settings_path() -> Path:
    own = home_dir() / "quality.yaml"
    return own if own.exists() else Path(__file__).parent / "quality.yaml"


@cache
def _load(path: str) -> QualitySettings:
    return load_definition(Path(path), QualitySettings)


def quality_settings() -> QualitySettings:
    return _load(str(quality_settings_path()))
