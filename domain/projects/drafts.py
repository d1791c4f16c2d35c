"""Drafts: what a worker typed into a form and saved without submitting (Flowable's "save form"), so
a phone that loses its signal keeps the work.

A draft is the worker's own scratch, not a record of the agency: saving or discarding one appends
no event and writes no outbox row (nothing was decided, nobody is told; the submission is what the
archive keeps). Only the person who may submit the item may keep a draft of it. A draft holds the
form's inputs as typed — names of the page's inputs mapped to lists of strings — checked against the
input limits, never against the form's rules (a half-typed number is still a draft)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from swflow.config.errors import FormError
from swflow.config.limits import check_value
from swflow.db.engine import read_session, unit_of_work
from swflow.db.web_tables import FormDraft
from swflow.domain.projects.work import Submitted, submit_form
from swflow.domain.projects.work_view import check_may_fill

__all__ = ["save_draft", "discard_draft", "submit_work_item", "MAX_DRAFT_INPUTS"]

MAX_DRAFT_INPUTS = 2_000  # inputs of one page: a table of a few hundred cells fits


def _checked(inputs: dict[str, list[str]]) -> dict[str, list[str]]:
    if len(inputs) > MAX_DRAFT_INPUTS:
        raise FormError(f"草稿：最多 {MAX_DRAFT_INPUTS} 项输入", [("(草稿)", f"最多 {MAX_DRAFT_INPUTS} 项输入")])
    if not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(s, str) for s in v) for k, v in inputs.items()
    ):
        raise FormError("草稿：输入必须是文字", [("(草稿)", "必须是文字")])
    check_value(inputs, "草稿")
    return {k: list(v) for k, v in inputs.items()}


def save_draft(item_id: int, person_id: str, inputs: dict[str, list[str]], now: datetime) -> datetime:
    """Keep (or replace) the person's draft of the work item, in one transaction; no event."""
    clean = _checked(inputs)
    with unit_of_work() as session:
        check_may_fill(session, item_id, person_id)
        draft = session.get(FormDraft, (person_id, item_id))
        if draft is None:
            session.add(FormDraft(person_id=person_id, work_item_id=item_id, data=clean, saved_at=now))
        else:
            draft.data, draft.saved_at = clean, now
        return now


def discard_draft(item_id: int, person_id: str) -> bool:
    """Remove the person's draft of the item (if any); no event."""
    with unit_of_work() as session:
        draft = session.get(FormDraft, (person_id, item_id))
        if draft is None:
            return False
        session.delete(draft)
        return True


def submit_work_item(item_id: int, person_id: str, data: Any, now: datetime) -> Submitted:
    """Submit the form of one work item (`submit_form`, its rules and its events), then drop the
    draft it was typed from. Two transactions: `submit_form` opens its own; if the second fails,
    what stays is a draft of a form already in, never a submission lost."""
    with read_session() as session:
        item, _stage, project = check_may_fill(session, item_id, person_id)
        project_id, form_id, activity = project.id, item.form_id, item.activity
    submitted = submit_form(project_id, form_id, person_id, data, now, activity)
    discard_draft(item_id, person_id)
    return submitted
