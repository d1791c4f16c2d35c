"""Service-project templates: immutable, validated definitions of stages, forms and gates."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from swflow.config.definitions import agency_folder, catalogue
from swflow.config.errors import FormError, NotFoundError, RefusedError
from swflow.config.yaml_source import load_definition

__all__ = ["APPROVER_TITLES", "GateRule", "StageSpec", "Template", "load_template", "list_templates", "get_template"]

Slug = str
ROLES = ("manager", "supervisor", "worker", "director", "evaluator")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Approver = Literal["supervisor", "supervisors", "director"]
APPROVER_TITLES = {"supervisor": "项目督导", "supervisors": "任一督导（认领）", "director": "机构负责人（认领）"}
Phase = Literal["needs_assessment", "planning", "execution", "evaluation"]
WAVE_ROLES = {"baseline": "基线值", "post": "后测值"}  # a needs or baseline survey gives baseline values


class GateRule(_Frozen):
    """Who decides a stage's gate, in order. `supervisor` is the project's own supervisor;
    `supervisors` and `director` are role groups whose members claim the step."""

    steps: tuple[Approver, ...] = Field(default=("supervisor",), min_length=1, max_length=3)
    manager_may_decide: bool = False
    within_days: int = Field(default=3, ge=1, le=60, description="working days a decider has, per step")

    @field_validator("steps")
    @classmethod
    def _no_repeats(cls, steps: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(steps)) != len(steps):
            raise ValueError("同一审核人不能出现在两个审核步骤中（两个步骤须由不同的人决定）")
        return steps


class ActivitySource(_Frozen):
    """Work items made from the rows of an approved form: one `record_form` per row."""

    form: str = Field(description="the form whose table lists the activities (a schedule)")
    table: str = Field(description="its table field")
    record_form: str = Field(description="the form each activity is recorded in")


class Level(_Frozen):
    at_least: float = Field(description="the value from which this score is given")
    score: int


class SurveyIndicator(_Frozen):
    """An indicator whose value the survey computes, instead of a worker typing it (issue 16, part 3): its
    row of the wave's measures table (baseline-measures, evaluation-results) must agree with it, a number
    `field` of a form too, and a scorecard indicator is scored from it by `levels`."""

    name: str = Field(min_length=1, max_length=100, description="the indicator, as the measures tables name it")
    statistic: Literal["mean", "share_at_least", "share_at_most", "share_in_bands", "responses"]
    score: str | None = Field(default=None, description="the instrument's score (all but `responses`)")
    cutoff: float | None = Field(default=None, description="share_at_least / share_at_most: the cut-off")
    bands: tuple[str, ...] = Field(default=(), description="share_in_bands: the bands that count (满意、非常满意)")
    field: str | None = Field(default=None, description="`form-id.field`: a number field that must agree")
    scorecard: str | None = Field(default=None, description="a scorecard indicator key scored from the value")
    levels: tuple[Level, ...] = Field(default=(), description="scorecard: highest `at_least` first")

    @model_validator(mode="after")
    def _complete(self) -> SurveyIndicator:
        if (self.statistic == "responses") == (self.score is not None):
            raise ValueError("score：除 responses（回答份数）外都须指明量表的得分（score）")
        if (self.statistic in ("share_at_least", "share_at_most")) != (self.cutoff is not None):
            raise ValueError("cutoff 只用于、且必须用于 share_at_least / share_at_most")
        if (self.statistic == "share_in_bands") != bool(self.bands):
            raise ValueError("bands 只用于、且必须用于 share_in_bands")
        if bool(self.scorecard) != bool(self.levels):
            raise ValueError("scorecard 与 levels 须同时给出：按 levels 把指标值换算成记分卡得分")
        marks = [level.at_least for level in self.levels]
        if marks != sorted(marks, reverse=True) or len(set(marks)) != len(marks):
            raise ValueError("levels：at_least 须从高到低、互不相同")
        if self.field is not None and not re.match(r"^[a-z][a-z0-9-]*\.[a-z][a-z0-9_]*$", self.field):
            raise ValueError("field 须写成 表单id.字段名（如 evaluation-results.satisfaction_percent）")
        return self


class SurveyPeriod(_Frozen):
    """The survey period in working days after its stage opens (0: the day it opens)."""

    from_day: int = Field(default=0, ge=0, le=250)
    to_day: int = Field(ge=0, le=250)

    @model_validator(mode="after")
    def _ordered(self) -> SurveyPeriod:
        if self.to_day < self.from_day:
            raise ValueError("to_day 不能早于 from_day")
        return self


class SurveyAttribute(_Frozen):
    """Something asked of every respondent besides the answers (性别, 年龄段, 社区), for cross-tabulation."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)
    title: str = Field(min_length=1, max_length=30)
    options: tuple[str, ...] = Field(default=(), description="the values it may take; none: any short text")


