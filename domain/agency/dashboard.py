"""机构看板 (issue 17): what a director (机构负责人) looks at first — the running projects by their current stage
(§6.1) and by service area (§5), open work items and gates past their deadline with the most overdue named,
the escalations of the last 7 days, who is overdue for supervision (§7.3), complaints (§7.5) and incidents
(§7.4) open and past their deadlines, communities below the staffing rule (§8.1.3), certificates expiring
(§8.1.1). Only an active director may open it; anyone else is refused with a sentence.

Read only and set-based: every figure is a COUNT … GROUP BY (or a room's own set-based read); a page view
costs a fixed number of queries whatever the archive holds, never one per project. The rules are the rooms' own:
supervision coverage (`quality.supervision.coverage`), staffing and the certificate window
(`quality.staffing.staffing_report`), the deadlines the quality acts wrote (a complaint's acknowledgement
and answer, an incident's closure), the escalations the deadline sweep recorded. Every "overdue" and
"this week" is judged at the `now` given."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from swflow.config.clock import SHANGHAI, iso
from swflow.config.errors import RefusedError
from swflow.config.quality import quality_settings
from swflow.config.templates import APPROVER_TITLES
from swflow.db.engine import read_session
from swflow.db.quality_tables import Complaint, Incident
from swflow.db.snapshot import deferred_snapshots, form_title, stage_spec
from swflow.db.tables import Escalation, Person, Project, Stage, WorkItem
from swflow.domain.people.rules import ROLE_TITLES
from swflow.domain.projects.overview import SERVICE_AREAS, service_area
from swflow.domain.projects.project_view import due_words
from swflow.domain.projects.rules import ProjectStatus, StageStatus
from swflow.domain.quality.rules import ComplaintStatus
from swflow.domain.quality.staffing import staffing_report
from swflow.domain.quality.supervision import coverage

__all__ = [
    "PHASES",
    "ESCALATION_SUBJECTS",
    "Bar",
    "CommunityOverdue",
    "OverdueRow",
    "SupervisionLate",
    "StaffingGap",
    "ExpiringCertificate",
    "Dashboard",
    "why_not_dashboard",
    "agency_dashboard",
]

DASHBOARD_ROLE = "director"  # 机构负责人
TOP = 8  # overdue work items and gates named on the page, the most overdue first
WEEK = timedelta(days=7)
LIVE = (StageStatus.OPEN, StageStatus.AWAITING_DECISION)  # a project's current stage: its first live one
# The four steps of the service process (§6.1), as the templates' stages name their `phase`.
PHASES = {
    "needs_assessment": "需求评估",
    "planning": "服务策划",
    "execution": "服务执行与过程评估",
    "evaluation": "服务评估与改进",
}
NO_STAGE = "none"  # running, no stage open or awaiting a decision (just launched, or between two stages)
NO_STAGE_TITLE = "暂无进行中的阶段"
ESCALATION_SUBJECTS = {  # escalations.subject, as people say it
    "item": "表单（工作项）",
    "gate": "审核",
    "supervision": "督导",
    "complaint": "投诉",
    "incident": "风险事件",
    "action": "纠正、预防与跟进行动",
    "certificate": "资格证书",
    "risk_review": "风险管理制度检讨",
    "referral": "转介跟进",
}


class Bar(BaseModel):
    key: str
    title: str
    count: int


class CommunityOverdue(BaseModel):
    community: str
    items: int  # open work items past their due time
    gates: int  # gates waiting past their due time


class OverdueRow(BaseModel):
    kind: Literal["item", "gate"]
    project: str
    project_name: str
    community: str
    what: str
    who: list[str]  # person ids; `Dashboard.names` names them
    who_text: str | None  # a role-group step nobody has claimed: 任一督导（认领）
    due_at: str
    late_text: str  # 已逾期 3 个工作日
    late_days: int


class SupervisionLate(BaseModel):
    person: str
    name: str
    community: str | None
    last_held_on: str | None
    due_at: str
    days_overdue: int


class StaffingGap(BaseModel):
    community: str
    kind: str  # urban | rural
    workers: list[str]  # person ids of the community's workers
    qualified: list[str]  # those of them with a valid certificate or a degree (§8.1.1)
    flag: str  # the §8.1.3 sentence: 至少配备一名 (urban) or 宜配备一名 (rural)


class ExpiringCertificate(BaseModel):
    person: str
    name: str
    level: str | None
    valid_until: str
    expired: bool
    days_left: int  # calendar days to its last valid day (negative: expired that long ago)


class Dashboard(BaseModel):
    viewer: str
    as_of: str
    counts: dict[str, int]
    by_stage: list[Bar]  # running projects by current stage (§6.1 phase), in the order of the process
    by_area: list[Bar]  # running projects by service area (§5), every area of clause 5
    overdue_by_community: list[CommunityOverdue]  # most overdue first
    overdue: list[OverdueRow]  # the TOP most overdue work items and gates
    escalations: list[Bar]  # escalations sent in the last 7 days, by what was escalated
    supervision_late: list[SupervisionLate]  # the longest overdue first
    staffing_gaps: list[StaffingGap]
    communities: int  # communities the staffing rule was checked for
    certificates: list[ExpiringCertificate]  # expiring within `certificate_days`, or expired
    certificate_days: int
    names: dict[str, str]


def _refusal(person: Person | None, viewer: str) -> str | None:
    if person is None:
        return f"没有人员 {viewer}，不能查看机构看板"
    if not person.active:
        return f"{viewer} 已停用，不能查看机构看板"
    if DASHBOARD_ROLE not in person.roles:
        held = "、".join(ROLE_TITLES.get(r, r) for r in person.roles) or "无"
        return (
            f"{viewer} 不能查看机构看板：机构看板只供机构负责人使用（现有角色：{held}）。"
            "项目主管可查看「项目总览」，您的待办事项在「我的待办」。"
        )
    return None


def why_not_dashboard(viewer: str) -> str | None:
    """Only an active director opens the agency's dashboard; anyone else is refused with a sentence."""
    with read_session() as session:
        return _refusal(session.get(Person, viewer), viewer)


