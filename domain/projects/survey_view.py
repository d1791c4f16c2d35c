"""A survey's web page (issue 16): what the team sees before entering a paper questionnaire or uploading
a sheet — the pinned instrument, the survey's period, groups and attributes, how many have answered of
those expected, what the answers compute so far, and whether the viewer may record responses (a member
of the project's team, as `record_responses` checks again)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from swflow.config.errors import NotFoundError, RefusedError
from swflow.db.engine import read_session
from swflow.db.tables import Project, ProjectMember, Stage
from swflow.domain.projects.project_view import why_not_see
from swflow.domain.projects.rules import ProjectStatus, StageStatus
from swflow.domain.projects.survey_values import computed_values, pinned_survey, survey_counts
from swflow.domain.projects.surveys import survey_period

__all__ = ["SurveyView", "survey_view"]

TEAM = ("worker", "manager", "supervisor")


class SurveyView(BaseModel):
    project_id: str
    project_name: str
    key: str
    title: str
    wave: str
    stage_title: str
    respondents: str  # registry | anonymous
    expected: int
    responses: int
    period: tuple[str, str] | None
    groups: list[str]
    attributes: list[dict[str, Any]]
    instrument: dict[str, Any]  # the pinned Instrument's JSON
    computed: list[str]  # 「孤独感平均分 = 5.64 分（n = 50）」
    may_record: bool
    why_not: str | None  # why the viewer may not record now (not on the team, the stage not open)


def survey_view(project_id: str, survey_key: str, viewer: str) -> SurveyView:
    """The survey page for a person who may see the project (else RefusedError)."""
    if (refused := why_not_see(project_id, viewer)) is not None:
        raise RefusedError(refused)
    with read_session() as session:
        project = session.get(Project, project_id)
        if project is None:
            raise NotFoundError(f"没有项目 {project_id}")
        stage_spec, survey, instrument = pinned_survey(project, survey_key)
        stage = session.execute(
            select(Stage).where(Stage.project_id == project.id, Stage.key == stage_spec["key"])
        ).scalar_one()
        member = session.execute(
            select(ProjectMember.person_id).where(
                ProjectMember.project_id == project.id, ProjectMember.person_id == viewer, ProjectMember.role.in_(TEAM)
            )
        ).first()
        why_not = None
        if member is None:
            why_not = "只有本项目的社工、主管和督导可以录入问卷"
        elif project.status != ProjectStatus.RUNNING:
            why_not = f"项目已结束（{project.status}），不能再录入问卷"
        elif stage.status not in (StageStatus.OPEN, StageStatus.AWAITING_DECISION):
            why_not = f"问卷属于阶段「{stage.title}」，该阶段现在不收回答"
        period = survey_period(survey, stage)
        counts = next(c for c in survey_counts(session, project) if c["key"] == survey_key)
        computed = [f"{c.name} = {c.shown()}" for c in computed_values(session, project) if c.survey == survey_key]
        return SurveyView(
            project_id=project.id, project_name=project.name, key=survey_key, title=survey["title"],
            wave=survey["wave"], stage_title=stage.title, respondents=survey.get("respondents", "anonymous"),
            expected=survey["expected"], responses=counts["responses"],
            period=None if period is None else (period[0].isoformat(), period[1].isoformat()),
            groups=list(survey.get("groups", [])), attributes=list(survey.get("attributes", [])),
            instrument=instrument.model_dump(mode="json"), computed=computed,
            may_record=why_not is None, why_not=why_not,
        )  # fmt: skip
