"""People: roles, qualifications and notification addresses, imported from YAML."""

from __future__ import annotations

import hashlib
import ipaddress
import socket
from datetime import date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy.orm import Session

from swflow.config.errors import NotFoundError
from swflow.db.journal import PEOPLE_STREAM, append_event
from swflow.db.tables import Person

__all__ = [
    "NOTIFY_SCHEMES",
    "address_problem",
    "PersonRecord",
    "Qualification",
    "PeopleFile",
    "write_people",
    "DECISION_ROLES",
    "decision_grants",
    "get_person",
]

# evaluator (评估方): scores outcome evaluations; may be the agency's or a funder's or third party's
# person. Not a social worker of the agency: §8.1.1 qualifications are not asked of them.
Role = Literal["manager", "supervisor", "worker", "director", "evaluator"]

# The channels swflow sends to (README "Notification channels"; notifications/robots.py for the robots).
NOTIFY_SCHEMES = frozenset(
    {"mailto", "mailtos", "wecombot", "dingtalk", "feishu", "lark", "json", "jsons", "form", "forms"}
)
_ROBOTS = frozenset({"wecombot", "dingtalk", "feishu", "lark"})  # their host part is a token
_METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})


def _link_local(host: str) -> bool:
    """169.254.0.0/16 and fe80::/10, however the address is spelled (2852039166, ::ffff:169.254…)."""
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        try:
            ip = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return host.rstrip(".").lower() in _METADATA_HOSTS
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_link_local


def address_problem(url: str) -> str | None:
    """Why swflow would not send to this notification address, or None when it would."""
    if "{" in url or "}" in url:
        return f"含未替换的占位符（{url[:80]}）：请换成真实地址"
    if any(ord(c) < 32 or c.isspace() for c in url):
        return "不能含空白或控制字符"
    scheme, sep, _ = url.partition("://")
    if not sep or not scheme:
        kinds = "、".join(f"{s}://" for s in sorted(NOTIFY_SCHEMES))
        return f"不是通知地址（应以 {kinds} 之一开头）"
    if scheme.lower() not in NOTIFY_SCHEMES:
        return f"不支持的通知渠道 {scheme[:20]}://（可用：{'、'.join(sorted(NOTIFY_SCHEMES))}）"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return "无法解析（不是有效的 URL）"
    if scheme.lower() in _ROBOTS:
        return None if host or "key=" in parts.query or "token=" in parts.query else f"缺少令牌（{scheme}://令牌）"
    if not host:
        return "缺少主机（如 json://主机/路径、mailto://smtp 主机:端口?to=…）"
    if _link_local(host):
        return f"不能发往链路本地或云元数据地址（{host}）"
    return None


def _checked_address(url: str) -> str:
    problem = address_problem(url)
    if problem is not None:
        raise PydanticCustomError("notify_address", "{problem}", {"problem": problem})
    return url


NotifyAddress = Annotated[str, Field(max_length=2000), AfterValidator(_checked_address)]


class Qualification(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["certificate", "degree"]
    level: str = Field(min_length=1, description="助理社会工作师 / 社会工作师 / 高级社会工作师 / 学位")
    number: str = ""
    valid_until: str | None = None

    @field_validator("valid_until")
    @classmethod
    def _a_day(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                date.fromisoformat(str(value))
            except ValueError:
                raise ValueError(f"有效期须是 YYYY-MM-DD 格式的日期，不是 {value}") from None
        return value


class PersonRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9._-]*$", max_length=64)
    name: str = Field(min_length=1)
    roles: list[Role] = Field(min_length=1)
    qualifications: list[Qualification] = []
    notify: list[NotifyAddress] = Field(default=[], max_length=20, description="apprise URLs swflow sends to")
    active: bool = True
    community: str | None = Field(default=None, min_length=1, max_length=200, description="§8.1.3 staffing")


class PeopleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    people: list[PersonRecord] = Field(min_length=1)


DECISION_ROLES = ("supervisor", "director")  # roles that decide gates: never given by one person alone


def decision_grants(session: Session, records: list[PersonRecord]) -> dict[str, list[str]]:
    """person → decision roles the records would give them that they do not hold now."""
    grants: dict[str, list[str]] = {}
    for record in records:
        person = session.get(Person, record.id)
        held: set[str] = set(person.roles) if person is not None else set()
        new: list[str] = [r for r in DECISION_ROLES if r in record.roles and r not in held]
        if new:
            grants[record.id] = new
    return grants


def _channels(urls: list[Any]) -> str:
    """The notification addresses as one short digest: an event says they changed, never what they are."""
    return hashlib.sha256("\n".join(sorted(str(u) for u in urls)).encode()).hexdigest()[:12]


def write_people(
    session: Session,
    records: list[PersonRecord],
    actor: str,
    now: datetime,
    held: dict[str, list[str]] | None = None,
) -> tuple[int, int]:
    """Insert or update people inside the caller's transaction, with their event; returns (added,
    updated). `held`: decision roles kept back until a director confirms them (recorded). The act
    that imports them (`swflow.domain.agency.import_people`) also re-checks supervision and staffing
    in the same transaction. The event names, per person, the roles and channels before and after."""
    added = updated = 0
    held = held or {}
    changes: dict[str, dict[str, Any]] = {}
    for record in records:
        values = record.model_dump(mode="json")
        values["roles"] = [r for r in values["roles"] if r not in held.get(record.id, [])]
        person = session.get(Person, record.id)
        before = {"roles": list(person.roles), "channels": _channels(person.notify)} if person else None
        if person is None:
            session.add(Person(**values, updated_at=now))
            added += 1
        else:
            for key, value in values.items():
                setattr(person, key, value)
            person.updated_at = now
            updated += 1
        after = {"roles": values["roles"], "channels": _channels(values["notify"])}
        if before != after:
            changes[record.id] = {"before": before, "after": after}
    session.flush()
    append_event(
        session,
        PEOPLE_STREAM,
        "people.imported",
        actor=actor,
        at=now,
        payload={
            "ids": [r.id for r in records],
            "added": added,
            "updated": updated,
            "changes": changes,
            "held_for_director": held,
        },
    )
    return added, updated


def get_person(session: Session, person_id: str) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFoundError(f"没有人员 {person_id}（先用 `swflow people import` 导入）")
    return person


def person_name(person_id: str) -> str:
    """How a message greets its recipient: the name on record, else the id."""
    from swflow.db.engine import read_session

    with read_session() as session:
        person = session.get(Person, person_id)
        return person.name if person else person_id


def list_people() -> list[dict[str, Any]]:
    """Everyone on record, without their notification addresses (they hold tokens)."""
    from sqlalchemy import select

    from swflow.db.engine import read_session

    with read_session() as session:
        return [
            {
                "id": p.id,
                "name": p.name,
                "roles": p.roles,
                "channels": len(p.notify),
                "active": p.active,
                "community": p.community,
            }
            for p in session.execute(select(Person).order_by(Person.id)).scalars()
        ]
