"""The deadline sweep's part for referral follow-ups: each open referral whose next step has come
becomes a `DueRecord`, escalated by archive/record_sweep.py like the quality records (the same
indexed query, unique `escalations` row per (referral, follow-up round, step), digests).

Who hears (config/escalation/referral.yaml): assignee = the referral's worker; manager and
supervisor = its project's, or the directors when it has none; director = the directors.
The `referral.escalated` event goes on the referral's stream and on its project's."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from swflow.config.registry import registry_settings
from swflow.db.registry_tables import Referral
from swflow.db.tables import Project
from swflow.domain.deadlines.records import DueRecord, Notice, directors, due_rows, fire, send
from swflow.domain.deadlines.rules import Audience
from swflow.domain.registry.common import stream
from swflow.domain.registry.rules import ReferralStatus

if TYPE_CHECKING:
    from swflow.domain.deadlines.schedule import SweepReport

__all__ = ["sweep_referrals", "TEMPLATE"]

TEMPLATE = "referral_due"


def _due(session: Session, row: Referral, policy: str, heads: tuple[str, ...]) -> DueRecord:
    assert row.follow_up_due_at is not None
    project = session.get(Project, row.project_id) if row.project_id else None
    who = Audience(
        (row.owner_id,),
        (project.manager_id,) if project else heads,
        (project.supervisor_id,) if project else heads,
    )
    return DueRecord(
        subject="referral",
        row=row,
        round=row.follow_up_round,
        due=row.follow_up_due_at,
        policy=policy,
        who=who,
        stream=stream("referral", row.id),
        project=project,
        label="转介跟进",
        # ids and the round only: never the person, the agency or the reason
        task=f"转介 #{row.id} 第 {row.follow_up_round} 次跟进",
        template=TEMPLATE,
        event="referral.escalated",
        on_project_stream=True,
    )


def sweep_referrals(session: Session, now: datetime, report: SweepReport, digest: bool) -> int:
    """Escalate every open referral whose follow-up step has come; callers commit. Returns the
    messages queued."""
    policy, heads = registry_settings().referrals.escalation_policy, tuple(directors(session))
    notices: list[Notice] = []
    for row in due_rows(session, Referral, now, Referral.status != ReferralStatus.CLOSED):
        notices += fire(session, _due(session, row, policy, heads), now, heads, report)
    return send(session, notices, now, digest)
