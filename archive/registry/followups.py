"""The deadline sweep's part for referral follow-ups: the same indexed query, the same unique
`escalations` row per (referral, follow-up round, step), messages in the same transaction.

Who hears (config/escalation/referral.yaml): assignee = the referral's worker; manager and
supervisor = its project's, or the directors when it has none; director = the directors."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.clock import SHANGHAI
from config.escalation import EscalationStep
from config.settings import get_settings

from ..deadline_rules import next_fire, step_due
from ..journal import append_event, project_stream
from ..messages import message_context
from ..models import Escalation, Person, Project
from ..outbox import enqueue
from .common import stream
from .models import Referral
from .referrals import referral_steps
from .rules import ReferralStatus

__all__ = ["Tally", "sweep_referrals", "TEMPLATE"]

TEMPLATE = "referral_due"


class Tally(Protocol):
    """What the sweep counts (archive.deadlines.SweepReport)."""

    escalated: int
    skipped_steps: int


def _directors(session: Session) -> list[str]:
    people = session.execute(select(Person).where(Person.active.is_(True)).order_by(Person.id)).scalars()
    return [p.id for p in people if "director" in p.roles]


def _recipients(session: Session, row: Referral, project: Project | None, step: EscalationStep) -> list[str]:
    found: set[str] = set()
    for audience in step.notify:
        if audience == "assignee":
            found.add(row.owner_id)
        elif audience == "manager" and project is not None:
            found.add(project.manager_id)
        elif audience == "supervisor" and project is not None:
            found.add(project.supervisor_id)
        else:
            found.update(_directors(session))
    return sorted(found)


def _context(project: Project | None, row: Referral, step: EscalationStep) -> dict[str, Any]:
    """Ids, titles and the due date only: never the person, the agency or the reason."""
    assert row.follow_up_due_at is not None
    due = row.follow_up_due_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    item = {
        "project_id": project.id if project else "",
        "project_name": project.name if project else "",
        "stage": "转介跟进",
        "task": f"转介 #{row.id} 第 {row.follow_up_round} 次跟进",
        "due": due,
        "step": step.title,
    }
    if project is not None:
        return message_context(project, referral_id=row.id, items=[item])
    return {
        "project_id": "",
        "project_name": "",
        "community": "",
        "link": get_settings().link_base,
        "referral_id": row.id,
        "items": [item],
    }


def sweep_referrals(session: Session, now: datetime, report: Tally) -> int:
    """Escalate every open referral whose follow-up step has come; callers commit. Returns the
    messages queued."""
    steps = referral_steps()
    messages = 0
    rows = session.execute(
        select(Referral)
        .where(Referral.status != ReferralStatus.CLOSED, Referral.next_escalation_at <= now)
        .order_by(Referral.next_escalation_at)
        .with_for_update(skip_locked=True)
    ).scalars()
    for row in rows:
        assert row.follow_up_due_at is not None
        due = step_due(row.follow_up_due_at, steps, row.escalation_step, now)
        if due is None:
            row.next_escalation_at = next_fire(row.follow_up_due_at, steps, row.escalation_step)
            continue
        step = steps[due.index]
        project = session.get(Project, row.project_id) if row.project_id else None
        recipients = _recipients(session, row, project, step)
        for index in (*due.skipped, due.index):
            session.add(
                Escalation(
                    project_id=row.project_id,
                    subject="referral",
                    subject_id=row.id,
                    round=row.follow_up_round,
                    gate_step=0,
                    step=steps[index].key,
                    fired_at=now,
                    recipients=recipients if index == due.index else [],
                    skipped=index != due.index,
                )
            )
        payload = {
            "referral": row.id,
            "round": row.follow_up_round,
            "step": step.key,
            "skipped": [steps[i].key for i in due.skipped],
            "recipients": recipients,
        }
        append_event(
            session, stream("referral", row.id), "referral.escalated", actor="deadline-watch", at=now, payload=payload
        )
        if project is not None:
            append_event(
                session,
                project_stream(project.id),
                "referral.escalated",
                actor="deadline-watch",
                at=now,
                payload=payload,
            )
        for person_id in recipients:
            messages += enqueue(
                session,
                key=f"esc:referral:{row.id}:r{row.follow_up_round}:{step.key}:to:{person_id}",
                recipient=session.get_one(Person, person_id),
                template=TEMPLATE,
                context=_context(project, row, step),
                now=now,
                project_id=project.id if project else None,
                urgent=step.urgent,
            )
        row.escalation_step = due.index + 1
        row.next_escalation_at = next_fire(row.follow_up_due_at, steps, row.escalation_step)
        report.escalated += 1
        report.skipped_steps += len(due.skipped)
    return messages
