"""项目总览 (issue 17): every project the viewer may see — service area, status, manager, the stage in
hand and who it waits on, its due time in working days and a flag (逾期, 临近期限, 正常) — narrowed by
community, service area, status and manager, counted over the whole narrowed set, most urgent first.

Read only and set-based: a page costs a handful of queries whatever the number of projects (people,
projects, live stages; for the page's rows only: open items, the gates' pinned steps, submitters and
earlier deciders), never one per project. Who may see a project is the project page's rule
(`why_not_see_project`) for all at once; the overview is for managers and directors, refused to others."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from swflow.config.clock import iso
from swflow.config.errors import RefusedError
from swflow.db.engine import read_session
from swflow.db.tables import FormSubmission, GateDecision, Person, Project, ProjectMember, Stage, WorkItem
from swflow.domain.projects.project_view import DueWords, due_words
from swflow.domain.projects.rules import ROLE_OF_STEP, GateContext, ProjectStatus, StageStatus
from swflow.domain.projects.visibility import why_not_see_project

__all__ = ["SERVICE_AREAS", "FLAG_WORDS", "OverviewFilters", "Overview", "service_area", "projects_overview"]

# The service areas of clause 5 (社区社会工作服务指南 §5), as the shipped templates' headers name them.
SERVICE_AREAS = {
    "5.1": "统筹社区照顾",
    "5.2": "扩大社区参与",
    "5.3": "促进社区融合",
    "5.4": "推动社区发展",
    "5.5": "参与社区矫正",
    "5.6": "参与社区戒毒社区康复",
    "5.7": "提供其他服务",
}
OVERVIEW_ROLES = frozenset({"manager", "director"})  # who the overview is for
PER_PAGE = 50
LIVE = (StageStatus.OPEN, StageStatus.AWAITING_DECISION)  # the project page's "current" stage
STATUS_ORDER = (ProjectStatus.RUNNING, ProjectStatus.COMPLETED, ProjectStatus.TERMINATED)
Flag = Literal["overdue", "at_risk", "normal"]
FLAG_WORDS: dict[str, str] = {"overdue": "逾期", "at_risk": "临近期限", "normal": "正常"}
_FLAG_OF_DUE: dict[str, Flag] = {"overdue": "overdue", "today": "at_risk", "soon": "at_risk"}  # soon: ≤ 2 working days


class OverviewFilters(BaseModel):
    """What the list is narrowed to; None is all. `area` is a §5 clause (5.1)."""

    model_config = ConfigDict(frozen=True)
    community: str | None = None
    area: str | None = None
    status: str | None = None
    manager: str | None = None


class Option(BaseModel):
    value: str
    title: str
    count: int  # projects of this value among those the viewer may see


class CurrentStage(BaseModel):
    key: str
    title: str
    round: int
    status: str  # open | awaiting_decision
    step: str | None  # the gate's step: 第 1/2 步（项目督导）
    group: bool  # a role-group step nobody has claimed: any of them may


class OverviewRow(BaseModel):
    id: str
    name: str
    community: str
    template_title: str
    area: str  # the §5 clause: 5.1
    area_title: str
    status: str
    manager: str
    closed_at: str | None
    stage: CurrentStage | None
    waiting_on: list[str]  # person ids; `Overview.names` names them
    due_at: str | None
    due_text: str | None
    flag: Flag | None  # None for a project no longer running
    flag_text: str | None
    marked_at_risk: bool  # the escalation policy marked the stage at risk (long overdue)


class Overview(BaseModel):
    viewer: str
    filters: OverviewFilters
    counts: dict[str, int]  # over the whole narrowed set: total, running, overdue, at_risk, awaiting_decision
    rows: list[OverviewRow]
    visible: int  # projects the viewer may see, before the filters
    page: int
    pages: int
    per_page: int
    first: int  # the position of the page's first row in the whole list, from 1 (0 when empty)
    page_note: str | None  # the page asked for did not exist
    options: dict[str, list[Option]]  # community, area, status, manager
    names: dict[str, str]  # the people the page names, by id


@dataclass(frozen=True)
class _Who:
    name: str
    roles: tuple[str, ...]
    active: bool


@dataclass(frozen=True)
class _Waiting:
    people: tuple[str, ...]
    step: str | None = None
    group: bool = False


_COLUMNS = (
    Project.id,
    Project.name,
    Project.community,
    Project.template_id,
    Project.template_snapshot["title"].as_string(),  # read inside the database: the snapshots stay there
    Project.template_snapshot["clause"].as_string(),
    Project.status,
    Project.manager_id,
    Project.supervisor_id,
    Project.created_at,
    Project.closed_at,
)  # _Line's fields, in order


@dataclass
class _Line:
    """One project before its page is known (`_COLUMNS`): enough to see, filter, count and sort it."""

    id: str
    name: str
    community: str
    template_id: str
    template_title: str | None
    clause: str | None
    status: str
    manager_id: str
    supervisor_id: str
    created_at: datetime
    closed_at: datetime | None
    live: list[Stage] = field(default_factory=list)  # open and awaiting stages, in order

    @property
    def area(self) -> str:
        return service_area(self.clause)

    @property
    def current(self) -> Stage | None:
        return self.live[0] if self.live and self.status == ProjectStatus.RUNNING else None

    def due(self) -> datetime | None:
        s = self.current
        return None if s is None else s.gate_due_at if s.status == StageStatus.AWAITING_DECISION else s.due_at


def service_area(clause: str | None) -> str:
    """The §5 service area of a template's clause: 5.1 of 5.1 or of 5.1.3."""
    return ".".join((clause or "").split(".")[:2])


