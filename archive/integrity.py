"""The record, not only the chain: every state row a project's history wrote is compared with the
events that wrote it, and every record that has a history must have one.

`db.verify_all` proves the events were not changed; this proves the tables the pages and the
dossier read (projects, team, stages, work items, form submissions, gate decisions) say what the
events say. A changed row, a row with no event, an event with no row, a stream that should exist
and has no events: each is a `RecordBreak` naming the table and key (or the stream) and why, in
Chinese. The database file itself is checked first (`PRAGMA integrity_check` on SQLite; on
PostgreSQL every row of every table is read, which fails on a damaged page).

What is compared is listed in `COMPARED` (the property test mutates exactly those cells). The
agency's records (quality and registry) are compared with the seal their latest event carries
(`db.seals`, `archive.record_seals`): every column but the sweep's bookkeeping, their own rows and
the rows that belong to them.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, inspect, or_, select, text, type_coerce
from sqlalchemy.orm import Session

from swflow.archive.record_seals import check_seals
from swflow.db.chain import canonical_json
from swflow.db.journal import MESSAGES_STREAM, stream_title
from swflow.db.quality_tables import Complaint, Incident, SupervisionSession
from swflow.db.registry_tables import Organisation, Referral, ResourceLink, ServedPerson, Volunteer
from swflow.db.tables import (
    Event,
    EventHead,
    FormSubmission,
    GateDecision,
    OutboxMessage,
    Project,
    ProjectMember,
    Stage,
    WorkItem,
)

__all__ = ["COMPARED", "RecordBreak", "check_storage", "verify_records"]

# table → the columns whose every cell is compared with the events (the rest are working state:
# leases, heartbeats, reminders' next times, the flow's own bookkeeping)
COMPARED: dict[str, tuple[str, ...]] = {
    "projects": ("name", "community", "template_id", "template_version", "manager_id", "supervisor_id", "status"),
    "project_members": ("project_id", "person_id", "role", "position"),
    "stages": ("project_id", "key", "status", "round", "due_at"),
    "work_items": ("project_id", "stage_id", "form_id", "round", "activity", "assignee_id", "status", "submission_id"),
    "form_submissions": ("work_item_id", "project_id", "form_id", "form_version", "round", "data", "submitted_by",
                         "submitted_at"),
    "outbox": ("key", "project_id", "recipient_id", "channel", "template"),
    "gate_decisions": ("project_id", "stage_id", "round", "step", "outcome", "decided_by", "comment", "decided_at",
                       "redo_forms"),
}  # fmt: skip

# records that keep their own stream (`kind:id`): each must have events
STREAMED = {
    "complaint": Complaint,
    "incident": Incident,
    "supervision": SupervisionSession,
    "referral": Referral,
    "person": ServedPerson,
    "volunteer": Volunteer,
    "organisation": Organisation,
    "resource_link": ResourceLink,
}
SUBMITTED = ("form.submitted", "form.resubmitted")
DECIDED = ("gate.decided", "gate.step_approved")


@dataclass(frozen=True)
class RecordBreak:
    place: str  # "表 form_submissions #5", "项目 P-… 的记录链"
    reason: str

    def __str__(self) -> str:
        return f"{self.place}：{self.reason}"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="microseconds")


def _same_time(recorded: str | None, moment: datetime | None) -> bool:
    if recorded is None or moment is None:
        return recorded is None and moment is None
    try:
        return datetime.fromisoformat(recorded) == moment
    except ValueError:
        return False


def check_storage(session: Session) -> list[RecordBreak]:
    """The database's own check: SQLite's integrity_check; on PostgreSQL a full read of every table."""
    if session.get_bind().dialect.name == "sqlite":
        found = [row[0] for row in session.execute(text("PRAGMA integrity_check"))]
        return (
            [] if found == ["ok"] else [RecordBreak("数据库文件", f"SQLite 完整性检查未通过：{'；'.join(found[:5])}")]
        )
    for table in inspect(session.get_bind()).get_table_names():
        session.execute(text(f'SELECT * FROM "{table}"')).all()  # a damaged page fails here
    return []


def _load(session: Session, model: Any, breaks: list[RecordBreak]) -> list[Any]:
    """Every row of a table; a JSON cell that does not parse any more is a break of the table."""
    try:
        return list(session.execute(select(model)).scalars())
    except ValueError as exc:
        session.rollback()
        breaks.append(RecordBreak(f"表 {model.__tablename__}", f"有无法解析的内容（JSON 被改动）：{exc}"))
        return []


def _events(session: Session) -> dict[str, list[dict[str, Any]]]:
    """Every project stream's events as stored (payloads that are not JSON are left out: the chain
    check names them)."""
    by_stream: dict[str, list[dict[str, Any]]] = defaultdict(list)
    rows = session.execute(
        select(Event.stream, Event.seq, Event.kind, Event.actor, Event.at, type_coerce(Event.payload, Text))
        .where(or_(Event.stream.like("project:%"), Event.stream == MESSAGES_STREAM))
        .order_by(Event.stream, Event.seq)
    )
    for stream, seq, kind, actor, at, payload in rows:
        try:
            body = json.loads(payload) if isinstance(payload, str) else payload
        except ValueError:
            continue
        by_stream[stream].append({"seq": seq, "kind": kind, "actor": actor, "at": at, "payload": body or {}})
    return by_stream


def _streams(session: Session, projects: dict[str, Project]) -> list[RecordBreak]:
    breaks: list[RecordBreak] = []
    known = set(session.execute(select(EventHead.stream)).scalars()) | set(
        session.execute(select(Event.stream).distinct()).scalars()
    )
    for project_id in projects:
        if f"project:{project_id}" not in known:
            breaks.append(RecordBreak(f"项目 {project_id}", "有项目记录，却没有任何事件（记录链被整条删除）"))
    for kind, table in STREAMED.items():
        for record_id in session.execute(select(table.id)).scalars():  # type: ignore[attr-defined]
            if f"{kind}:{record_id}" not in known:
                title = stream_title(f"{kind}:{record_id}")
                breaks.append(RecordBreak(title, "有记录，却没有任何事件（记录链被整条删除）"))
    for stream in sorted(known):
        kind, _, record = stream.partition(":")
        if kind == "project" and record not in projects:
            breaks.append(RecordBreak(stream_title(stream), "有事件，却没有项目记录（项目行被删除）"))
        elif kind in STREAMED and record.isdigit() and session.get(STREAMED[kind], int(record)) is None:
            breaks.append(RecordBreak(stream_title(stream), "有事件，却没有对应的记录（记录行被删除）"))
    return breaks


def verify_records(session: Session) -> list[RecordBreak]:
    """Every break between the tables and the events, in a stable order; [] when they agree."""
    unreadable: list[RecordBreak] = []
    projects = {p.id: p for p in _load(session, Project, unreadable)}
    breaks = unreadable + _streams(session, projects)
    breaks += [RecordBreak(place, reason) for place, reason in check_seals(session)]
    events = _events(session)
    stages = {s.id: s for s in _load(session, Stage, breaks)}
    rows: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    models: tuple[tuple[Any, str], ...] = (
        (Stage, "stages"),
        (WorkItem, "work_items"),
        (ProjectMember, "project_members"),
        (FormSubmission, "form_submissions"),
        (GateDecision, "gate_decisions"),
        (OutboxMessage, "outbox"),
    )
    agency_messages: list[OutboxMessage] = []
    for model, name in models:
        for row in _load(session, model, breaks):
            if row.project_id is not None:
                rows[name][row.project_id].append(row)
            else:  # a message that belongs to no project
                agency_messages.append(row)
    breaks += _agency_messages(agency_messages, events.get(MESSAGES_STREAM, []))
    for project_id in sorted(set(projects) | {p for table in rows.values() for p in table}):
        project = projects.get(project_id)
        if project is None:
            for name, table in rows.items():
                breaks += [
                    RecordBreak(f"表 {name}", f"指向不存在的项目 {project_id}") for _ in table.get(project_id, [])
                ]
            continue
        check = _ProjectCheck(project, events.get(f"project:{project_id}", []), stages)
        try:
            check.run({name: rows[name].get(project_id, []) for _, name in models})
        except (KeyError, TypeError, AttributeError, ValueError) as exc:  # an event changed out of shape
            check.fail("events", project_id, f"事件内容缺项或类型不符（事件被改动），无法与记录比对：{exc!r}")
        breaks += check.breaks
    return breaks


def _agency_messages(messages: list[OutboxMessage], events: list[dict[str, Any]]) -> list[RecordBreak]:
    """Messages of no project against the `messages` stream. Its events began with this release:
    a message queued before its first event has none to be compared with."""
    if not events:
        return []
    check = _AgencyMessages(events)
    try:
        since = datetime.fromisoformat(events[0]["at"])
        check._messages([m for m in messages if m.created_at >= since])
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        check.fail("events", MESSAGES_STREAM, f"事件内容缺项或类型不符（事件被改动），无法与记录比对：{exc!r}")
    return check.breaks


class _ProjectCheck:
    """One project's rows against its stream."""

    def __init__(self, project: Project, events: list[dict[str, Any]], stages: dict[int, Stage]) -> None:
        self.project, self.events, self.stages = project, events, stages
        self.breaks: list[RecordBreak] = []
        self._items_by_id: dict[int, WorkItem] = {}
        self._latest: dict[int, int] = {}  # work item → its latest submission

    def fail(self, table: str, key: object, reason: str) -> None:
        self.breaks.append(RecordBreak(f"项目 {self.project.id} 表 {table} #{key}", reason))

    def of(self, *kinds: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["kind"] in kinds]

    def run(self, rows: dict[str, list[Any]]) -> None:
        self._items_by_id = {i.id: i for i in rows["work_items"]}
        for row in rows["form_submissions"]:
            self._latest[row.work_item_id] = max(row.id, self._latest.get(row.work_item_id, 0))
        self._project(rows["project_members"])
        self._stages(rows["stages"])
        self._submissions(rows["form_submissions"])
        self._decisions(rows["gate_decisions"])
        self._items(rows["work_items"])
        self._messages(rows["outbox"])

    def _messages(self, messages: list[OutboxMessage]) -> None:
        """Each queued message's rows (one per channel) against its `message.queued` event."""
        expected: Counter[tuple[str, str, str]] = Counter()
        for e in self.of("message.queued"):
            facts = e["payload"]
            expected[(facts["key"], facts["recipient"], facts["template"])] += int(facts["channels"])
        found: Counter[tuple[str, str, str]] = Counter()
        for row in messages:
            key, _, rest = row.key.rpartition(f":{row.recipient_id}:")
            if not key or rest != hashlib.sha256(row.channel.encode()).hexdigest()[:12]:
                self.fail("outbox", row.id, "通知的键与收件人或通道不符")
            found[(key, row.recipient_id, row.template)] += 1
        for what in sorted(set(expected) | set(found)):
            if expected[what] != found[what]:
                self.fail("outbox", what[0], f"排队事件记录 {expected[what]} 条通知，表中有 {found[what]} 条")

    def _project(self, members: list[ProjectMember]) -> None:
        p = self.project
        launched = self.of("project.launched")
        if not launched:
            self.fail("projects", p.id, "记录链中没有立项事件")
            return
        facts = launched[0]["payload"]
        for column in ("name", "community", "template_id", "template_version", "manager_id", "supervisor_id"):
            if column in facts and getattr(p, column) != facts[column]:
                self.fail("projects", p.id, f"{column} 与立项事件不符")
        status = (
            "completed" if self.of("project.completed") else "terminated" if self.of("stage.rejected") else "running"
        )
        if p.status != status:
            self.fail("projects", p.id, f"状态 {p.status} 与事件记录的 {status} 不符")
        team = [(facts.get("manager_id"), "manager", 0), (facts.get("supervisor_id"), "supervisor", 0)]
        team += [(w, "worker", i) for i, w in enumerate(dict.fromkeys(facts.get("worker_ids", [])))]
        team += [(facts["evaluator_id"], "evaluator", 0)] if facts.get("evaluator_id") else []
        found = sorted((m.person_id, m.role, m.position) for m in members if m.project_id == p.id)
        if found != sorted(team):
            self.fail("project_members", p.id, "项目团队与立项事件不符")

    def _stages(self, stages: list[Stage]) -> None:
        expected: dict[str, dict[str, Any]] = defaultdict(lambda: {"status": "pending", "round": 0, "due_at": None})
        moves = {"gate.awaiting": "awaiting_decision", "gate.decided": "decided"}
        moves |= {"stage.approved": "approved", "stage.rejected": "rejected"}
        for e in self.events:
            key = str(e["payload"].get("stage")) if isinstance(e["payload"], dict) else ""
            if e["kind"] == "stage.opened":
                expected[key] = {"status": "open", "round": e["payload"]["round"], "due_at": e["payload"].get("due_at")}
            elif e["kind"] in moves:
                expected[key]["status"] = moves[e["kind"]]
        for stage in stages:
            want = expected[stage.key]
            if (stage.status, stage.round) != (want["status"], want["round"]):
                self.fail("stages", stage.id, f"阶段 {stage.key} 状态/轮次与事件不符")
            elif not _same_time(want["due_at"], stage.due_at):
                self.fail("stages", stage.id, f"阶段 {stage.key} 的期限与事件不符")
        planned = [s["key"] for s in (self.project.template_snapshot or {}).get("stages", [])]
        if sorted(s.key for s in stages) != sorted(planned):
            self.fail("stages", self.project.id, "阶段与项目模板的阶段不符（阶段行被改动、删除或重复）")

    def _submissions(self, submissions: list[FormSubmission]) -> None:
        recorded = {e["payload"].get("submission_id"): e for e in self.of(*SUBMITTED)}
        for row in submissions:
            event = recorded.pop(row.id, None)
            if event is None:
                self.fail("form_submissions", row.id, "没有记录它的提交事件")
                continue
            facts, stage = event["payload"], self.stages.get(self._item_stage(row.work_item_id))
            digest = hashlib.sha256(canonical_json(row.data).encode()).hexdigest()
            if digest != facts.get("data_sha256"):
                self.fail("form_submissions", row.id, "表单内容与提交事件记录的哈希不符（内容被改动）")
            elif (row.form_id, row.form_version, row.round) != (facts["form"], facts["form_version"], facts["round"]):
                self.fail("form_submissions", row.id, "表单、版本或轮次与提交事件不符")
            elif row.submitted_by != event["actor"] or not _same_time(event["at"], row.submitted_at):
                self.fail("form_submissions", row.id, "提交人或提交时间与提交事件不符")
            elif (
                stage is None
                or stage.key != facts["stage"]
                or self._item_activity(row.work_item_id) != facts.get("activity", "")
            ):
                self.fail("form_submissions", row.id, "所属任务与提交事件不符")
        for submission_id, event in recorded.items():
            self.fail("form_submissions", submission_id, f"第 {event['seq']} 个事件记录的提交不见了（行被删除）")

    def _decisions(self, decisions: list[GateDecision]) -> None:
        recorded = {e["payload"].get("decision_id"): e for e in self.of(*DECIDED)}
        for row in decisions:
            event = recorded.pop(row.id, None)
            if event is None:
                self.fail("gate_decisions", row.id, "没有记录它的审核事件")
                continue
            facts, stage = event["payload"], self.stages.get(row.stage_id)
            if (row.outcome, row.comment, row.step, row.round) != (
                facts["outcome"],
                facts["comment"],
                facts["step"],
                facts["round"],
            ):
                self.fail("gate_decisions", row.id, "结果、意见、步骤或轮次与审核事件不符")
            elif row.decided_by != event["actor"] or not _same_time(event["at"], row.decided_at):
                self.fail("gate_decisions", row.id, "决定人或决定时间与审核事件不符")
            elif stage is None or stage.project_id != self.project.id or stage.key != facts["stage"]:
                self.fail("gate_decisions", row.id, "所属阶段与审核事件不符")
            elif (row.redo_forms or None) != (facts.get("redo") or None):
                self.fail("gate_decisions", row.id, "需重做的表单与审核事件不符")
        for decision_id, event in recorded.items():
            self.fail("gate_decisions", decision_id, f"第 {event['seq']} 个事件记录的决定不见了（行被删除）")

    def _item_stage(self, item_id: int) -> int:
        item = self._items_by_id.get(item_id)
        return item.stage_id if item else -1

    def _item_activity(self, item_id: int) -> str | None:
        item = self._items_by_id.get(item_id)
        return item.activity if item else None

    def _items(self, items: list[WorkItem]) -> None:
        opened: dict[tuple[str, int, str, str], dict[str, Any]] = {}
        for e in self.of("stage.opened"):
            for planned in e["payload"].get("items", []):
                key = (e["payload"]["stage"], e["payload"]["round"], planned["form"], planned["activity"])
                opened.setdefault(key, planned)
        moved = {e["payload"].get("item"): e["payload"].get("to") for e in self.of("work_item.reassigned")}
        submitted = {e["payload"].get("submission_id"): e for e in self.of(*SUBMITTED)}
        for item in items:
            stage = self.stages.get(item.stage_id)
            if stage is None or stage.project_id != self.project.id:
                self.fail("work_items", item.id, "所属阶段不属于本项目")
                continue
            planned = opened.get((stage.key, item.round, item.form_id, item.activity))
            event = submitted.get(item.submission_id) if item.submission_id is not None else None
            if planned is None and (item.required or event is None):
                self.fail("work_items", item.id, "没有开启它的阶段事件")
            elif moved.get(item.id, planned["assignee"] if planned else event and event["actor"]) != item.assignee_id:
                self.fail("work_items", item.id, "负责人与事件不符")
            elif (
                (item.status == "submitted") != (event is not None)
                or (item.submission_id is not None) != (event is not None)
                or item.status not in ("open", "submitted")
            ):
                self.fail("work_items", item.id, "状态与提交事件不符")
            elif event is not None and (
                (event["payload"]["form"], event["payload"]["stage"], event["payload"]["round"])
                != (item.form_id, stage.key, item.round)
                or event["payload"].get("activity", "") != item.activity
                or item.submission_id != self._latest.get(item.id)
            ):
                self.fail("work_items", item.id, "所记的提交不是这项任务最近的一次提交")


class _AgencyMessages(_ProjectCheck):
    """The message check of a project, run on the notifications that belong to none."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events, self.breaks = events, []

    def fail(self, table: str, key: object, reason: str) -> None:
        self.breaks.append(RecordBreak(f"机构通知 表 {table} #{key}", reason))
