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
        """Survey keys are unique; a post wave is compared with a baseline of the same instrument before it."""
        seen: dict[str, SurveySpec] = {}
        for index, stage in enumerate(self.stages):
            for number, survey in enumerate(stage.surveys):
                where = f"stages.{index}.surveys.{number}"
                if survey.key in seen:
                    raise ValueError(f"{where}.key: 问卷 key {survey.key} 重复")
                if survey.wave == "post":
                    base = (
                        seen.get(survey.compare_with or "")
                        if survey.compare_with
                        else next(
                            (s for s in seen.values() if s.wave == "baseline" and s.instrument == survey.instrument),
                            None,
                        )
                    )
                    if base is None or base.wave != "baseline" or base.instrument != survey.instrument:
                        raise ValueError(
                            f"{where}.compare_with: 后测问卷须与此前同一量表（{survey.instrument}）的基线问卷对照"
                        )
                seen[survey.key] = survey
        return self

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