class SurveySpec(_Frozen):
    """A survey the stage administers (issue 16): one instrument, one wave, many respondents; each response
    is a record of the project (`swflow survey import|enter`)."""

    key: str = Field(pattern=r"^[a-z][a-z0-9-]*$", max_length=40)
    title: str = Field(min_length=1, max_length=100)
    instrument: str = Field(description="an instrument id (forms_spec/instruments, or the agency's own)")
    wave: Literal["needs", "baseline", "post"]
    respondents: Literal["registry", "anonymous"] = Field(
        default="anonymous", description="registry: people served, by their registry number; anonymous: codes"
    )
    expected: int = Field(ge=1, le=100_000, description="how many responses the survey aims at")
    compare_with: str | None = Field(default=None, description="post: the baseline survey it is compared with")
    period: SurveyPeriod | None = Field(default=None, description="when answers may be dated; none: any day")
    indicators: tuple[SurveyIndicator, ...] = Field(default=(), description="indicators computed from it")
    groups: tuple[str, ...] = Field(
        default=(), max_length=4, description="the intervention group first, then its comparison group(s)"
    )
    attributes: tuple[SurveyAttribute, ...] = Field(default=(), max_length=8, description="asked of each respondent")

    @model_validator(mode="after")
    def _groups_and_attributes(self) -> SurveySpec:
        if len(self.groups) == 1 or len(set(self.groups)) != len(self.groups):
            raise ValueError("groups：至少两组（干预组在前，对照组在后），组名互不相同")
        keys = [a.key for a in self.attributes]
        if len(set(keys)) != len(keys) or {"group", "respondent", "answered_on"} & set(keys):
            raise ValueError("attributes：key 互不相同，且不能是 group、respondent、answered_on")
        return self


class StageSpec(_Frozen):
    key: Slug = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1)
    clause: str = Field(pattern=r"^\d+(\.\d+)*$")
    phase: Phase = Field(description="the §6.1 step this stage implements")
    duration_days: int = Field(ge=1, le=250, description="working days")
    forms: tuple[str, ...] = Field(min_length=1, description="forms required once per round")
    optional_forms: tuple[str, ...] = Field(default=(), description="forms that may be submitted, not required")
    evaluator_forms: tuple[str, ...] = Field(
        default=(), description="forms of `forms` filled by the project's evaluator (评估方), not its lead worker"
    )
    activities: ActivitySource | None = None
    surveys: tuple[SurveySpec, ...] = Field(default=(), description="questionnaires administered in this stage")
    gate: GateRule = GateRule()
    escalation_policy: str | None = Field(default=None, description="overrides the template's policy")


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
    scorecard: str = Field(default="default", description="the scorecard (config/scorecards) its scorecard form scores")
    evaluator_independent: bool = Field(
        default=True, description="four eyes: the evaluator may not be the manager, the supervisor or a worker"
    )
    stages: tuple[StageSpec, ...] = Field(min_length=1)

    @field_validator("stages")
    @classmethod
    def _stage_keys_unique(cls, stages: tuple[StageSpec, ...]) -> tuple[StageSpec, ...]:
        keys = [stage.key for stage in stages]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise ValueError(f"阶段 key 重复：{', '.join(duplicates)}")
        return stages

    @model_validator(mode="after")
    def _sensitive_needs_director(self) -> Template:
        if self.sensitivity != "sensitive":
            return self
        for index, stage in enumerate(self.stages):
            if stage.phase in ("planning", "evaluation") and "director" not in stage.gate.steps:
                raise ValueError(
                    f"stages.{index}.gate.steps: 敏感服务领域的策划和结项审核必须有机构负责人（director）一步"
                )
        return self

    @model_validator(mode="after")
    def _evaluator_forms_are_the_stages_own(self) -> Template:
        for index, stage in enumerate(self.stages):
            for form_id in stage.evaluator_forms:
                if form_id not in stage.forms:
                    raise ValueError(
                        f"stages.{index}.evaluator_forms: {form_id} 不是本阶段的必填表单"
                        f"（forms：{'、'.join(stage.forms)}）：评估方只填写本阶段 forms 中列出的表单"
                    )
        return self

    @model_validator(mode="after")
    def _surveys_pair_up(self) -> Template:
        """Survey keys are unique; a post wave names a baseline of the same instrument before it, if any; its
        period lies within its stage; an indicator is computed by one survey per role (baseline, post)."""
        seen: dict[str, SurveySpec] = {}
        named: dict[tuple[str, str], str] = {}
        for index, stage in enumerate(self.stages):
            for number, survey in enumerate(stage.surveys):
                where = f"stages.{index}.surveys.{number}"
                if survey.key in seen:
                    raise ValueError(f"{where}.key: 问卷 key {survey.key} 重复")
                if survey.period and survey.period.to_day > stage.duration_days:
                    raise ValueError(f"{where}.period.to_day: 调查期须在本阶段的 {stage.duration_days} 个工作日内")
                if survey.wave == "post" and survey.compare_with:
                    base = seen.get(survey.compare_with)
                    if base is None or base.wave != "baseline" or base.instrument != survey.instrument:
                        raise ValueError(
                            f"{where}.compare_with: 后测问卷须与此前同一量表（{survey.instrument}）的基线问卷对照"
                        )
                paired = self._baseline_of(survey, list(seen.values()))
                if paired is not None and paired.groups != survey.groups:
                    same = "、".join(paired.groups) or "不分组"
                    raise ValueError(f"{where}.groups: 后测的分组须与基线问卷 {paired.key} 相同（{same}）")
                seen[survey.key] = survey
                for at, indicator in enumerate(survey.indicators):
                    role = "post" if survey.wave == "post" else "baseline"
                    if (role, indicator.name) in named:
                        raise ValueError(
                            f"{where}.indicators.{at}.name: 指标「{indicator.name}」已由问卷 "
                            f"{named[role, indicator.name]} 计算（{WAVE_ROLES[role]}）"
                        )
                    named[role, indicator.name] = survey.key
        return self

    @staticmethod
    def _baseline_of(survey: SurveySpec, before: list[SurveySpec]) -> SurveySpec | None:
        """The baseline a post wave is compared with: `compare_with`, else the last of its instrument."""
        if survey.wave != "post":
            return None
        if survey.compare_with:
            return next((s for s in before if s.key == survey.compare_with), None)
        return next((s for s in reversed(before) if s.wave == "baseline" and s.instrument == survey.instrument), None)

    def survey(self, key: str) -> tuple[StageSpec, SurveySpec]:
        for stage in self.stages:
            for survey in stage.surveys:
                if survey.key == key:
                    return stage, survey
        keys = "、".join(s.key for st in self.stages for s in st.surveys) or "无"
        raise NotFoundError(f"模板 {self.id} 没有问卷 {key}（可选：{keys}）")

    def evaluator_forms(self) -> dict[str, tuple[str, ...]]:
        """stage key → the forms its evaluator fills, for the stages that have any."""
        return {stage.key: stage.evaluator_forms for stage in self.stages if stage.evaluator_forms}

    @model_validator(mode="after")
    def _activities_come_from_earlier_stages(self) -> Template:
        seen: set[str] = set()
        for index, stage in enumerate(self.stages):
            if stage.activities is not None and stage.activities.form not in seen:
                raise ValueError(
                    f"stages.{index}.activities.form: {stage.activities.form} 必须是此前某个阶段的必填表单"
                )
            seen.update(stage.forms)
        return self

    @model_validator(mode="after")
    def _policies_exist(self) -> Template:
        from swflow.config.escalation import list_policies

        known = {p.id for p in list_policies()}
        if self.escalation_policy not in known:
            raise ValueError(
                f"escalation_policy: 没有升级策略 {self.escalation_policy}（可选：{', '.join(sorted(known))}）"
            )
        for index, stage in enumerate(self.stages):
            if stage.escalation_policy is not None and stage.escalation_policy not in known:
                raise ValueError(f"stages.{index}.escalation_policy: 没有升级策略 {stage.escalation_policy}")
        return self

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


