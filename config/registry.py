"""Community registry settings (§5.2, §6.2.2, §8.3.2, §8.3.4) as data: config/registry.yaml, or the
agency's own copy in $SWFLOW_HOME/registry.yaml, validated at load like templates are."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from swflow.config.settings import home_dir
from swflow.config.yaml_source import load_definition

__all__ = [
    "ActivityRecordFields",
    "ReferralRule",
    "RegistrySettings",
    "registry_settings",
    "registry_settings_path",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReferralRule(_Frozen):
    first_follow_up_days: int = Field(ge=1, le=60, description="working days from referral to the first follow-up")
    follow_up_every_days: int = Field(ge=1, le=90, description="working days to the next follow-up by default")
    consent_purpose: str = Field(description="the consent a person must have given before a referral")
    escalation_policy: str = "referral"


class ActivityRecordFields(_Frozen):
    """Where an activity record names the people served and the volunteers present (table fields)."""

    form: str
    served_table: str
    served_column: str
    volunteer_table: str
    volunteer_column: str
    hours_column: str


class RegistrySettings(_Frozen):
    agency: str = Field(min_length=1, max_length=200, description="the agency named on volunteer certificates")
    consent_purposes: dict[str, str] = Field(min_length=1, description="purpose key → what the person agreed to")
    referrals: ReferralRule
    activity_records: ActivityRecordFields
    certificate_title: str = "志愿服务证明"

    @model_validator(mode="after")
    def _references_exist(self) -> RegistrySettings:
        from swflow.config.escalation import list_policies

        if self.referrals.consent_purpose not in self.consent_purposes:
            raise ValueError(
                f"referrals.consent_purpose: 没有同意用途 {self.referrals.consent_purpose}"
                f"（可选：{', '.join(self.consent_purposes)}）"
            )
        policies = {p.id for p in list_policies()}
        if self.referrals.escalation_policy not in policies:
            raise ValueError(
                f"referrals.escalation_policy: 没有升级策略 {self.referrals.escalation_policy}"
                f"（可选：{', '.join(sorted(policies))}）"
            )
        return self


def registry_settings_path() -> Path:
    own = home_dir() / "registry.yaml"
    return own if own.exists() else Path(__file__).parent / "registry.yaml"


@cache
def _load(path: str) -> RegistrySettings:
    return load_definition(Path(path), RegistrySettings)


def registry_settings() -> RegistrySettings:
    return _load(str(registry_settings_path()))
