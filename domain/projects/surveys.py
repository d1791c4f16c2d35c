"""A project's surveys (issue 16): the responses a worker enters or imports, each a record of the project,
checked all at once and stored all or nothing; and what they add up to (n, means, bands, pre/post change).

A survey is named by the template (`stages[].surveys`), its instrument pinned at launch
(`template_snapshot["instruments"]`), its responses recorded as submissions of the pinned form
`survey-<key>` (`forms_spec.survey_form`): one optional work item per respondent (its `activity` is the
respondent, so one response per respondent and survey is kept by the database too), a `form.submitted`
event each, so `archive verify`, the dossier and the export treat them as any other record."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.config.calendar import add_working_days
from swflow.config.clock import SHANGHAI
from swflow.config.errors import FormError, NotFoundError, RefusedError
from swflow.db.engine import read_session, unit_of_work
from swflow.db.registry_tables import Enrolment
from swflow.db.tables import Project, ProjectMember, Stage, WorkItem
from swflow.domain.people.records import get_person
from swflow.domain.projects.rules import ProjectStatus, StageStatus
from swflow.domain.projects.stages import find_stage, lock_project
from swflow.domain.projects.survey_respondents import baseline_groups, extra_columns, respondent_facts
from swflow.domain.projects.survey_values import computed_values, pinned_survey, project_surveys, recorded_responses
from swflow.domain.projects.work import record_submission
from swflow.forms_spec.breakdowns import crosstabs, group_summaries, item_distributions
from swflow.forms_spec.change import group_difference, paired_change
from swflow.forms_spec.instrument import Instrument
from swflow.forms_spec.responses import sheet_columns, summarise
from swflow.forms_spec.scoring import SCORING_VERSION, check_answers, score_answers
from swflow.forms_spec.survey_form import response_data, survey_form_id

__all__ = ["Answered", "record_responses", "sheet_answers", "survey_period", "survey_report"]

CODE = re.compile(r"^[^\x00-\x1f\x7f]{1,64}$")
Problem = tuple[str, str]


@dataclass(frozen=True)
class Answered:
    """One respondent's answers as given (a sheet's row, or a file of answers)."""

    respondent: str
    answered_on: Any
    answers: dict[str, Any]
    where: str  # 「第 3 行」 or the file: how a problem names it
    group: Any = None
    attributes: dict[str, Any] = field(default_factory=dict)


def survey_period(survey: dict[str, Any], stage: Stage | None) -> tuple[date, date] | None:
    """The days answers may be dated, from the template's `period` (working days after the stage opened);
    None: no period, or its stage has not opened."""
    period = survey.get("period")
    if not period or stage is None or stage.opened_at is None:
        return None
    opened = stage.opened_at.astimezone(SHANGHAI).date()
    return add_working_days(opened, period["from_day"]), add_working_days(opened, period["to_day"])


def _day(value: Any, launched: date, today: date, period: tuple[date, date] | None) -> tuple[str | None, str | None]:
    try:
        day = value if isinstance(value, date) and not isinstance(value, datetime) else None
        day = day or (value.date() if isinstance(value, datetime) else date.fromisoformat(str(value).strip()[:10]))
    except ValueError:
        return None, "填写日期须是 YYYY-MM-DD"
    if day > today:
        return None, f"填写日期不能晚于今天（{today}）"
    if day < launched:
        return None, f"填写日期不能早于项目启动日（{launched}）"
    if period and not period[0] <= day <= period[1]:
        return None, f"填写日期 {day} 不在调查期内（{period[0]} 至 {period[1]}）"
    return day.isoformat(), None


def _taken(session: Session, project_id: str, form_id: str) -> set[str]:
    query = select(WorkItem.activity).where(WorkItem.project_id == project_id, WorkItem.form_id == form_id)
    return set(session.execute(query).scalars())


def _enrolled(session: Session, project_id: str) -> set[str]:
    query = select(Enrolment.person_id).where(Enrolment.project_id == project_id)
    return {str(p) for p in session.execute(query).scalars()}


def _checked(
    session: Session,
    project: Project,
    survey: dict[str, Any],
    instrument: Instrument,
    given: list[Answered],
    now: datetime,
    period: tuple[date, date] | None,
) -> list[tuple[Answered, str, dict[str, Any]]]:
    """Every response as (given, day, record data), or one FormError naming every problem."""
    today, launched = now.astimezone(SHANGHAI).date(), project.created_at.astimezone(SHANGHAI).date()
    taken = _taken(session, project.id, survey_form_id(survey["key"]))
    enrolled = _enrolled(session, project.id) if survey.get("respondents") == "registry" else set()
    seen: dict[str, str] = {}
    problems: list[Problem] = []
    kept: list[tuple[Answered, str, dict[str, Any]]] = []
    grouped = baseline_groups(session, project.id, _baseline_key(project_surveys(project), survey))
    for one in given:
        code = one.respondent.strip()
        head = f"{one.where}（{code[:20]}）" if code else one.where
        if not CODE.match(code):
            problems.append((head, "缺少受访者编号，或超过 64 字"))
        elif code in seen:
            problems.append((head, f"受访者 {code} 与{seen[code]}重复（每人每次调查只答一份）"))
        elif code in taken:
            problems.append((head, f"受访者 {code} 的回答已经录入过（每人每次调查只答一份）"))
        elif survey.get("respondents") == "registry" and code not in enrolled:
            problems.append((head, f"服务对象名册中没有参加本项目的 {code}（受访者须填服务对象的登记编号）"))
        seen.setdefault(code, one.where)
        day, wrong_day = _day(one.answered_on, launched, today, period)
        if wrong_day:
            problems.append((head, wrong_day))
        group, attributes, unfit = respondent_facts(survey, code, one.group, one.attributes, grouped)
        answers, wrong = check_answers(instrument, one.answers)
        problems += [(f"{head} › {where}", rule) for where, rule in [*unfit, *wrong]]
        if day and not wrong and not unfit:
            scores = score_answers(instrument, answers)
            kept.append((one, day, response_data(code, day, answers, scores, group, attributes)))
    if problems:
        lines = "\n".join(f"  - {where}：{rule}" for where, rule in problems[:200])
        more = f"\n  ……另有 {len(problems) - 200} 处" if len(problems) > 200 else ""
        raise FormError(f"问卷 {survey['title']}有 {len(problems)} 处错误，一份也没有录入：\n{lines}{more}", problems)
    return kept


DATE_COLUMNS = ("answered_on", "填写日期")


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def sheet_answers(
    project_id: str, survey_key: str, headers: list[Any], rows: list[list[Any]], answered_on: str | None
) -> list[Answered]:
    """A sheet's rows as responses to the project's pinned instrument (columns by item key or question
    text, a `填写日期` column or one day for all), or one FormError naming the header's problems."""
    with read_session() as session:
        project = session.get(Project, project_id)
        if project is None:
            raise NotFoundError(f"没有项目 {project_id}")
        _, survey, instrument = pinned_survey(project, survey_key)
    names = ["" if h is None else str(h).strip() for h in headers]
    day = next((i for i, n in enumerate(names) if n in DATE_COLUMNS), None)
    group, attributes, taken = extra_columns(survey, names)
    who, columns, problems = sheet_columns(instrument, headers, (*DATE_COLUMNS, *taken))
    if survey.get("groups") and group is None:
        problems.append(("第 1 行", f"缺少“组别”列（group）：本问卷分{'、'.join(survey['groups'])}"))
    if day is None and answered_on is None:
        problems.append(("第 1 行", "没有“填写日期”列（answered_on）：请加这一列，或用 --answered-on 给出"))
    if problems or who is None:
        lines = "\n".join(f"  - {where}：{rule}" for where, rule in problems)
        raise FormError(f"回答表的列有 {len(problems)} 处错误，一份也没有录入：\n{lines}", problems)
    found = []
    for offset, cells in enumerate(rows):
        if all(_blank(c) for c in cells):
            continue
        cell = {i: cells[i] for i in range(len(cells)) if not _blank(cells[i])}
        when = cell.get(day) if day is not None and day in cell else answered_on
        answers = {key: cell[i] for i, key in columns.items() if i in cell}
        facts = {key: cell[i] for key, i in attributes.items() if i in cell}
        in_group = cell.get(group) if group is not None else None
        found.append(Answered(str(cell.get(who, "")), when, answers, f"第 {offset + 2} 行", in_group, facts))
    return found


