"""A submission agrees with the values the project's surveys compute (`cross_checks.Computed`): a row
of a `measures: baseline|post` table naming a computed indicator, a number field a survey fills
(`evaluation-results.satisfaction_percent`), a scorecard row scored from a survey. The worker may still
type the value (a paper report, an Excel habit); what is typed must be what the answers give, compared
at 2 decimals, and the problem says the value, the survey and its n."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from swflow.forms_spec.catalogue import SCORECARD_FORM, SCORECARD_TABLE
from swflow.forms_spec.cross_checks import Computed, FormContext, field_label
from swflow.forms_spec.spec import FormSpec

__all__ = ["computed_problems", "computed_facts"]

Problem = tuple[str, str]


def _shown(value: float) -> str:
    return f"{round(value, 2):g}"


def _targets(form: FormSpec, clean: dict[str, Any], context: FormContext) -> Iterator[tuple[str, Any, Computed, bool]]:
    """(where, typed, computed, is a scorecard score) for every value of the submission a survey computes."""
    for field in form.fields:
        if field.type == "table" and field.measures in ("baseline", "post"):
            named = {c.name: c for c in context.computed if c.role == field.measures}
            for index, row in enumerate(clean.get(field.name) or []):
                found = named.get(str(row.get("indicator", "")).strip())
                if found is not None and row.get("value") is not None:
                    yield field_label(form, (field.name, index, "value")), row["value"], found, False
        for computed in (c for c in context.computed if c.field == f"{form.id}.{field.name}"):
            if clean.get(field.name) is not None:
                yield field_label(form, (field.name,)), clean[field.name], computed, False
    if form.id == SCORECARD_FORM:
        scored = {c.scorecard: c for c in context.computed if c.scorecard}
        for index, row in enumerate(clean.get(SCORECARD_TABLE) or []):
            if (found := scored.get(row.get("indicator"))) is not None and row.get("score") is not None:
                yield field_label(form, (SCORECARD_TABLE, index, "score")), row["score"], found, True


def _disagrees(typed: Any, computed: Computed, scorecard: bool) -> str | None:
    source = f"问卷「{computed.survey_title}」"
    if computed.value is None:
        return f"此值由{source}计算，它还没有可计分的回答：先录入问卷（swflow survey import），或删去这一项"
    value = _shown(computed.value)
    if scorecard:
        if int(typed) == computed.scorecard_score:
            return None
        return f"此项按{source}的「{computed.name}」{value} 计 {computed.scorecard_score} 分，填的是 {typed}"
    if round(float(typed), 2) == round(computed.value, 2):
        return None
    given = f"{float(typed):g}"
    return f"「{computed.name}」由{source}的 {computed.n} 份回答算得 {value}（{computed.statistic}），填的是 {given}"


def computed_problems(form: FormSpec, clean: dict[str, Any], context: FormContext | None) -> list[Problem]:
    if context is None or not context.computed:
        return []
    return [
        (where, wrong)
        for where, typed, computed, scorecard in _targets(form, clean, context)
        if (wrong := _disagrees(typed, computed, scorecard))
    ]


def computed_facts(form: FormSpec, clean: dict[str, Any], context: FormContext) -> list[dict[str, Any]]:
    """The computed values a (checked) submission carries, for its event: each with its survey, n and the
    last response it counts, so the number is traced to the answers behind it."""
    found = {c.name: c for _, _, c, _ in _targets(form, clean, context)}
    return [asdict(c) for c in found.values()]
