"""Reports built from submitted forms: indicators (baseline → target → post) and the scorecard."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from swflow.config.errors import NotFoundError
from swflow.config.scorecards import get_scorecard, weighted_score
from swflow.db.engine import read_session
from swflow.db.tables import FormSubmission, Project
from swflow.domain.projects.survey_values import computed_values
from swflow.forms_spec import FormSpec
from swflow.forms_spec.cross_checks import Computed

__all__ = ["indicator_report", "scorecard_report"]


def _latest_tables(project: Project, submissions: list[FormSubmission], role: str) -> list[dict[str, Any]]:
    """Rows of every `measures: role` table, from the latest submission of each form."""
    latest: dict[str, FormSubmission] = {}
    for sub in submissions:
        latest[sub.form_id] = sub
    rows: list[dict[str, Any]] = []
    for form_id, sub in latest.items():
        form = FormSpec.model_validate(project.forms_snapshot[form_id])
        for field in form.fields:
            if field.measures == role:
                rows += sub.data.get(field.name, [])
    return rows


def _met(direction: str | None, target: float | None, post: float | None) -> bool | None:
    if direction is None or target is None or post is None:
        return None
    return post >= target if direction == "increase" else post <= target


def indicator_report(project_id: str) -> list[dict[str, Any]]:
    """Per indicator: baseline, target, post, change, met — joined by the indicator's name."""
    with read_session() as session:
        project = session.get(Project, project_id)
        if project is None:
            raise NotFoundError(f"没有项目 {project_id}")
        subs = list(
            session.execute(
                select(FormSubmission).where(FormSubmission.project_id == project_id).order_by(FormSubmission.id)
            ).scalars()
        )
        baseline = {r["indicator"]: r for r in _latest_tables(project, subs, "baseline")}
        targets = {r["indicator"]: r for r in _latest_tables(project, subs, "target")}
        post = {r["indicator"]: r for r in _latest_tables(project, subs, "post")}
        computed = {(c.role, c.name): c for c in computed_values(session, project)}
    names = list(dict.fromkeys([*baseline, *(n for r, n in computed if r == "baseline"), *targets, *post]))
    names += [n for r, n in computed if r == "post" and n not in names]
    report = []
    for name in names:
        base, later = computed.get(("baseline", name)), computed.get(("post", name))
        base_value = base.value if base else baseline.get(name, {}).get("value")
        post_value = later.value if later else post.get(name, {}).get("value")
        target = targets.get(name, {})
        report.append(
            {
                "indicator": name,
                "unit": baseline.get(name, {}).get("unit") or next((c.unit for c in (base, later) if c), None),
                "baseline": base_value,
                "target": target.get("target"),
                "direction": target.get("direction"),
                "post": post_value,
                "change": None if base_value is None or post_value is None else round(post_value - base_value, 6),
                "met": _met(target.get("direction"), target.get("target"), post_value),
                "baseline_from": _source(base),
                "post_from": _source(later),
            }
        )
    return report


def _source(computed: Computed | None) -> dict[str, Any] | None:
    """Where a computed value comes from: its survey, how, of how many answers, through which response."""
    if computed is None:
        return None
    return {"survey": computed.survey, "title": computed.survey_title, "statistic": computed.statistic,
            "n": computed.n, "sd": computed.sd, "through": computed.through}  # fmt: skip


def scorecard_report(project_id: str, form_id: str = "scorecard") -> dict[str, Any]:
    """The weighted score of the latest scorecard submission on the scorecard the project's template
    names (`scorecard:`, `default` unless it says), per dimension and in total."""
    with read_session() as session:
        project = session.get(Project, project_id)
        if project is None:
            raise NotFoundError(f"没有项目 {project_id}")
        card = get_scorecard(str(project.template_snapshot.get("scorecard", "default")))
        sub = (
            session.execute(
                select(FormSubmission)
                .where(FormSubmission.project_id == project_id, FormSubmission.form_id == form_id)
                .order_by(FormSubmission.id.desc())
            )
            .scalars()
            .first()
        )
        scores = {row["indicator"]: int(row["score"]) for row in (sub.data.get("scores", []) if sub else [])}
        computed = [c for c in computed_values(session, project) if c.scorecard and c.scorecard_score is not None]
    scores |= {str(c.scorecard): int(c.scorecard_score or 0) for c in computed}
    total, per_dimension = weighted_score(card, scores)
    titles = {i.key: i.title for d in card.dimensions for i in d.indicators}
    return {
        "scorecard": card.id,
        "title": card.title,
        "scale": card.scale.model_dump(),
        "total": None if total is None else round(total, 3),
        "dimensions": [
            {
                "key": d.key,
                "title": d.title,
                "weight": d.weight,
                "score": None if per_dimension[d.key] is None else round(per_dimension[d.key] or 0, 3),
            }
            for d in card.dimensions
        ],
        "unscored": [k for k in card.indicator_keys() if k not in scores],
        "from_surveys": {
            str(c.scorecard): {
                "card_title": titles.get(str(c.scorecard), c.scorecard),
                "score": c.scorecard_score,
                "indicator": c.name,
                "value": c.value,
                **(_source(c) or {}),
            }  # fmt: skip
            for c in computed
        },
    }