def template_file(template_id: str) -> Path:
    """The file the template in use for `template_id` was loaded from (swflow's or the agency's)."""
    wanted = get_template(template_id).version
    for folder in (agency_folder("templates"), _template_dir()):
        for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else ():
            found = load_template(path)
            if (found.id, found.version) == (template_id, wanted):
                return path
    raise NotFoundError(f"没有模板 {template_id}")


def list_templates() -> tuple[Template, ...]:
    """swflow's templates and the agency's own (`config.definitions`), one per id."""
    return catalogue("templates", _template_dir(), load_template)


def get_template(template_id: str) -> Template:
    for template in list_templates():
        if template.id == template_id:
            return template
    known = ", ".join(t.id for t in list_templates())
    raise NotFoundError(f"没有模板 {template_id}（可选：{known}）")


def copy_template(source_id: str, new_id: str | None) -> tuple[Path, Template]:
    """`swflow templates new`: the source template's file, comments kept, written into the agency's
    folder under `new_id` at version 1 (or under its own id at the next version), and loaded back."""
    source = get_template(source_id)
    target_id = new_id or source.id
    if not re.fullmatch(r"[a-z][a-z0-9-]*", target_id):
        raise FormError(
            f"--id：{target_id} 不是有效的模板 id（小写字母开头，只含小写字母、数字和 -）", [("--id", "格式")]
        )
    if target_id != source.id and any(t.id == target_id for t in list_templates()):
        raise RefusedError(f"--id：已有模板 {target_id}：请换一个 id")
    version = 1 if target_id != source.id else source.version + 1
    folder = agency_folder("templates")
    path = folder / f"{target_id}.yaml"
    if path.exists():
        raise RefusedError(f"{path} 已存在：不覆盖本机构的定义，请先改名或删除它")
    text = template_file(source.id).read_text(encoding="utf-8")
    text = re.sub(r"(?m)^id:.*$", f"id: {target_id}", text, count=1)
    text = re.sub(r"(?m)^version:.*$", f"version: {version}", text, count=1)
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path, load_template(path)