def agency_dashboard(viewer: str, now: datetime) -> Dashboard:
    """The dashboard at `now` for `viewer` (an active director, else RefusedError)."""
    with read_session() as session:
        if (refused := _refusal(session.get(Person, viewer), viewer)) is not None:
            raise RefusedError(refused)
        by_stage, by_area, running = _projects(session)
        by_community = _overdue_by_community(session, now)
        overdue = sorted(_overdue_items(session, now) + _overdue_gates(session, now), key=lambda r: r.due_at)[:TOP]
        escalations = _escalations(session, now)
        records = _quality_records(session, now)
        named = {pid for row in overdue for pid in row.who}
        names = dict(session.execute(select(Person.id, Person.name).where(Person.id.in_(named))).tuples().all())
    supervision = coverage(now)
    late = [SupervisionLate.model_validate(r) for r in supervision if r["state"] == "overdue"]
    late.sort(key=lambda r: (-r.days_overdue, r.person))
    staffing = staffing_report(now)
    gaps = [StaffingGap.model_validate(row) for row in staffing["communities"] if row["flag"]]
    today = now.astimezone(SHANGHAI).date()
    certificates = [
        ExpiringCertificate(**row, days_left=(date.fromisoformat(row["valid_until"]) - today).days)
        for row in staffing["certificates"]
    ]
    counts = {
        "running": running,
        "overdue_items": sum(c.items for c in by_community),
        "overdue_gates": sum(c.gates for c in by_community),
        "escalations": sum(b.count for b in escalations),
        "supervision_required": len(supervision),
        "supervision_overdue": len(late),
        **records,
        "staffing_gaps": len(gaps),
        "certificates_expiring": sum(not c.expired for c in certificates),
        "certificates_expired": sum(c.expired for c in certificates),
    }
    return Dashboard(
        viewer=viewer,
        as_of=iso(now) or "",
        counts=counts,
        by_stage=by_stage,
        by_area=by_area,
        overdue_by_community=by_community,
        overdue=overdue,
        escalations=escalations,
        supervision_late=late,
        staffing_gaps=gaps,
        communities=len(staffing["communities"]),
        certificates=certificates,
        certificate_days=quality_settings().certificates.report_within_days,
        names={pid: names.get(pid, pid) for pid in named},
    )


