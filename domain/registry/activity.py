"""What the activity records (§6.1.3) say about people served and volunteers: read from the
submissions themselves, so there is one source of truth. A record revised in a later round
replaces the earlier one: only the latest submission of each activity counts."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.config.errors import NotFoundError
from swflow.config.registry import registry_settings
from swflow.db.registry_tables import ServedPerson, Volunteer
from swflow.db.tables import FormSubmission, Project, WorkItem
from swflow.domain.registry.common import resolve_person
from swflow.domain.registry.rules import HoursRow, PersonStatus

__all__ = [
    "ActivityRecord",
    "latest_activity_records",
    "aliases",
    "attended",
    "hours_by_volunteer",
    "volunteer_hours",
    "registry_problems",
]


@dataclass(frozen=True)
class ActivityRecord:
    project_id: str
    project_name: str
    activity: str
    submission_id: int
    data: dict[str, Any]

    @property
    def date(self) -> str:
        return str(self.data.get("activity_date", ""))

    @property
    def title(self) -> str:
        return str(self.data.get("title", ""))


def latest_activity_records(session: Session, project_ids: Collection[str] | None = None) -> list[ActivityRecord]:
    """The latest submission of every activity of the configured record form, oldest first."""
    form = registry_settings().activity_records.form
    query = (
        select(FormSubmission, WorkItem.activity, WorkItem.id, Project.name)
        .join(WorkItem, WorkItem.id == FormSubmission.work_item_id)
        .join(Project, Project.id == FormSubmission.project_id)
        .where(FormSubmission.form_id == form)
        .order_by(FormSubmission.id)
    )
    if project_ids is not None:
        query = query.where(FormSubmission.project_id.in_(list(project_ids)))
    latest: dict[tuple[str, str], ActivityRecord] = {}
    for submission, activity, item_id, name in session.execute(query).tuples():
        key = activity or f"item-{item_id}"
        latest[(submission.project_id, key)] = ActivityRecord(
            submission.project_id, name, key, submission.id, submission.data
        )
    return sorted(latest.values(), key=lambda r: (r.date, r.submission_id))


def aliases(session: Session, person_id: int) -> set[int]:
    """The ids that stand for this person: its own and every record merged into it."""
    found, frontier = {person_id}, [person_id]
    while frontier:
        merged = session.execute(select(ServedPerson.id).where(ServedPerson.merged_into.in_(frontier))).scalars()
        frontier = [i for i in merged if i not in found]
        found.update(frontier)
    return found


def _ids(value: Any) -> set[int]:
    return {value} if isinstance(value, int) and not isinstance(value, bool) else set()


def attended(session: Session, person_id: int) -> list[ActivityRecord]:
    """The activities whose record names this person (or a record merged into them) as served."""
    rules = registry_settings().activity_records
    ids = aliases(session, person_id)
    return [
        record
        for record in latest_activity_records(session)
        if any(_ids(row.get(rules.served_column)) & ids for row in record.data.get(rules.served_table) or [])
    ]


def hours_by_volunteer(session: Session) -> dict[int, list[HoursRow]]:
    """Every volunteer's hours, one row per activity they were recorded at (one pass over the records)."""
    rules = registry_settings().activity_records
    found: dict[int, dict[str, HoursRow]] = {}
    for record in latest_activity_records(session):
        for row in record.data.get(rules.volunteer_table) or []:
            volunteer_id = row.get(rules.volunteer_column)
            if not _ids(volunteer_id):
                continue
            key = f"{record.project_id}/{record.activity}"
            earlier = found.setdefault(volunteer_id, {}).get(key)
            hours = float(row.get(rules.hours_column) or 0) + (earlier.hours if earlier else 0)
            found[volunteer_id][key] = HoursRow(
                record.project_id, record.project_name, record.activity, record.date, record.title, hours
            )
    return {volunteer_id: list(rows.values()) for volunteer_id, rows in found.items()}


def volunteer_hours(session: Session, volunteer_id: int) -> list[HoursRow]:
    """One row per activity the volunteer was recorded at, with the hours the record gives."""
    return hours_by_volunteer(session).get(volunteer_id, [])


def registry_problems(session: Session, project_id: str, form_id: str, data: dict[str, Any]) -> list[tuple[str, str]]:
    """What an activity record names from the registry must be there: each person served on record
    (a merged id stands for the record it went into) and not anonymised; each volunteer on record.
    Naming someone opens no file: a person outside the project stays masked to its team.
    Returns (where, rule) pairs, empty when all is well (or the form is not the record)."""
    rules = registry_settings().activity_records
    if form_id != rules.form:
        return []
    problems: list[tuple[str, str]] = []
    for index, row in enumerate(data.get(rules.served_table) or [], start=1):
        where = f"{rules.served_table} › 第 {index} 行 › {rules.served_column}"
        person_id = row.get(rules.served_column)
        try:
            person = resolve_person(session, person_id)
        except NotFoundError as missing:
            problems.append((where, str(missing)))
            continue
        if person.status == PersonStatus.FORGOTTEN:
            problems.append((where, f"服务对象 #{person_id} 的个人信息已删除，不能再记入活动"))
    for index, row in enumerate(data.get(rules.volunteer_table) or [], start=1):
        where = f"{rules.volunteer_table} › 第 {index} 行 › {rules.volunteer_column}"
        volunteer_id = row.get(rules.volunteer_column)
        if not isinstance(volunteer_id, int) or session.get(Volunteer, volunteer_id) is None:
            problems.append((where, f"没有志愿者 #{volunteer_id}（用 `swflow registry volunteer list` 查看）"))
    return problems
