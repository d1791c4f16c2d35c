"""The quality report (`swflow quality report`): supervision coverage, incidents by severity,
complaint response times against their deadlines, projects at risk, staffing. Aggregates and
codes only — no confidential or sensitive text — so anyone who runs the agency may read it."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from swflow.config.clock import SHANGHAI
from swflow.config.html import html_environment
from swflow.config.quality import quality_settings
from swflow.db.engine import read_session
from swflow.db.quality_tables import QualityAction, RiskReview, SupervisionSession
from swflow.db.tables import Project, Stage
from swflow.domain.quality.common import iso
from swflow.domain.quality.complaints import list_complaints
from swflow.domain.quality.incidents import incident_choices, list_incidents
from swflow.domain.quality.rules import working_days_between
from swflow.domain.quality.staffing import staffing_report
from swflow.domain.quality.supervision import coverage

__all__ = ["quality_report", "render_quality_html"]


def _day(value: str | None) -> date | None:
    return datetime.fromisoformat(value).astimezone(SHANGHAI).date() if value else None


def _complaint_times(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Working days from receipt to acknowledgement and to answer, beside the limits."""
    rule = quality_settings().complaints
    for row in rows:
        received = _day(row["received_at"])
        assert received is not None
        acked, answered = _day(row["acknowledged_at"]), _day(row["answered_at"])
        row["ack_working_days"] = working_days_between(received, acked) if acked else None
        row["answer_working_days"] = working_days_between(received, answered) if answered else None
    return {
        "ack_limit_days": rule.ack_days,
        "answer_limit_days": rule.answer_days,
        "total": len(rows),
        "acknowledged_on_time": sum(1 for r in rows if r["acknowledged_at"] and not r["ack_late"]),
        "acknowledged_late": sum(1 for r in rows if r["acknowledged_at"] and r["ack_late"]),
        "ack_overdue": sum(1 for r in rows if not r["acknowledged_at"] and r["ack_late"]),
        "answered_on_time": sum(1 for r in rows if r["answered_at"] and not r["answer_late"]),
        "answered_late": sum(1 for r in rows if r["answered_at"] and r["answer_late"]),
        "answer_overdue": sum(1 for r in rows if not r["answered_at"] and r["answer_late"]),
        "rows": rows,
    }


def _incidents(rows: list[dict[str, Any]]) -> dict[str, Any]:
    _, severities = incident_choices()
    counts = Counter(r["severity"] for r in rows)
    return {
        "total": len(rows),
        "open": sum(1 for r in rows if r["status"] == "open"),
        "by_severity": [{"severity": k, "title": t, "count": counts.get(k, 0)} for k, t in severities.items()],
        "rows": rows,
    }


def _projects_at_risk(at: datetime, incidents: list[dict[str, Any]], complaints: list[dict[str, Any]]) -> list[Any]:
    """Running projects with a stage marked at risk, an open urgent incident, or a late complaint."""
    urgent = quality_settings().incidents.notify_at_once
    reasons: dict[str, list[str]] = {}
    with read_session() as session:
        running = {p.id: p for p in session.execute(select(Project).where(Project.status == "running")).scalars()}
        stages = session.execute(
            select(Stage).where(Stage.at_risk.is_(True), Stage.project_id.in_(list(running))).order_by(Stage.seq)
        ).scalars()
        for stage in stages:
            reasons.setdefault(stage.project_id, []).append(f"阶段「{stage.title}」逾期，已标记有风险")
    for row in incidents:
        if row["project"] in running and row["status"] == "open" and row["severity"] in urgent:
            reasons.setdefault(row["project"], []).append(f"{row['severity_title']}事件 #{row['id']} 尚未结束")
    for row in complaints:
        if row["project"] in running and row["status"] != "closed":
            if not row["acknowledged_at"] and row["ack_late"]:
                reasons.setdefault(row["project"], []).append(f"投诉 #{row['id']} 逾期未确认受理")
            elif not row["answered_at"] and row["answer_late"]:
                reasons.setdefault(row["project"], []).append(f"投诉 #{row['id']} 逾期未答复")
    return [
        {"project": pid, "name": running[pid].name, "community": running[pid].community, "reasons": why}
        for pid, why in sorted(reasons.items())
    ]


def _supervision(at: datetime, start: date | None, end: date) -> dict[str, Any]:
    rows = coverage(at)
    with read_session() as session:
        query = select(func.count()).select_from(SupervisionSession).where(SupervisionSession.held_on <= end)
        if start is not None:
            query = query.where(SupervisionSession.held_on >= start)
        sessions = session.execute(query).scalar_one()
    return {
        "required": len(rows),
        "covered": sum(1 for r in rows if r["state"] != "overdue"),
        "overdue": [r for r in rows if r["state"] == "overdue"],
        "sessions_in_period": sessions,
        "rows": rows,
    }


def _oversight(at: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    with read_session() as session:
        actions = session.execute(select(QualityAction.status, QualityAction.due_at)).tuples().all()
        due = session.execute(
            select(RiskReview).where(RiskReview.status == "due").order_by(RiskReview.due_at)
        ).scalars()
        upcoming = next(iter(due), None)
        last = session.execute(select(func.max(RiskReview.reviewed_at))).scalar_one()
    open_actions = [d for s, d in actions if s == "open"]
    summary = {
        "open": len(open_actions),
        "overdue": sum(1 for d in open_actions if d < at),
        "done": len(actions) - len(open_actions),
    }
    review = {
        "due_at": iso(upcoming.due_at if upcoming else None),
        "overdue": bool(upcoming and upcoming.due_at < at),
        "last_reviewed_at": iso(last),
    }
    return summary, review


def quality_report(now: datetime, start: date | None = None, end: date | None = None) -> dict[str, Any]:
    """The agency's quality picture for the period [start, end] (dates in Beijing time)."""
    end = end or now.astimezone(SHANGHAI).date()
    period_end = datetime.combine(end + timedelta(days=1), time(0), SHANGHAI)
    at = min(now, period_end)  # coverage and lateness as they stood at the end of the period
    period_start = datetime.combine(start, time(0), SHANGHAI) if start else None
    incidents = list_incidents(period_start, period_end)
    complaints = list_complaints(at, period_start, period_end)
    actions, review = _oversight(at)
    return {
        "period": {"from": str(start) if start else None, "to": str(end), "as_of": iso(at)},
        "supervision": _supervision(at, start, end),
        "incidents": _incidents(incidents),
        "complaints": _complaint_times(complaints),
        "actions": actions,
        "risk_review": review,
        "projects_at_risk": _projects_at_risk(at, incidents, complaints),
        "staffing": staffing_report(at),
    }


def render_quality_html(report: dict[str, Any]) -> str:
    return html_environment("swflow.domain.quality").get_template("quality_report.html.j2").render(report=report)
