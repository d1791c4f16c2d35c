"""Who answered, besides what they answered (issue 16, part 3): the respondent's group when the survey
compares an intervention group with a comparison group (组别), and the attributes the survey asks of every
respondent (性别, 年龄段, 社区) for cross-tabulation. A post-test respondent keeps the group they had at
baseline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from swflow.db.tables import FormSubmission
from swflow.forms_spec.survey_form import survey_form_id

__all__ = ["GROUP_COLUMNS", "baseline_groups", "extra_columns", "respondent_facts"]

GROUP_COLUMNS = ("group", "组别")
Problem = tuple[str, str]


def extra_columns(survey: dict[str, Any], names: Sequence[str]) -> tuple[int | None, dict[str, int], list[str]]:
    """A sheet's group column, each attribute's column (by key or title), and the names they take (not
    answers)."""
    group = next((i for i, n in enumerate(names) if n in GROUP_COLUMNS), None) if survey.get("groups") else None
    attributes: dict[str, int] = {}
    for attribute in survey.get("attributes", []):
        at = next((i for i, n in enumerate(names) if n in (attribute["key"], attribute["title"])), None)
        if at is not None:
            attributes[attribute["key"]] = at
    taken = [names[i] for i in [*([group] if group is not None else []), *attributes.values()]]
    return group, attributes, taken


def baseline_groups(session: Session, project_id: str, baseline_key: str | None) -> dict[str, str]:
    """respondent → the group they were recorded in at the baseline survey."""
    if baseline_key is None:
        return {}
    query = select(FormSubmission.data).where(
        FormSubmission.project_id == project_id, FormSubmission.form_id == survey_form_id(baseline_key)
    )
    return {str(d["respondent"]): str(d["group"]) for d in session.execute(query).scalars() if d.get("group")}


def respondent_facts(
    survey: dict[str, Any], code: str, group: Any, attributes: dict[str, Any], at_baseline: dict[str, str]
) -> tuple[str | None, dict[str, str], list[Problem]]:
    """The respondent's group and attributes as recorded, and what is wrong with them (where, rule)."""
    problems: list[Problem] = []
    groups = list(survey.get("groups", []))
    chosen = None if group is None or not str(group).strip() else str(group).strip()
    if groups and chosen is None:
        problems.append(("组别", f"须填写组别（{'、'.join(groups)}）"))
    elif groups and chosen not in groups:
        problems.append(("组别", f"「{chosen}」不是本问卷的组别（可选：{'、'.join(groups)}）"))
    elif not groups and chosen is not None:
        problems.append(("组别", "本问卷不分组，不能填写组别"))
    elif chosen is not None and code in at_baseline and at_baseline[code] != chosen:
        problems.append(
            ("组别", f"受访者 {code} 在基线调查属于{at_baseline[code]}，这里写的是{chosen}（前后测须同组）")
        )
    known = {a["key"]: a for a in survey.get("attributes", [])}
    kept: dict[str, str] = {}
    for key, value in attributes.items():
        text = "" if value is None else str(value).strip()
        attribute = known.get(key)
        if attribute is None:
            problems.append((key, f"本问卷没有受访者信息「{key}」（可选：{'、'.join(known) or '无'}）"))
        elif not text:
            continue
        elif attribute.get("options") and text not in attribute["options"]:
            problems.append((attribute["title"], f"「{text[:20]}」不是可选值（{'、'.join(attribute['options'])}）"))
        elif len(text) > 30:
            problems.append((attribute["title"], "不能超过 30 字"))
        else:
            kept[key] = text
    return (chosen if groups else None), kept, problems
