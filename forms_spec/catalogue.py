"""Checks that join templates, forms and escalation policies: every form and policy a template names
exists (swflow's or the agency's own) and fits its use."""

from __future__ import annotations

from swflow.config.errors import DefinitionError, NotFoundError
from swflow.config.escalation import list_policies
from swflow.config.scorecards import get_scorecard
from swflow.config.templates import SurveySpec, Template
from swflow.forms_spec.instrument import Instrument, get_instrument
from swflow.forms_spec.spec import FormSpec, get_form
from swflow.forms_spec.survey_form import survey_form

__all__ = ["check_template_forms", "template_forms", "template_instruments"]

SCHEDULE_COLUMNS = {"start": "date", "duration_days": "integer", "responsible": "person"}
SCORECARD_FORM, SCORECARD_TABLE = "scorecard", "scores"  # its `indicator` column lists the card's indicators


def template_forms(template: Template) -> dict[str, FormSpec]:
    """Every form the template uses (required, optional, activity records), by id."""
    ids: list[str] = []
    for stage in template.stages:
        ids += [*stage.forms, *stage.optional_forms]
        if stage.activities:
            ids.append(stage.activities.record_form)
    forms = {form_id: get_form(form_id) for form_id in dict.fromkeys(ids)}
    for stage in template.stages:
        for survey in stage.surveys:
            instrument = get_instrument(survey.instrument)
            sensitive = survey.respondents == "registry" or template.sensitivity == "sensitive"
            form = survey_form(
                instrument, survey.key, survey.title, survey.wave, sensitive, survey.groups, survey.attributes
            )
            forms[form.id] = form
    return forms


def template_instruments(template: Template) -> dict[str, Instrument]:
    """Every instrument the template's surveys use, by id (pinned with the project at launch)."""
    return {s.instrument: get_instrument(s.instrument) for stage in template.stages for s in stage.surveys}


def check_template_forms(template: Template, source: str) -> dict[str, FormSpec]:
    """The forms of `template`, or a DefinitionError naming `source`, the path and the rule."""
    problems: list[str] = []
    owner: dict[str, str] = {}
    policies = {p.id for p in list_policies()}
    known = ", ".join(sorted(policies))
    for index, stage in enumerate(template.stages):
        uses = [("forms", f) for f in stage.forms] + [("optional_forms", f) for f in stage.optional_forms]
        if stage.activities:
            uses.append(("activities.record_form", stage.activities.record_form))
        for where, form_id in uses:
            try:
                get_form(form_id)
            except NotFoundError as exc:
                problems.append(f"stages.{index}.{where}: {exc}")
            if form_id in owner and owner[form_id] != stage.key:
                problems.append(
                    f"stages.{index}.{where}: 表单 {form_id} 已用于阶段 {owner[form_id]}，一个表单只能属于一个阶段"
                )
            owner[form_id] = stage.key
        if stage.activities:
            problems += _schedule_problems(index, stage.activities.form, stage.activities.table)
        if SCORECARD_FORM in stage.forms:
            problems += _scorecard_problems(index, template)
        for number, survey in enumerate(stage.surveys):
            try:
                instrument = get_instrument(survey.instrument)
            except NotFoundError as exc:
                problems.append(f"stages.{index}.surveys.{number}.instrument: {exc}")
                continue
            problems += _survey_indicator_problems(f"stages.{index}.surveys.{number}", survey, instrument, template)
        if stage.escalation_policy and stage.escalation_policy not in policies:
            problems.append(
                f"stages.{index}.escalation_policy: 没有升级策略 {stage.escalation_policy}（可选：{known}）"
            )
    problems += _baseline_reference_problems(template)
    try:
        get_scorecard(template.scorecard)
    except NotFoundError as exc:
        problems.append(f"scorecard: {exc}")
    if template.escalation_policy not in policies:
        problems.append(f"escalation_policy: 没有升级策略 {template.escalation_policy}（可选：{known}）")
    if problems:
        raise DefinitionError("\n".join(f"{source}: {p}" for p in problems))
    return template_forms(template)


def _schedule_problems(index: int, form_id: str, table: str) -> list[str]:
    where = f"stages.{index}.activities"
    try:
        form = get_form(form_id)
    except NotFoundError as exc:
        return [f"{where}.form: {exc}"]
    field = next((f for f in form.fields if f.name == table), None)
    if field is None or field.type != "table":
        return [f"{where}.table: 表单 {form_id} 没有表格字段 {table}"]
    columns = {c.name: c.type for c in field.columns or ()}
    return [
        f"{where}.table: {form_id}.{table} 须有 {name} 列（{kind}）"
        for name, kind in SCHEDULE_COLUMNS.items()
        if columns.get(name) != kind
    ]


