"""Opening a stage round: which work items, for whom, due when — and telling each assignee.

Required forms go to the project's lead worker, due with the stage — except the stage's
`evaluator_forms`, which go to the project's evaluator (评估方). A stage that declares
`activities` also gets one record per row of the approved schedule, assigned to the row's
responsible worker and due when the activity ends; the stage itself is then due when its last
activity ends, if that is later than its own duration (docs/forms.md).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.config.calendar import due_at
from swflow.config.clock import SHANGHAI
from swflow.config.settings import get_settings
from swflow.db.journal import append_event, project_stream
from swflow.db.snapshot import stage_spec
from swflow.db.tables import FormSubmission, Person, Project, ProjectMember, Stage, WorkItem
from swflow.domain.deadlines.schedule import schedule_item
from swflow.domain.outbox.context import message_context
from swflow.domain.outbox.records import enqueue
from swflow.domain.outbox.relevance import about_stage
from swflow.domain.projects.evaluators import evaluator_of
from swflow.domain.projects.rules import StageStatus

__all__ = ["open_round", "lead_worker", "stage_spec"]  # stage_spec re-exported for callers


@dataclass(frozen=True)
class PlannedItem:
    form_id: str
    activity: str
    title: str
    assignee: str
    due: datetime


def _workers(session: Session, project_id: str) -> list[str]:
    return list(
        session.execute(
            select(ProjectMember.person_id)
            .where(ProjectMember.project_id == project_id, ProjectMember.role == "worker")
            .order_by(ProjectMember.position)
        ).scalars()
    )


def lead_worker(session: Session, project_id: str) -> Person:
    return session.get_one(Person, _workers(session, project_id)[0])


def _activity_items(session: Session, project: Project, source: dict[str, str], end_hour: int) -> list[PlannedItem]:
    """One record per row of the latest submission of the schedule form."""
    schedule = (
        session.execute(
            select(FormSubmission)
            .where(FormSubmission.project_id == project.id, FormSubmission.form_id == source["form"])
            .order_by(FormSubmission.id.desc())
        )
        .scalars()
        .first()
    )
    if schedule is None:
        return []
    workers = _workers(session, project.id)
    record_title = project.forms_snapshot[source["record_form"]]["title"]
    items = []
    for index, row in enumerate(schedule.data.get(source["table"], []), start=1):
        start = datetime.combine(date.fromisoformat(row["start"]), time(9), SHANGHAI)
        responsible = row.get("responsible")
        items.append(
            PlannedItem(
                form_id=source["record_form"],
                activity=f"a{index}",
                title=f"{record_title}：{row.get('name', index)}",
                assignee=responsible if responsible in workers else workers[0],
                due=due_at(start, int(row.get("duration_days", 1)), end_hour),
            )
        )
    return items


def _plan(
    session: Session, project: Project, stage: Stage, forms: list[str] | None, now: datetime
) -> list[PlannedItem]:
    spec = stage_spec(project, stage.key)
    end_hour = get_settings().workday_end_hour
    stage.due_at = due_at(now, int(spec["duration_days"]), end_hour)
    lead = _workers(session, project.id)[0]
    wanted = forms if forms is not None else list(spec["forms"])
    planned = [
        PlannedItem(
            f,
            "",
            project.forms_snapshot[f]["title"],
            evaluator_of(session, project, stage.key, f) or lead,
            stage.due_at,
        )
        for f in wanted
        if f in spec["forms"]
    ]
    source = spec.get("activities")
    if source and (forms is None or source["record_form"] in forms):
        activities = _activity_items(session, project, source, end_hour)
        planned += activities
        if activities:  # the approved schedule is the plan: the stage waits for its last activity
            stage.due_at = max([stage.due_at, *(a.due for a in activities)])
    return planned


def open_round(
    session: Session, project: Project, stage: Stage, now: datetime, note: str, forms: list[str] | None = None
) -> None:
    """Create this round's work items (skipping any that exist); each assignee gets one message."""
    existing = set(
        session.execute(
            select(WorkItem.form_id, WorkItem.activity).where(
                WorkItem.stage_id == stage.id, WorkItem.round == stage.round
            )
        ).tuples()
    )
    planned = _plan(session, project, stage, forms, now)
    for item in planned:
        if (item.form_id, item.activity) in existing:
            continue
        work_item = WorkItem(
            project_id=project.id,
            stage_id=stage.id,
            form_id=item.form_id,
            round=stage.round,
            activity=item.activity,
            title=item.title,
            required=True,
            assignee_id=item.assignee,
            status="open",
            opened_at=now,
            due_at=item.due,
        )
        schedule_item(project, stage, work_item)
        session.add(work_item)
    append_event(
        session,
        project_stream(project.id),
        "stage.opened",
        actor="swflow",
        at=now,
        flow_run_id=project.flow_run_id,
        payload={
            "stage": stage.key,
            "round": stage.round,
            "due_at": stage.due_at.isoformat() if stage.due_at else None,
            "items": [
                {"form": i.form_id, "activity": i.activity, "assignee": i.assignee, "due_at": i.due.isoformat()}
                for i in planned
            ],
        },
    )
    by_person: dict[str, list[PlannedItem]] = defaultdict(list)
    for item in planned:
        by_person[item.assignee].append(item)
    for person_id, items in by_person.items():
        enqueue(
            session,
            key=f"{project.id}:{stage.key}:r{stage.round}:opened:{person_id}",
            recipient=session.get_one(Person, person_id),
            template="stage_opened",
            about=about_stage(stage, [StageStatus.OPEN]),
            context=message_context(
                project,
                page=f"/?project={project.id}",
                stage=stage.title,
                round=stage.round,
                tasks=[i.title for i in items],
                due=min(i.due for i in items),
                note=note,
            ),
            now=now,
            project_id=project.id,
        )