def _projects(session: Session) -> tuple[list[Bar], list[Bar], int]:
    """Running projects by the phase of their current stage and by service area, in three queries: the
    count per template version (a version pins the same stages and clause), one snapshot's clause and
    stages per version (read inside the database), and the count per version and current stage."""
    running = Project.status == ProjectStatus.RUNNING
    by_version = (Project.template_id, Project.template_version)
    per_version = select(*by_version, func.count(), func.min(Project.id)).where(running).group_by(*by_version)
    versions = session.execute(per_version).tuples().all()
    parts = (Project.template_snapshot["clause"].as_string(), Project.template_snapshot["stages"])
    sampled = select(*by_version, *parts).where(Project.id.in_([pid for *_, pid in versions]))
    pinned: dict[tuple[str, int], tuple[str | None, list[Any]]] = {
        (tid, version): (clause, stages or []) for tid, version, clause, stages in session.execute(sampled).tuples()
    }
    first = (
        select(Stage.project_id, func.min(Stage.seq).label("seq"))
        .where(Stage.status.in_(LIVE))
        .group_by(Stage.project_id)
        .subquery()
    )
    current = session.execute(
        select(*by_version, Stage.key, func.count())
        .select_from(Project)
        .join(first, first.c.project_id == Project.id)
        .join(Stage, and_(Stage.project_id == first.c.project_id, Stage.seq == first.c.seq))
        .where(running)
        .group_by(*by_version, Stage.key)
    ).tuples()
    phases: Counter[str] = Counter()
    for tid, version, key, n in current:
        stages = pinned.get((tid, version), (None, []))[1]
        phases[next((str(s.get("phase") or key) for s in stages if s.get("key") == key), key)] += n
    total = sum(n for _, _, n, _ in versions)
    phases[NO_STAGE] = total - sum(phases.values())
    by_stage = [Bar(key=k, title=t, count=phases.pop(k, 0)) for k, t in PHASES.items()]
    by_stage += [Bar(key=k, title=k, count=n) for k, n in sorted(phases.items()) if k != NO_STAGE]
    if phases.get(NO_STAGE):
        by_stage.append(Bar(key=NO_STAGE, title=NO_STAGE_TITLE, count=phases[NO_STAGE]))
    areas: Counter[str] = Counter()
    for tid, version, n, _ in versions:
        areas[service_area(pinned.get((tid, version), (None, []))[0])] += n
    by_area = [Bar(key=a, title=f"{a} {t}", count=areas.pop(a, 0)) for a, t in SERVICE_AREAS.items()]
    by_area += [Bar(key=a or "none", title=a or "未标明服务领域", count=n) for a, n in sorted(areas.items())]
    return by_stage, by_area, total


def _late_items(now: datetime) -> tuple[Any, ...]:
    """Open work items of the current round of running projects (the inbox's) past their due time."""
    return (
        WorkItem.status == "open",
        WorkItem.due_at < now,
        WorkItem.round == Stage.round,
        Project.status == ProjectStatus.RUNNING,
    )


def _late_gates(now: datetime) -> tuple[Any, ...]:
    return (
        Stage.status == StageStatus.AWAITING_DECISION,
        Stage.gate_due_at < now,
        Project.status == ProjectStatus.RUNNING,
    )


def _overdue_by_community(session: Session, now: datetime) -> list[CommunityOverdue]:
    items = session.execute(
        select(Project.community, func.count(WorkItem.id))
        .select_from(WorkItem)
        .join(Stage, Stage.id == WorkItem.stage_id)
        .join(Project, Project.id == WorkItem.project_id)
        .where(*_late_items(now))
        .group_by(Project.community)
    ).tuples()
    gates = session.execute(
        select(Project.community, func.count(Stage.id))
        .select_from(Stage)
        .join(Project, Project.id == Stage.project_id)
        .where(*_late_gates(now))
        .group_by(Project.community)
    ).tuples()
    found = {community: CommunityOverdue(community=community, items=n, gates=0) for community, n in items}
    for community, n in gates:
        found.setdefault(community, CommunityOverdue(community=community, items=0, gates=0)).gates = n
    return sorted(found.values(), key=lambda c: (-(c.items + c.gates), c.community))


