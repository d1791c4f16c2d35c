"""What a project's surveys compute (issue 16, part 3): each survey's pinned instrument, its responses as
recorded, and the indicators the template computes from them (`stages[].surveys[].indicators`) — read by
the form checks (`form_context`), the indicator and scorecard reports and `swflow survey show`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from swflow.config.errors import NotFoundError
from swflow.config.scorecards import get_scorecard
from swflow.db.tables import FormSubmission, Project
from swflow.forms_spec.cross_checks import Computed
from swflow.forms_spec.instrument import Instrument
from swflow.forms_spec.responses import Response
from swflow.forms_spec.survey_form import field_name, survey_form_id
from swflow.forms_spec.survey_values import UNITS, indicator_value, scorecard_score, statistic_words

__all__ = ["computed_values", "pinned_survey", "project_surveys", "recorded_responses", "survey_counts"]


def project_surveys(project: Project) -> list[dict[str, Any]]:
    return [s for stage in project.template_snapshot["stages"] for s in stage.get("surveys", [])]


def pinned_survey(project: Project, key: str) -> tuple[dict[str, Any], dict[str, Any], Instrument]:
    """(stage, survey, instrument) of one survey, as the project pinned them at launch."""
    for stage in project.template_snapshot["stages"]:
        for survey in stage.get("surveys", []):
            if survey["key"] == key:
                pinned = project.template_snapshot["instruments"][survey["instrument"]]
                return stage, survey, Instrument.model_validate(pinned)
    known = "、".join(s["key"] for s in project_surveys(project)) or "无"
    raise NotFoundError(f"项目 {project.id} 没有问卷 {key}（可选：{known}）")


def recorded_responses(session: Session, project_id: str, survey_key: str, instrument: Instrument) -> list[Response]:
    """The survey's responses, in the order recorded; `row` is the submission's id."""
    form_id = survey_form_id(survey_key)
    query = select(FormSubmission).where(FormSubmission.project_id == project_id, FormSubmission.form_id == form_id)
    found = []
    for sub in session.execute(query.order_by(FormSubmission.id)).scalars():
        scores = {
            s.key: {"value": sub.data.get(f"score__{s.key}"), "band": sub.data.get(f"band__{s.key}"), "answered": 0}
            for s in instrument.scores
        }
        answers = {key: sub.data[field_name(key)] for key in instrument.answer_items if field_name(key) in sub.data}
        attributes = {k[len("attr__") :]: str(v) for k, v in sub.data.items() if k.startswith("attr__")}
        found.append(Response(sub.id, str(sub.data["respondent"]), answers, scores, sub.data.get("group"), attributes))
    return found


def computed_values(session: Session, project: Project) -> tuple[Computed, ...]:
    """Every indicator the project's surveys compute, from the responses recorded so far."""
    surveys = [s for s in project_surveys(project) if s.get("indicators")]
    if not surveys:
        return ()
    lowest = get_scorecard(str(project.template_snapshot.get("scorecard", "default"))).scale.min
    found: list[Computed] = []
    for survey in surveys:
        _, _, instrument = pinned_survey(project, survey["key"])
        responses = recorded_responses(session, project.id, survey["key"], instrument)
        for indicator in survey["indicators"]:
            value, n, sd = indicator_value(indicator, responses)
            found.append(
                Computed(
                    name=indicator["name"],
                    role="post" if survey["wave"] == "post" else "baseline",
                    survey=survey["key"],
                    survey_title=survey["title"],
                    statistic=statistic_words(indicator, instrument),
                    unit=UNITS[indicator["statistic"]],
                    value=value,
                    n=n,
                    sd=sd,
                    field=indicator.get("field"),
                    scorecard=indicator.get("scorecard"),
                    scorecard_score=scorecard_score(indicator, value, lowest),
                    through=responses[-1].row if responses else 0,
                )  # fmt: skip
            )
    return tuple(found)


def survey_counts(session: Session, project: Project) -> list[dict[str, Any]]:
    """Each survey of the project with its responses so far (for the project page)."""
    found = []
    for survey in project_surveys(project):
        query = select(func.count()).where(
            FormSubmission.project_id == project.id, FormSubmission.form_id == survey_form_id(survey["key"])
        )
        found.append({"key": survey["key"], "title": survey["title"], "wave": survey["wave"],
                      "expected": survey["expected"], "responses": int(session.scalar(query) or 0)})  # fmt: skip
    return found
