"""Who may read each quality record (§7.3 confidentiality; docs/architecture.md, contract 8 sensitive data)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.db.quality_tables import (
    Complaint,
    Incident,
    QualityAction,
    SupervisionAttendee,
    SupervisionSession,
)
from swflow.db.tables import Project, ProjectMember
from swflow.domain.quality.common import with_role
from swflow.domain.quality.rules import Circle

__all__ = ["supervisees", "session_circle", "incident_circle", "complaint_circle", "action_circle", "project_team"]


def supervisees(session: Session, session_id: int) -> list[str]:
    return list(
        session.execute(
            select(SupervisionAttendee.person_id)
            .where(SupervisionAttendee.session_id == session_id)
            .order_by(SupervisionAttendee.person_id)
        ).scalars()
    )


def project_team(session: Session, project_id: str) -> set[str]:
    """The manager, supervisor and workers. Not the evaluator (评估方): an incident record is about the
    people served and the staff who serve them; whoever scores the project's outcomes, often for a
    funder or a third party, is not in its circle."""
    return set(
        session.execute(
            select(ProjectMember.person_id).where(
                ProjectMember.project_id == project_id, ProjectMember.role != "evaluator"
            )
        ).scalars()
    )


def session_circle(session: Session, record: SupervisionSession) -> Circle:
    """The supervisor, the supervisees and the director: nobody else, not even the project team."""
    people = {record.supervisor_id, *supervisees(session, record.id)}
    return Circle(f"督导记录 #{record.id}", frozenset(people))


def incident_circle(session: Session, record: Incident) -> Circle:
    """The reporter and the director; the project's team when it concerns a project, else the supervisors."""
    people = {record.reported_by}
    if record.project_id:
        people |= project_team(session, record.project_id)
    else:
        people |= {p.id for p in with_role(session, "supervisor")}
    return Circle(f"事件记录 #{record.id}", frozenset(people))


def complaint_circle(session: Session, record: Complaint) -> Circle:
    """Who received it, who handles it, the director, and the manager and supervisor of its project."""
    people = {record.received_by, record.handler_id}
    if record.project_id:
        project = session.get_one(Project, record.project_id)
        people |= {project.manager_id, project.supervisor_id}
    return Circle(f"投诉 #{record.id}", frozenset(people))


def action_circle(session: Session, action: QualityAction) -> Circle:
    """The owner and whoever set the action, and the circle of the record it comes from."""
    if action.source == "supervision":
        source = session_circle(session, session.get_one(SupervisionSession, action.source_id))
    else:
        source = complaint_circle(session, session.get_one(Complaint, action.source_id))
    return Circle(f"行动 #{action.id}", frozenset(source.people | {action.owner_id, action.created_by}))