def _late_row(kind: Literal["item", "gate"], project: Project, what: str, due: datetime, now: datetime) -> OverdueRow:
    words = due_words(due, now)
    return OverdueRow(
        kind=kind,
        project=project.id,
        project_name=project.name,
        community=project.community,
        what=what,
        who=[],
        who_text=None,
        due_at=iso(due) or "",
        late_text=words.text,
        late_days=words.days,
    )


def _overdue_items(session: Session, now: datetime) -> list[OverdueRow]:
    """The TOP most overdue work items (a pinned form's title: a snapshot read only on its first use)."""
    rows = session.execute(
        select(WorkItem, Stage, Project)
        .join(Stage, Stage.id == WorkItem.stage_id)
        .join(Project, Project.id == WorkItem.project_id)
        .where(*_late_items(now))
        .order_by(WorkItem.due_at, WorkItem.id)
        .limit(TOP)
        .options(*deferred_snapshots())
    ).tuples()
    found = []
    for item, stage, project in rows:
        title = item.title or form_title(project, item.form_id)
        row = _late_row("item", project, f"{title}（{stage.title} 第 {item.round} 轮）", item.due_at, now)
        row.who = [item.assignee_id]
        found.append(row)
    return found


def _overdue_gates(session: Session, now: datetime) -> list[OverdueRow]:
    """The TOP most overdue gates and who their step waits on: the assignee, the project's supervisor, or
    a role group (named by the step, since any of them may claim it)."""
    rows = session.execute(
        select(Stage, Project)
        .join(Project, Project.id == Stage.project_id)
        .where(*_late_gates(now))
        .order_by(Stage.gate_due_at, Stage.id)
        .limit(TOP)
        .options(*deferred_snapshots())
    ).tuples()
    found = []
    for stage, project in rows:
        assert stage.gate_due_at is not None  # the query asks for a due time passed
        steps = list(stage_spec(project, stage.key)["gate"]["steps"])
        kind = steps[min(stage.gate_step, len(steps)) - 1]
        step = f"第 {stage.gate_step}/{len(steps)} 步（{APPROVER_TITLES.get(kind, kind)}）"
        row = _late_row("gate", project, f"审核：{stage.title} 第 {stage.round} 轮 {step}", stage.gate_due_at, now)
        if stage.gate_assignee:
            row.who = [stage.gate_assignee]
        elif kind == "supervisor":
            row.who = [project.supervisor_id]
        else:
            row.who_text = APPROVER_TITLES.get(kind, kind)
        found.append(row)
    return found


def _escalations(session: Session, now: datetime) -> list[Bar]:
    """Escalation steps sent (not those passed over) in the 7 days up to `now`, by what was escalated."""
    fired = session.execute(
        select(Escalation.subject, func.count())
        .where(Escalation.fired_at > now - WEEK, Escalation.fired_at <= now, Escalation.skipped.is_(False))
        .group_by(Escalation.subject)
    ).tuples()
    counts = dict(fired.all())
    bars = [Bar(key=k, title=t, count=counts.pop(k)) for k, t in ESCALATION_SUBJECTS.items() if k in counts]
    return bars + [Bar(key=k, title=k, count=n) for k, n in sorted(counts.items())]


def _quality_records(session: Session, now: datetime) -> dict[str, int]:
    """Complaints not closed, and those past a deadline still running (not acknowledged by the acknowledgement
    deadline, or not answered by the answer deadline); incidents open, and those not closed by their deadline."""
    complaint_late = or_(
        and_(Complaint.acknowledged_at.is_(None), Complaint.ack_due_at < now),
        and_(Complaint.answered_at.is_(None), Complaint.answer_due_at < now),
    )
    kinds = (
        ("complaints", Complaint.status != ComplaintStatus.CLOSED, complaint_late),
        ("incidents", Incident.status == "open", Incident.close_due_at < now),
    )
    counts: dict[str, int] = {}
    for name, still_open, late in kinds:
        query = select(func.count(), func.coalesce(func.sum(case((late, 1), else_=0)), 0)).where(still_open)
        found, past = session.execute(query).one()
        counts |= {f"{name}_open": int(found), f"{name}_late": int(past)}
    return counts