def record_responses(project_id: str, survey_key: str, person_id: str, given: list[Answered], now: datetime) -> int:
    """Check every response, then record them all in one transaction; the number recorded."""
    with unit_of_work() as session:
        project = lock_project(session, project_id)
        get_person(session, person_id)
        if project.status != ProjectStatus.RUNNING:
            raise RefusedError(f"项目 {project_id} 已结束（{project.status}），不能再录入问卷")
        stage_spec, survey, instrument = pinned_survey(project, survey_key)
        stage = find_stage(session, project.id, stage_spec["key"])
        if stage.status not in (StageStatus.OPEN, StageStatus.AWAITING_DECISION):
            raise RefusedError(
                f"问卷 {survey['title']} 属于阶段「{stage.title}」，该阶段现在不收回答（{stage.status}）"
            )
        member = select(ProjectMember.person_id).where(
            ProjectMember.project_id == project.id,
            ProjectMember.person_id == person_id,
            ProjectMember.role.in_(("worker", "manager", "supervisor")),
        )
        if session.execute(member).first() is None:
            raise RefusedError(f"{person_id} 不是项目 {project_id} 的团队成员，不能录入它的问卷")
        if not given:
            raise FormError(f"问卷 {survey['title']}：没有一份回答", [("(文件)", "至少一份回答")])
        form_id = survey_form_id(survey_key)
        version = int(project.forms_snapshot[form_id]["version"])
        for _given, _, data in _checked(session, project, survey, instrument, given, now, survey_period(survey, stage)):
            item = WorkItem(
                project_id=project.id, stage_id=stage.id, form_id=form_id, round=stage.round,
                activity=data["respondent"], title=f"{survey['title']}：{data['respondent']}"[:200], required=False,
                assignee_id=person_id, status="submitted", opened_at=now, due_at=stage.due_at or now, submitted_at=now,
            )  # fmt: skip
            session.add(item)
            session.flush()
            facts = {"survey": survey_key, "scoring_version": SCORING_VERSION}
            record_submission(session, project, stage, item, version, data, person_id, now, facts=facts)
        return len(given)