def projects_overview(viewer: str, filters: OverviewFilters, now: datetime, page: int = 1) -> Overview:
    """The overview for `viewer` (a manager or director, else RefusedError), page `page` of PER_PAGE rows;
    a page past the last gives the last, with a note."""
    per_page = PER_PAGE
    with read_session() as session:
        people = _people(session)
        _check_viewer(viewer, people.get(viewer))
        lines = [_Line(*row) for row in session.execute(select(*_COLUMNS)).tuples()]
        by_id = {line.id: line for line in lines}
        for stage in session.execute(select(Stage).where(Stage.status.in_(LIVE)).order_by(Stage.seq)).scalars():
            if (line := by_id.get(stage.project_id)) is not None:
                line.live.append(stage)
        visible = _visible(session, viewer, people[viewer], lines, people)
        chosen = [line for line in visible if _matches(line, filters)]
        dues = {line.id: due_words(line.due(), now) for line in chosen}
        chosen.sort(key=lambda line: _urgency(line, dues[line.id]))
        pages = max(1, math.ceil(len(chosen) / per_page))
        note = f"没有第 {page} 页（共 {pages} 页），显示的是最后一页" if page > pages else None
        page = min(max(page, 1), pages)
        shown = chosen[(page - 1) * per_page : page * per_page]
        waiting = _waiting(session, [(line, s) for line in shown if (s := line.current) is not None], people)
        rows = [_row(line, dues[line.id], waiting) for line in shown]
        named = {p for r in rows for p in r.waiting_on} | {line.manager_id for line in visible}
    return Overview(
        viewer=viewer,
        filters=filters,
        counts=_counts(chosen, dues),
        rows=rows,
        visible=len(visible),
        page=page,
        pages=pages,
        per_page=per_page,
        first=(page - 1) * per_page + 1 if shown else 0,
        page_note=note,
        options=_options(visible, people),
        names={pid: people[pid].name if pid in people else pid for pid in named},
    )


def _check_viewer(viewer: str, who: _Who | None) -> None:
    if who is None or not who.active or not OVERVIEW_ROLES.intersection(who.roles):
        raise RefusedError(
            f"{viewer} 不能查看项目总览：项目总览只供项目主管和机构负责人使用"
            "（您的待办事项在「我的待办」，项目页可从待办中打开）"
        )


def _people(session: Session) -> dict[str, _Who]:
    rows = session.execute(select(Person.id, Person.name, Person.roles, Person.active)).tuples()
    return {pid: _Who(name, tuple(roles or ()), bool(active)) for pid, name, roles, active in rows}


