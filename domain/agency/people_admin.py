"""人员管理 for directors (机构负责人): everyone on record (roles, community, qualifications, channels shown
without secrets, whether they can sign in, deciding roles waiting for a director) and the acts on a person —
save, (de)activate, invite, reset the password — through the CLI's acts (`import_people_held`, `invite_person`),
so a deciding role is never given by one person alone here either; refused, not only hidden, to anyone but an
active director; archived as theirs (the door marks its events)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import ValidationError
from sqlalchemy import select

from swflow.config.clock import SHANGHAI
from swflow.config.errors import FormError, NotFoundError, RefusedError, pydantic_rule
from swflow.db import PEOPLE_STREAM, append_event, read_session, unit_of_work
from swflow.db.tables import Person
from swflow.db.web_tables import Account, PersonLink
from swflow.domain.people.accounts import end_sessions
from swflow.domain.people.records import PersonRecord, Qualification, address_problem
from swflow.domain.people.rules import ROLE_TITLES

from .grants import import_people_held
from .invites import invite_person

__all__ = [
    "ADMIN_ROLE", "FIELD_LABELS", "Channel", "QualificationRow", "PersonRow", "PersonValues", "SavedPerson",
    "InviteSent", "channel_key", "channel_shown", "field_label", "why_not_administer", "people_admin_view",
    "person_admin_view", "save_person", "set_active", "send_invite",
]  # fmt: skip

ADMIN_ROLE = "director"  # who administers people: 机构负责人
ROBOT_SCHEMES = frozenset({"wecombot", "dingtalk", "feishu", "lark"})  # their host part is the token itself
FIELD_LABELS = {
    "id": "人员编号（登录名）", "name": "姓名", "roles": "角色", "community": "服务社区",
    "channels": "现有通知渠道", "new_channels": "新增通知地址",
}  # fmt: skip
QUALIFICATION_LABELS = {"kind": "类别", "level": "等级或学位", "number": "证书编号", "valid_until": "有效期至"}
ACCOUNT_TEXT = {"password": "已设置密码", "invited": "已发送设置密码链接，尚未设置", "none": "未开通"}
_ACCOUNT_LINKS = PersonLink.purpose.in_(("set_password", "grant_roles"))  # not the gates' one-tap links
_ORDER = ["id", "name", "roles", "community", "q", "channels", "new_channels", ""]


@dataclass(frozen=True)
class Channel:
    key: str  # a digest of the address: what the page sends back to remove it, never the address
    shown: str  # scheme and host only (mailto://…@example.org, json://127.0.0.1:…)


@dataclass(frozen=True)
class QualificationRow:
    """One row of the qualifications table as the page holds it (all text; blank = the draft row)."""

    kind: str = "certificate"
    level: str = ""
    number: str = ""
    valid_until: str = ""
    remove: bool = False

    @property
    def blank(self) -> bool:
        return not (self.level or self.number or self.valid_until)


@dataclass(frozen=True)
class PersonRow:
    id: str
    name: str
    roles: list[str]
    role_titles: str
    community: str | None
    qualifications: list[str]  # as people read them: 社会工作师（证书 SW-2019-0001）
    rows: list[QualificationRow]  # the same, for the edit form
    channels: list[Channel]
    active: bool
    account: str  # password | invited | none (ACCOUNT_TEXT)
    pending: list[str] = field(default_factory=list)  # deciding roles waiting for a director's confirmation
    asked: list[str] = field(default_factory=list)  # the directors whose link can confirm them (names)

    @property
    def account_text(self) -> str:
        return ACCOUNT_TEXT[self.account]

    @property
    def pending_titles(self) -> str:
        return "、".join(ROLE_TITLES.get(r, r) for r in self.pending)


@dataclass
class PersonValues:
    """What the person page typed: a new person (`new`) or one on record (`id` from the page's address)."""

    id: str
    name: str = ""
    roles: list[str] = field(default_factory=list)
    community: str = ""
    qualifications: list[QualificationRow] = field(default_factory=list)
    remove_channels: list[str] = field(default_factory=list)  # Channel.key of the addresses to drop
    new_channels: str = ""  # one apprise URL a line
    new: bool = False


@dataclass(frozen=True)
class SavedPerson:
    person_id: str
    added: bool
    held: list[str]  # deciding roles held back for a director's confirmation
    asked: list[str]  # the directors sent a confirmation link


@dataclass(frozen=True)
class InviteSent:
    person_id: str
    name: str
    channels: list[str]  # where the link went, shown without secrets


def channel_key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def channel_shown(url: str) -> str:
    """An apprise URL as the page may show it: its scheme and host, never a user, password, token, port,
    path or query (any of which can be a secret); a robot's host is its token, so only the scheme."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or not scheme.isascii() or not scheme.isalnum():
        return "（无法识别的地址）"
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        host = ""
    if scheme in ROBOT_SCHEMES or not host:
        return f"{scheme}://…"
    netloc = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    user = "…@" if "@" in netloc else ""
    place = netloc.rpartition("@")[2]
    has_port = ":" in place.rpartition("]")[2]
    after = rest[len(netloc) :]
    tail = ":…" if has_port else ("/…" if after.strip("/") else "")
    return f"{scheme}://{user}{f'[{host}]' if ':' in host else host}{tail}"


def field_label(key: str) -> str:
    """A field of the page in words: `q2.level` → 资格第 3 行 · 等级或学位."""
    if key.startswith("q") and key[1:2].isdigit():
        row, _, part = key[1:].partition(".")
        return f"资格第 {int(row) + 1} 行" + (f" · {QUALIFICATION_LABELS.get(part, part)}" if part else "")
    return FIELD_LABELS.get(key, "其他")


def why_not_administer(viewer: str) -> str | None:
    """Only an active director administers people; anyone else is refused with a sentence."""
    with read_session() as session:
        person = session.get(Person, viewer)
        if person is None:
            return f"没有人员 {viewer}，不能管理人员"
        if not person.active:
            return f"{viewer} 已停用，不能管理人员"
        if ADMIN_ROLE not in person.roles:
            held = "、".join(ROLE_TITLES.get(r, r) for r in person.roles) or "无"
            return f"{viewer} 不能管理人员：只有机构负责人可以添加、修改、停用人员或为其开通账号（现有角色：{held}）"
        return None


def _refuse_unless_admin(viewer: str) -> None:
    if (refused := why_not_administer(viewer)) is not None:
        raise RefusedError(refused)


def _qualification_text(q: dict[str, Any], today: str) -> str:
    kind = "学历" if q.get("kind") == "degree" else "证书"
    details = [f"{kind} {q['number']}" if q.get("number") else kind]
    if until := q.get("valid_until"):
        details.append(f"有效期至 {until}" + ("，已过期" if str(until) < today else ""))
    return f"{q.get('level', '')}（{'，'.join(details)}）"


def _rows(person: Person) -> list[QualificationRow]:
    text = [[str(q.get(k) or "") for k in ("kind", "level", "number", "valid_until")] for q in person.qualifications]
    return [QualificationRow(kind, level, number, until) for kind, level, number, until in text]


def _people(now: datetime, person_id: str | None = None) -> list[PersonRow]:
    today = now.astimezone(SHANGHAI).date().isoformat()
    with read_session() as session:
        query = select(Person).order_by(Person.id)
        everyone = list(session.execute(query if person_id is None else query.where(Person.id == person_id)).scalars())
        accounts = select(Account).where(Account.person_id.in_([p.id for p in everyone]))
        passwords = {a.person_id for a in session.execute(accounts).scalars() if a.password_hash is not None}
        unused = select(PersonLink).where(PersonLink.used_at.is_(None), _ACCOUNT_LINKS)
        links = [link for link in session.execute(unused).scalars() if link.expires_at > now]
        invited = {link.person_id for link in links if link.purpose == "set_password"}
        directors = {
            p.id: p.name
            for p in session.execute(select(Person).where(Person.active.is_(True))).scalars()
            if ADMIN_ROLE in p.roles
        }
        grant_links = [link for link in links if link.purpose == "grant_roles" and link.person_id in directors]
        rows = []
        for p in everyone:
            grants = [g for g in grant_links if g.subject.get("person") == p.id]
            pending = [
                r for r in ROLE_TITLES if any(r in g.subject.get("roles", []) for g in grants) and r not in p.roles
            ]
            asked = list(dict.fromkeys(directors[g.person_id] for g in grants)) if pending else []
            titles = "、".join(ROLE_TITLES.get(r, r) for r in p.roles)
            channels = [Channel(channel_key(str(u)), channel_shown(str(u))) for u in p.notify]
            account = "password" if p.id in passwords else "invited" if p.id in invited else "none"
            quals = [_qualification_text(q, today) for q in p.qualifications]
            row = (p.id, p.name, list(p.roles), titles, p.community, quals, _rows(p), channels, p.active, account)
            rows.append(PersonRow(*row, pending, asked))
        return rows


def people_admin_view(
    viewer: str, now: datetime, role: str | None = None, active: bool | None = None
) -> list[PersonRow]:
    """Everyone on record (optionally those holding `role`, or active or not), for a director."""
    _refuse_unless_admin(viewer)
    return [
        r for r in _people(now) if (role is None or role in r.roles or role in r.pending) and active in (None, r.active)
    ]


def person_admin_view(viewer: str, person_id: str, now: datetime) -> PersonRow:
    _refuse_unless_admin(viewer)
    if not (found := _people(now, person_id)):
        raise NotFoundError(f"没有人员 {person_id}")
    return found[0]


def _is_date(text: str) -> bool:
    try:
        return len(text) == 10 and bool(date.fromisoformat(text))
    except ValueError:
        return False


def _place(loc: tuple[Any, ...], rows: list[int], kept: int) -> str:
    """Where on the page a pydantic error of the record belongs."""
    head = str(loc[0]) if loc else ""
    if head == "qualifications" and len(loc) > 1 and isinstance(loc[1], int) and loc[1] < len(rows):
        return f"q{rows[loc[1]]}" + (f".{loc[2]}" if len(loc) > 2 else "")
    if head == "notify":
        return "channels" if len(loc) > 1 and isinstance(loc[1], int) and loc[1] < kept else "new_channels"
    return head if head in FIELD_LABELS else ""


def _rule(where: str, item: Any, kept: int) -> str:
    kind, loc = str(item.get("type", "")), tuple(item.get("loc", ()))
    if kind in ("missing", "string_too_short", "string_pattern_mismatch") and item.get("input") in ("", None):
        return "必填"
    if where == "id" and kind == "string_pattern_mismatch":
        return "只能用小写字母、数字和 . _ -，以小写字母开头（如 wang.worker）"
    if where == "roles" and kind == "too_short":
        return "请至少选择一个角色"
    rule = pydantic_rule(item)
    if where in ("channels", "new_channels") and len(loc) > 1 and isinstance(loc[1], int):
        return f"第 {loc[1] + 1 - (kept if where == 'new_channels' else 0)} 个地址：{rule}"
    return rule


def _record(
    viewer: str, values: PersonValues, notify: list[str], active: bool
) -> tuple[PersonRecord | None, list[tuple[str, str]]]:
    """The record the page's values make, or each problem at its field (all at once)."""
    problems: list[tuple[str, str]] = []
    roles = list(dict.fromkeys(values.roles))
    if unknown := [r for r in roles if r not in ROLE_TITLES]:
        problems.append(("roles", f"不认识的角色：{'、'.join(unknown)}"))
    roles = [r for r in roles if r in ROLE_TITLES]
    if values.id == viewer and ADMIN_ROLE not in roles:
        problems.append(("roles", "不能取消您本人的机构负责人角色：请由另一位机构负责人操作"))
    if len(values.name) > 200:
        problems.append(("name", "最多 200 个字"))
    quals: list[dict[str, Any]] = []
    rows: list[int] = []  # page row of each qualification kept
    for i, row in enumerate(values.qualifications):
        if row.remove or row.blank:
            continue
        if row.valid_until and not _is_date(row.valid_until):
            problems.append((f"q{i}.valid_until", "必须是日期（YYYY-MM-DD）"))
        until = row.valid_until or None
        quals.append({"kind": row.kind, "level": row.level, "number": row.number, "valid_until": until})
        rows.append(i)
    kept = [u for u in notify if channel_key(u) not in set(values.remove_channels)]
    added: list[str] = []
    for n, line in enumerate(values.new_channels.splitlines(), 1):
        url = line.strip()
        if url and (problem := address_problem(url)) is not None:
            problems.append(("new_channels", f"第 {n} 行：{problem}"))
        elif url and url not in kept and url not in added:
            added.append(url)
    data = {
        "id": values.id, "name": values.name, "roles": roles, "qualifications": quals, "notify": kept + added,
        "active": active, "community": values.community or None,
    }  # fmt: skip
    try:
        record = PersonRecord.model_validate(data)
    except ValidationError as invalid:
        said = {where for where, _ in problems}
        for item in invalid.errors():
            where = _place(tuple(item["loc"]), rows, len(kept))
            if not (where == "roles" and "roles" in said):
                problems.append((where, _rule(where, item, len(kept))))
        return None, problems
    return (None if problems else record), problems


def _order(problem: tuple[str, str]) -> tuple[int, str]:
    """The page's order: id, name, roles, community, each qualification row, channels."""
    where = problem[0]
    return (_ORDER.index("q") if where[:1] == "q" and where[1:2].isdigit() else _ORDER.index(where)), where


def save_person(viewer: str, values: PersonValues, now: datetime) -> SavedPerson:
    """Add or change a person as the director: checked field by field (a FormError naming each field and
    rule), then imported as the CLI imports — a deciding role asked for is held for a director's
    confirmation. Channels on record are kept unless removed; new ones are added."""
    _refuse_unless_admin(viewer)
    with read_session() as session:
        current = session.get(Person, values.id) if values.id else None
        notify = [str(u) for u in current.notify] if current is not None else []
        active = current.active if current is not None else True
    if current is None and not values.new:
        raise NotFoundError(f"没有人员 {values.id}")
    record, problems = _record(viewer, values, notify, active)
    if current is not None and values.new:
        problems.insert(0, ("id", f"已有人员 {values.id}：请打开其页面修改"))
    if problems or record is None:
        problems = sorted(problems, key=_order)
        lines = "\n".join(f"  - {field_label(where)}：{line}" for where, line in problems)
        raise FormError(f"人员信息有 {len(problems)} 处需要修改，没有保存：\n{lines}", problems)
    report = import_people_held([record], actor=viewer, now=now)
    return SavedPerson(record.id, report.added > 0, report.held.get(record.id, []), report.asked)


def _as_stored(person: Person, active: bool) -> PersonRecord:
    """The record as it is on record with only `active` changed. Built without re-validation: it went
    through the import's rules when written, and a rule tightened since must not stop a deactivation."""
    quals = [Qualification.model_construct(**q) for q in person.qualifications]
    return PersonRecord.model_construct(
        id=person.id, name=person.name, roles=list(person.roles), qualifications=quals,
        notify=[str(u) for u in person.notify], active=active, community=person.community,
    )  # fmt: skip


def set_active(viewer: str, person_id: str, active: bool, now: datetime) -> int:
    """(De)activate a person through the import; a deactivated person can no longer sign in or act and
    every open session of theirs ends (recorded). Returns the sessions ended. Never oneself."""
    _refuse_unless_admin(viewer)
    if person_id == viewer and not active:
        raise RefusedError("不能停用您本人：请由另一位机构负责人操作")
    with read_session() as session:
        person = session.get(Person, person_id)
        if person is None:
            raise NotFoundError(f"没有人员 {person_id}")
        record = _as_stored(person, active)
    import_people_held([record], actor=viewer, now=now)
    if active:
        return 0
    with unit_of_work() as session:  # (session_of refuses them already; this keeps a reactivation from reviving them)
        ended = end_sessions(session, person_id, now)
        if ended:
            append_event(
                session, PEOPLE_STREAM, "account.sessions_ended", actor=viewer, at=now,
                payload={"person": person_id, "sessions": ended, "because": "deactivated"},
            )  # fmt: skip
        return ended


def send_invite(viewer: str, person_id: str, kind: Literal["invite", "reset"], now: datetime) -> InviteSent:
    """A set-password link for the person, sent to their own channels (the act the CLI uses); the link
    is theirs: it is not handed back to the director's page. Refused when it could reach no one."""
    _refuse_unless_admin(viewer)
    with read_session() as session:
        person = session.get(Person, person_id)
        if person is None:
            raise NotFoundError(f"没有人员 {person_id}")
        name, notify = person.name, [str(u) for u in person.notify]
    if not notify:
        raise RefusedError(
            f"{name}（{person_id}）没有通知渠道，链接无处可发：请先在本页添加通知地址"
            f"（或由管理员在命令行运行 swflow people invite {person_id}，链接会打印出来）"
        )
    invite_person(person_id, kind, actor=viewer, now=now)  # its address stays in the person's messages
    return InviteSent(person_id, name, [channel_shown(u) for u in notify])