def _baseline_key(surveys: list[dict[str, Any]], survey: dict[str, Any]) -> str | None:
    if survey.get("compare_with"):
        return str(survey["compare_with"])
    before = surveys[: surveys.index(survey)]
    found = (s["key"] for s in reversed(before) if s["wave"] == "baseline" and s["instrument"] == survey["instrument"])
    return next(found, None)  # the last baseline of its instrument, as `Template._baseline_of`


def survey_report(project_id: str) -> list[dict[str, Any]]:
    """Each survey of the project: how many answered of how many expected, its period, each score's
    summary, the indicators it computes, and for a post wave with a baseline the change of each score
    for the same respondents."""
    with read_session() as session:
        project = session.get(Project, project_id)
        if project is None:
            raise NotFoundError(f"没有项目 {project_id}")
        surveys = project_surveys(project)
        computed = computed_values(session, project)
        report, waves = [], {}
        for survey in surveys:
            stage_spec, _, instrument = pinned_survey(project, survey["key"])
            responses = recorded_responses(session, project.id, survey["key"], instrument)
            waves[survey["key"]] = responses
            stage = session.execute(
                select(Stage).where(Stage.project_id == project.id, Stage.key == stage_spec["key"])
            ).scalar_one_or_none()
            period = survey_period(survey, stage)
            entry: dict[str, Any] = {
                "key": survey["key"], "title": survey["title"], "wave": survey["wave"], "stage": stage_spec["key"],
                "instrument": instrument.id, "instrument_version": instrument.version,
                "period": None if period is None else {"from": period[0].isoformat(), "to": period[1].isoformat()},
                "expected": survey["expected"], "responses": len(responses), "scores": summarise(instrument, responses),
                "indicators": [asdict(c) for c in computed if c.survey == survey["key"]],
                "distributions": item_distributions(instrument, responses),
            }  # fmt: skip
            groups = list(survey.get("groups", []))
            if groups:
                entry["groups"] = group_summaries(instrument, responses, groups)
            if survey.get("attributes"):
                entry["crosstabs"] = crosstabs(instrument, responses, survey["attributes"])
            if survey["wave"] == "post" and (base := _baseline_key(surveys, survey)):
                entry["compared_with"] = base
                entry["change"] = [
                    paired_change(instrument, s.key, waves.get(base, []), responses) for s in instrument.scores
                ]
                if groups:
                    entry["group_change"] = [
                        group_difference(instrument, s.key, waves.get(base, []), responses, groups)
                        for s in instrument.scores
                    ]
            report.append(entry)
    return report
