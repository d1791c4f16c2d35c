"""What a form's cross-form rules need to know about the project (`forms_spec.cross_checks`):
the project's dates, the indicators it measured at baseline, and the values its surveys compute."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.config.clock import SHANGHAI
from swflow.db.tables import FormSubmission, Project
from swflow.domain.projects.survey_values import computed_values, project_surveys
from swflow.forms_spec import Baseline, FormContext, FormSpec
from swflow.forms_spec.catalogue import SCORECARD_FORM

__all__ = ["form_context"]


def _baseline_tables(forms: list[FormSpec]) -> dict[str, bool]:
    """`form-id.table` → marked (`measures: baseline`), for every table a baseline may come from."""
    tables = {f"{form.id}.{f.name}": True for form in forms for f in form.fields if f.measures == "baseline"}
    for form in forms:
        for rule in form.rules:
            if rule.baseline is not None:
                tables.setdefault(rule.baseline, False)
    return tables


def _reads_surveys(project: Project, form: FormSpec | None) -> bool:
    """Whether a submission of `form` can meet a computed value (a measures table, a `has_baseline` rule, a
    number field a survey fills, the scorecard): only then are the survey's responses read."""
    if form is None:
        return True
    if any(f.measures in ("baseline", "post") for f in form.fields) or any(
        r.kind == "has_baseline" for r in form.rules
    ):
        return True
    targets = {
        str(i.get("field", "")).split(".", 1)[0] for s in project_surveys(project) for i in s.get("indicators", [])
    }
    return form.id in targets or form.id == SCORECARD_FORM


def form_context(session: Session, project: Project, now: datetime, form: FormSpec | None = None) -> FormContext:
    forms = [FormSpec.model_validate(spec) for spec in project.forms_snapshot.values()]
    tables = _baseline_tables(forms)
    wanted = {key.split(".", 1)[0] for key in tables}
    latest: dict[str, FormSubmission] = {}
    if wanted:
        query = (
            select(FormSubmission)
            .where(FormSubmission.project_id == project.id, FormSubmission.form_id.in_(sorted(wanted)))
            .order_by(FormSubmission.id)
        )
        latest = {sub.form_id: sub for sub in session.execute(query).scalars()}
    by_id = {form.id: form for form in forms}
    baselines: dict[str, Baseline] = {}
    for key, marked in tables.items():
        form_id, table = key.split(".", 1)
        sub, form = latest.get(form_id), by_id.get(form_id)
        if form is None:  # a baseline form this project's template does not use
            continue
        spec = next((f for f in form.fields if f.name == table), None)
        rows = (sub.data.get(table) if sub else None) or []
        indicators = frozenset(str(r["indicator"]) for r in rows if isinstance(r, dict) and r.get("indicator"))
        where = f"{form.title} › {spec.label if spec else table}"
        baselines[key] = Baseline(where=where, indicators=indicators, marked=marked, submitted=sub is not None)
    return FormContext(
        today=now.astimezone(SHANGHAI).date(),
        launched=project.created_at.astimezone(SHANGHAI).date(),
        closed=project.closed_at.astimezone(SHANGHAI).date() if project.closed_at else None,
        baselines=baselines,
        computed=computed_values(session, project) if _reads_surveys(project, form) else (),
    )
