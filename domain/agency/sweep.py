"""The deadline sweep: one pass over every kind of escalation — a project's work and gates, quality
records (supervision, complaints, actions, certificates, risk review) and referral follow-ups — in
one transaction. It sits above the kinds it runs; none of them knows it."""

from __future__ import annotations

from datetime import datetime

from swflow.config.settings import get_settings
from swflow.db import unit_of_work
from swflow.domain.deadlines.schedule import SweepReport
from swflow.domain.projects.escalation import sweep_projects
from swflow.domain.quality.sweep import sweep_quality
from swflow.domain.registry.followups import sweep_referrals

__all__ = ["SweepReport", "sweep"]


def sweep(now: datetime, digest: bool | None = None) -> SweepReport:
    """One pass: escalate everything whose next step is due, each (subject, step) once."""
    report = SweepReport()
    digest = get_settings().digest if digest is None else digest
    with unit_of_work() as session:
        report.messages = sweep_projects(session, now, report, digest)
        report.messages += sweep_quality(session, now, report, digest)
        report.messages += sweep_referrals(session, now, report, digest)
    return report
