"""Deciding a gate through a one-tap link in an approval request. The link is bound to one person and
one gate's project, stage, round and step (ids only). Opening it says what it would decide and acts
on nothing; deciding uses the link and records the decision as the link's person in one transaction.
A refusal — the link forwarded to someone else, a round since returned, a gate already decided or
moved to its next step, a link used, changed or expired — is recorded (`link.refused`) and said."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from swflow.config.errors import FormError, RefusedError
from swflow.db.engine import read_session, unit_of_work
from swflow.db.snapshot import stage_spec
from swflow.db.tables import Project, Stage, WorkItem
from swflow.domain.people.links import LinkRefused, OpenedLink, open_link, refusals_recorded, use_link
from swflow.domain.people.records import get_person
from swflow.domain.projects.gates import Decided, Outcome, check_comment, decide_in, gate_context
from swflow.domain.projects.rules import ProjectStatus, StageStatus, why_not_decide
from swflow.domain.projects.stages import find_stage, lock_project

__all__ = ["LinkGate", "open_decide_link", "decide_by_link"]


@dataclass(frozen=True)
class LinkGate:
    """What a decide link would decide: codes, titles and dates (the forms themselves are on the
    gate page, behind a sign-in: a link can be forwarded)."""

    link_id: str
    person_id: str
    person_name: str
    project_id: str
    project_name: str
    stage_key: str
    stage_title: str
    round: int
    step_label: str
    due_at: datetime | None
    expires_at: datetime
    forms: tuple[str, ...]  # titles of this round's forms
    stage_forms: tuple[tuple[str, str], ...]  # (form id, title): what a return may send back


def _problem(project: Project, stage: Stage, subject: dict[str, Any]) -> str | None:
    """Why the gate is no longer the one the link was sent for, or None."""
    asked = f"阶段「{stage.title}」第 {subject.get('round')} 轮"
    if project.status != ProjectStatus.RUNNING:
        return f"项目 {project.id} 已结束，此审核链接不再可用"
    if stage.round != subject.get("round"):
        return f"{asked}已被退回修改（现为第 {stage.round} 轮），此链接不再可用：请等待新一轮的审核通知"
    if stage.status in (StageStatus.DECIDED, StageStatus.APPROVED, StageStatus.REJECTED):
        return f"{asked}已有决定（already decided），此链接不再可用"
    if stage.gate_step != subject.get("step"):
        return f"{asked}第 {subject.get('step')} 步已决定，现为第 {stage.gate_step} 步：此链接不再可用"
    if stage.status != StageStatus.AWAITING_DECISION:
        return f"{asked}现在不在等待审核，此链接不能使用"
    return None


def _check(session: Session, link: OpenedLink, by: str | None) -> tuple[Project, Stage]:
    if by is not None and by != link.person_id:
        raise LinkRefused("这条链接是发给另一位人员的，不能由您使用", link.id, by)
    project_id, stage_key = str(link.subject.get("project")), str(link.subject.get("stage"))
    project = session.get_one(Project, project_id)
    stage = find_stage(session, project_id, stage_key)
    if problem := _problem(project, stage, link.subject):
        raise LinkRefused(problem, link.id, link.person_id)
    person = get_person(session, link.person_id)
    if reason := why_not_decide(gate_context(session, project, stage), link.person_id, person.roles):
        raise LinkRefused(reason, link.id, link.person_id)
    return project, stage


def open_decide_link(token: str, now: datetime, by: str | None = None) -> LinkGate:
    """What a GET of the link shows. Nothing is acted on; a link that could not decide is refused
    and recorded. `by`: the person signed in on this browser, if any (they must own the link)."""
    link = open_link(token, "decide", now)  # records its own refusals
    with refusals_recorded(now), read_session() as session:
        project, stage = _check(session, link, by)
        items = session.execute(
            select(WorkItem.title).where(WorkItem.stage_id == stage.id, WorkItem.round == stage.round)
        ).scalars()
        forms = project.forms_snapshot
        return LinkGate(
            link_id=link.id,
            person_id=link.person_id,
            person_name=get_person(session, link.person_id).name,
            project_id=project.id,
            project_name=project.name,
            stage_key=stage.key,
            stage_title=stage.title,
            round=stage.round,
            step_label=gate_context(session, project, stage).step_label(),
            due_at=stage.gate_due_at,
            expires_at=link.expires_at,
            forms=tuple(t or "" for t in items),
            stage_forms=tuple((f, forms[f]["title"]) for f in stage_spec(project, stage.key)["forms"]),
        )


def decide_by_link(
    token: str, outcome: Outcome, comment: str, now: datetime, by: str | None = None, redo: list[str] | None = None
) -> Decided:
    """Use the link and record the decision as its person, in one transaction. A comment missing
    from a return or a rejection leaves the link usable; any refusal is recorded and passed on."""
    check_comment(outcome, comment)
    used: tuple[str | None, str | None] = (None, None)
    with refusals_recorded(now):
        try:
            with unit_of_work() as session:
                link = use_link(session, token, "decide", now, by=by)
                used = (link.id, link.person_id)
                lock_project(session, str(link.subject.get("project")))
                project, stage = _check(session, link, by)
                try:
                    return decide_in(session, project.id, stage.key, link.person_id, outcome, comment, now, redo)
                except (LinkRefused, FormError):
                    raise
                except RefusedError as refused:
                    raise LinkRefused(str(refused), link.id, link.person_id) from refused
        except IntegrityError as exc:  # a concurrent decision won the unique (stage, round, step)
            raise LinkRefused("本轮已有决定（already decided），此链接不再可用", *used) from exc
