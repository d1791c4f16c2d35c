"""Pure rules of the registry: who is the same person, who may see whom, which consent covers an
act, how a referral may move, how hours add up. No SQLAlchemy here."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from swflow.db.chain import canonical_json

__all__ = [
    "normalise_name",
    "normalise_phone",
    "identity_key",
    "salted_digest",
    "Audience",
    "may_see",
    "ConsentView",
    "active_consent",
    "PersonStatus",
    "ReferralStatus",
    "OUTCOMES",
    "why_not_update_referral",
    "why_not_close_referral",
    "HoursRow",
    "total_hours",
    "hours_text",
    "FORGOTTEN_NAME",
]

FORGOTTEN_NAME = "（已匿名化）"


def normalise_name(name: str) -> str:
    """Full-width and half-width forms alike, no spaces: "王 秀英" and "王秀英" are one name."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name))


def normalise_phone(phone: str | None) -> str:
    """Digits only, without the country code: "+86 138-0013-8000" is "13800138000"."""
    digits = re.sub(r"\D", "", phone or "")
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            return digits[len(prefix) :]
    return digits


def identity_key(name: str, birth_year: int, phone: str | None) -> str:
    """Registering the same person twice means the same name, birth year and phone (§8.3.2)."""
    text = f"{normalise_name(name)}|{birth_year}|{normalise_phone(phone)}"
    return hashlib.sha256(text.encode()).hexdigest()


def salted_digest(salt: str, value: object) -> str:
    """What an event may carry about personal data: a digest that nobody can test guesses against
    once the row's salt is overwritten (the person is forgotten)."""
    return hashlib.sha256((salt + "\n" + canonical_json(value)).encode()).hexdigest()


@dataclass(frozen=True)
class Audience:
    """Who may see a person's sensitive fields: the teams of their projects (manager, supervisor,
    workers), whoever registered them, and directors."""

    people: frozenset[str]
    roles: frozenset[str] = frozenset({"director"})


def may_see(audience: Audience, viewer: str, viewer_roles: Collection[str], viewer_active: bool = True) -> bool:
    if not viewer_active:
        return False
    return viewer in audience.people or bool(audience.roles.intersection(viewer_roles))


@dataclass(frozen=True)
class ConsentView:
    id: int
    purpose: str
    given_on: date
    withdrawn_on: date | None


def active_consent(consents: Iterable[ConsentView], purpose: str, on: date) -> ConsentView | None:
    """The latest consent for `purpose` given by `on` and not withdrawn by then."""
    valid = [
        c
        for c in consents
        if c.purpose == purpose and c.given_on <= on and (c.withdrawn_on is None or c.withdrawn_on > on)
    ]
    return max(valid, key=lambda c: (c.given_on, c.id), default=None)


class PersonStatus:
    ACTIVE = "active"
    MERGED = "merged"
    FORGOTTEN = "forgotten"


class ReferralStatus:
    SENT = "sent"  # 已转介，待接收机构回复
    ACCEPTED = "accepted"  # 接收机构已接收
    IN_SERVICE = "in_service"  # 正在接受服务
    DECLINED = "declined"  # 接收机构不能接收
    CLOSED = "closed"

    TITLES = {
        "sent": "已转介",
        "accepted": "已接收",
        "in_service": "服务中",
        "declined": "未接收",
        "closed": "已结案",
    }
    UPDATES = ("sent", "accepted", "in_service", "declined")


OUTCOMES = {
    "resolved": "需求已解决",
    "partly_resolved": "部分解决",
    "unresolved": "未解决",
    "declined_by_agency": "接收机构未接收",
    "withdrawn": "服务对象撤回",
    "re_referred": "另行转介",
}


def why_not_update_referral(status: str, new_status: str, referral_id: int) -> str | None:
    if status == ReferralStatus.CLOSED:
        return f"转介 #{referral_id} 已结案，不能再跟进"
    if new_status not in ReferralStatus.UPDATES:
        return f"转介状态只能改为：{'、'.join(ReferralStatus.UPDATES)}"
    if new_status == ReferralStatus.SENT and status != ReferralStatus.SENT:
        return f"转介 #{referral_id} 已是「{ReferralStatus.TITLES[status]}」，不能退回「已转介」"
    return None


def why_not_close_referral(status: str, outcome: str, referral_id: int) -> str | None:
    if status == ReferralStatus.CLOSED:
        return f"转介 #{referral_id} 已结案"
    if outcome not in OUTCOMES:
        return f"结案结果只能是：{'、'.join(OUTCOMES)}"
    return None


@dataclass(frozen=True)
class HoursRow:
    """One volunteer's hours at one activity, from the latest record of that activity."""

    project_id: str
    project_name: str
    activity: str
    activity_date: str
    title: str
    hours: float


def total_hours(rows: Iterable[HoursRow]) -> Decimal:
    """Added as decimals, so 0.1-hour steps never show float dust on a certificate."""
    return sum((Decimal(str(r.hours)) for r in rows), Decimal("0"))


def hours_text(value: Decimal | float) -> str:
    """2.50 → "2.5", 3.0 → "3"."""
    text = f"{Decimal(str(value)):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