def _scorecard_problems(index: int, template: Template) -> list[str]:
    """The scorecard form scores exactly the indicators of the template's scorecard (config/scorecards)."""
    where = f"stages.{index}.forms"
    try:
        form, card = get_form(SCORECARD_FORM), get_scorecard(template.scorecard)
    except NotFoundError:  # named above: the form under its stage, the scorecard under `scorecard`
        return []
    table = next((f for f in form.fields if f.name == SCORECARD_TABLE), None)
    column = next((c for c in (table.columns or ()) if c.name == "indicator"), None) if table else None
    listed = set((column.choices or {}) if column else {})
    wanted = set(card.indicator_keys())
    if listed == wanted:
        return []
    missing, extra = "、".join(sorted(wanted - listed)) or "无", "、".join(sorted(listed - wanted)) or "无"
    return [
        f"{where}: 表单 {SCORECARD_FORM} v{form.version} 的 {SCORECARD_TABLE}.indicator 选项与记分卡 {card.id} "
        f"v{card.version} 的指标不一致（表单缺少：{missing}；记分卡没有：{extra}）"
    ]


def _baseline_reference_problems(template: Template) -> list[str]:
    """A `has_baseline` rule's `baseline: form.table` names a form that exists and a table of it with an
    `indicator` column (a typo would switch the rule off or refuse every row)."""
    problems: list[str] = []
    for form in template_forms_quietly(template):
        for index, rule in enumerate(form.rules):
            if rule.baseline is None:
                continue
            form_id, table = rule.baseline.split(".", 1)
            where = f"表单 {form.id} 的 rules.{index}.baseline"
            try:
                source = get_form(form_id)
            except NotFoundError as exc:
                problems.append(f"{where}: {exc}")
                continue
            field = next((f for f in source.fields if f.name == table), None)
            if field is None or field.type != "table" or "indicator" not in {c.name for c in field.columns or ()}:
                problems.append(f"{where}: 表单 {form_id} 没有带 indicator 列的表格 {table}")
    return problems


def template_forms_quietly(template: Template) -> list[FormSpec]:
    """The template's forms that exist (the missing ones are named elsewhere)."""
    found = []
    for stage in template.stages:
        ids = [*stage.forms, *stage.optional_forms] + ([stage.activities.record_form] if stage.activities else [])
        for form_id in ids:
            try:
                found.append(get_form(form_id))
            except NotFoundError:
                continue
    return found


def _survey_indicator_problems(where: str, survey: SurveySpec, instrument: Instrument, template: Template) -> list[str]:
    """A computed indicator names a score of its instrument and bands of that score; its `field` a number
    field of a form the template uses; its `scorecard` an indicator of the template's scorecard, scored
    within the card's scale."""
    problems: list[str] = []
    scores = {s.key: s for s in instrument.scores}
    forms = {f.id: f for f in template_forms_quietly(template)}
    for at, indicator in enumerate(survey.indicators):
        here = f"{where}.indicators.{at}"
        score = scores.get(indicator.score or "")
        if indicator.score is not None and score is None:
            known = "、".join(scores) or "无"
            problems.append(f"{here}.score: 量表 {instrument.id} 没有得分 {indicator.score}（可选：{known}）")
        if score is not None and (unknown := [b for b in indicator.bands if b not in {x.label for x in score.bands}]):
            labels = "、".join(b.label for b in score.bands) or "无"
            problems.append(f"{here}.bands: 得分 {score.key} 没有分档 {'、'.join(unknown)}（可选：{labels}）")
        if indicator.field is not None:
            form_id, name = indicator.field.split(".", 1)
            form = forms.get(form_id)
            field = next((f for f in form.fields if f.name == name), None) if form else None
            if field is None or field.type not in ("number", "integer"):
                problems.append(f"{here}.field: 本模板的表单中没有数值字段 {indicator.field}")
        if indicator.scorecard is not None:
            try:
                card = get_scorecard(template.scorecard)
            except NotFoundError:
                continue  # named under `scorecard`
            if indicator.scorecard not in card.indicator_keys():
                problems.append(f"{here}.scorecard: 记分卡 {card.id} 没有指标 {indicator.scorecard}")
            if wrong := [lv.score for lv in indicator.levels if not card.scale.min <= lv.score <= card.scale.max]:
                problems.append(f"{here}.levels: 得分 {wrong[0]} 不在记分卡的 {card.scale.min}–{card.scale.max} 分之内")
    return problems