def _visible(session: Session, viewer: str, who: _Who, lines: list[_Line], people: Mapping[str, _Who]) -> list[_Line]:
    """The project page's rule for every project at once. What holds for all of them (the viewer's roles,
    being active) is asked first; only the projects that leaves refused are asked again with the viewer's
    place in their team and their gates (never, today: the overview's roles see every project)."""
    refused = {line.id for line in lines if why_not_see_project(line.id, viewer, who.roles, who.active, (), ())}
    if not refused:
        return lines
    team = set(session.execute(select(ProjectMember.project_id).where(ProjectMember.person_id == viewer)).scalars())
    decided = set(session.execute(select(GateDecision.project_id).where(GateDecision.decided_by == viewer)).scalars())
    doubtful = [line for line in lines if line.id in refused - team - decided]
    gates = [(line, s) for line in doubtful for s in line.live if s.status == StageStatus.AWAITING_DECISION]
    waits = _waiting(session, gates, people)
    decided |= {line.id for line, s in gates if viewer in waits[s.id].people}

    def sees(line: _Line) -> bool:
        mine = (viewer,)
        return line.id not in refused or not why_not_see_project(
            line.id, viewer, who.roles, who.active, mine if line.id in team else (), mine if line.id in decided else ()
        )

    return [line for line in lines if sees(line)]


def _matches(line: _Line, filters: OverviewFilters) -> bool:
    wanted = (filters.community, filters.area, filters.status, filters.manager)
    have = (line.community, line.area, line.status, line.manager_id)
    return all(w is None or w == h for w, h in zip(wanted, have, strict=True))


def _flag(line: _Line, due: DueWords) -> Flag | None:
    return _FLAG_OF_DUE.get(due.state, "normal") if line.status == ProjectStatus.RUNNING else None


def _urgency(line: _Line, due: DueWords) -> tuple[int, float, str]:
    """Overdue first (the longest overdue first), then at risk (the soonest first), then the rest of the
    running projects by due time (none last), then the closed ones (the latest closed first)."""
    flag = _flag(line, due)
    if flag is None:
        return (3, -(line.closed_at or line.created_at).timestamp(), line.id)
    when = line.due()
    return ({"overdue": 0, "at_risk": 1, "normal": 2}[flag], when.timestamp() if when else math.inf, line.id)


def _counts(lines: list[_Line], dues: Mapping[str, DueWords]) -> dict[str, int]:
    flags = Counter(_flag(line, dues[line.id]) for line in lines)
    gated = [line for line in lines if (s := line.current) is not None and s.status == StageStatus.AWAITING_DECISION]
    counts = {"total": len(lines), "running": sum(line.status == ProjectStatus.RUNNING for line in lines)}
    return counts | {"overdue": flags["overdue"], "at_risk": flags["at_risk"], "awaiting_decision": len(gated)}


def _options(lines: list[_Line], people: Mapping[str, _Who]) -> dict[str, list[Option]]:
    """Each filter's choices: the values found among the projects the viewer may see, with their counts."""

    def options(values: Iterable[str], title: Callable[[str], str], order: Callable[[str], Any]) -> list[Option]:
        found = sorted(Counter(values).items(), key=lambda item: order(item[0]))
        return [Option(value=value, title=title(value), count=n) for value, n in found]

    statuses = {status: n for n, status in enumerate(STATUS_ORDER)}
    names = {pid: who.name for pid, who in people.items()}
    return dict(
        community=options((line.community for line in lines), str, str),
        area=options(
            (line.area for line in lines),
            lambda area: f"{area} {SERVICE_AREAS.get(area, '')}".strip(),
            lambda area: [int(part) for part in area.split(".") if part.isdigit()],
        ),
        status=options((line.status for line in lines), str, lambda status: statuses.get(status, 9)),
        manager=options(
            (line.manager_id for line in lines),
            lambda pid: f"{names.get(pid, pid)}（{pid}）",
            lambda pid: (names.get(pid, pid), pid),
        ),
    )


def _row(line: _Line, due: DueWords, waiting: Mapping[int, _Waiting]) -> OverviewRow:
    stage, flag = line.current, _flag(line, due)
    wait = (waiting.get(stage.id) if stage is not None else None) or _Waiting(())
    plain = {} if stage is None else {key: getattr(stage, key) for key in ("key", "title", "round", "status")}
    current = CurrentStage(**plain, step=wait.step, group=wait.group) if stage is not None else None
    return OverviewRow(
        id=line.id,
        name=line.name,
        community=line.community,
        template_title=line.template_title or line.template_id,
        area=line.area,
        area_title=SERVICE_AREAS.get(line.area, ""),
        status=line.status,
        manager=line.manager_id,
        closed_at=iso(line.closed_at),
        stage=current,
        waiting_on=list(wait.people),
        due_at=iso(line.due()),
        due_text=due.text if stage is not None else None,
        flag=flag,
        flag_text=FLAG_WORDS[flag] if flag else None,
        marked_at_risk=bool(stage is not None and stage.at_risk),
    )


