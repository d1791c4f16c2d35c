"""Pure rules about people: the roles a project needs, and the qualification §8.1.1 asks of them.

No SQLAlchemy here: every rule is a function of plain values, unit-tested on its own.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import date
from typing import Any

__all__ = ["ROLE_TITLES", "role_problems", "qualification_problem"]

ROLE_TITLES = {
    "manager": "项目主管",
    "supervisor": "督导",
    "worker": "社工",
    "director": "机构负责人",
    "evaluator": "评估方",  # fills a template's `evaluator_forms`; no §8.1.1 check (not the agency's social worker)
}


def role_problems(assignments: Iterable[tuple[str, str, Collection[str]]]) -> list[str]:
    """For (person, wanted role, their roles): a line for each person lacking the role."""
    return [
        f"{person} 没有「{ROLE_TITLES.get(role, role)}」角色（现有：{'、'.join(roles) or '无'}）"
        for person, role, roles in assignments
        if role not in roles
    ]


def qualification_problem(person_id: str, qualifications: Iterable[Mapping[str, Any]], today: date) -> str | None:
    """§8.1.1: a valid social-work certificate or a degree on record, or the reason it is missing."""
    quals = list(qualifications)
    if not quals:
        return f"{person_id} 没有登记社会工作职业资格证书或学历（§8.1.1）"
    for q in quals:
        until = q.get("valid_until")
        if until is None or date.fromisoformat(str(until)) >= today:
            return None
    latest = max(str(q.get("valid_until")) for q in quals)
    return f"{person_id} 的资格证书已过期（有效期至 {latest}），没有有效的证书或学历（§8.1.1）"