def _by_stage(session: Session, query: Select[int, str]) -> dict[int, set[str]]:
    found: dict[int, set[str]] = defaultdict(set)
    for stage_id, value in session.execute(query).tuples():
        found[stage_id].add(value)
    return found


def _waiting(session: Session, picked: list[tuple[_Line, Stage]], people: Mapping[str, _Who]) -> dict[int, _Waiting]:
    """Who each stage waits on, by stage id — the project page's rule (`_stage_deciders`, `gates.deciders`)
    in at most four queries for all of them: the open items' assignees, or the gate step's decider(s)."""
    stages = {stage.id: (line, stage) for line, stage in picked}
    if not stages:
        return {}
    this_round = (Stage.id == WorkItem.stage_id) & (Stage.round == WorkItem.round) & (WorkItem.status == "open")
    items = select(WorkItem.stage_id, WorkItem.assignee_id).join(Stage, this_round).where(Stage.id.in_(stages))
    assignees = _by_stage(session, items)
    found = {sid: _Waiting(tuple(sorted(assignees[sid]))) for sid, (_, s) in stages.items() if s.status == LIVE[0]}
    gated = {sid: pair for sid, pair in stages.items() if pair[1].status == StageStatus.AWAITING_DECISION}
    for sid, gate in _gates(session, gated).items():
        step_people = _deciders(gate, gated[sid][0], people)
        found[sid] = _Waiting(step_people, gate.step_label(), gate.is_group_step and gate.assignee is None)
    return found


def _gates(session: Session, gated: Mapping[int, tuple[_Line, Stage]]) -> dict[int, GateContext]:
    """`gates.gate_context` for many stages at once: their pinned steps, submitters and earlier deciders
    (not their open forms: who decides does not depend on them)."""
    if not gated:
        return {}
    projects = {line.id for line, _ in gated.values()}
    pinned: dict[str, list[dict[str, Any]]] = dict(
        session.execute(select(Project.id, Project.template_snapshot["stages"]).where(Project.id.in_(projects)))
        .tuples()
        .all()
    )
    submitted = (
        select(WorkItem.stage_id, FormSubmission.submitted_by)
        .join(WorkItem, WorkItem.id == FormSubmission.work_item_id)
        .where(WorkItem.stage_id.in_(gated))
    )
    earlier_steps = (Stage.id == GateDecision.stage_id) & (Stage.round == GateDecision.round)
    decided = select(GateDecision.stage_id, GateDecision.decided_by).join(Stage, earlier_steps)
    submitters = _by_stage(session, submitted)
    earlier = _by_stage(session, decided.where(Stage.id.in_(gated), GateDecision.step < Stage.gate_step))
    contexts = {}
    for sid, (line, stage) in gated.items():
        spec = next(s for s in pinned[line.id] if s["key"] == stage.key)["gate"]
        contexts[sid] = GateContext(
            stage_title=stage.title,
            stage_status=stage.status,
            steps=tuple(spec["steps"]),
            step=stage.gate_step,
            assignee=stage.gate_assignee,
            supervisor_id=line.supervisor_id,
            manager_id=line.manager_id,
            manager_may_decide=bool(spec["manager_may_decide"]),
            submitters=frozenset(submitters[sid]),
            earlier_deciders=frozenset(earlier[sid]),
            open_forms=(),
        )
    return contexts


def _deciders(gate: GateContext, line: _Line, people: Mapping[str, _Who]) -> tuple[str, ...]:
    """`gates.deciders` on the people already read: the assignee, the project supervisor, or the role group."""
    if gate.assignee:
        return (gate.assignee,)
    if gate.step_kind == "supervisor":
        return (line.supervisor_id,)
    role = ROLE_OF_STEP[gate.step_kind]
    excluded = gate.submitters | gate.earlier_deciders | (set() if gate.manager_may_decide else {line.manager_id})
    return tuple(p for p in sorted(people) if people[p].active and role in people[p].roles and p not in excluded)
