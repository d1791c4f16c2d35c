"""A work item's form: open it (the assignee only — the domain says who), submit it, save a draft.

GET shows the form of the pinned forms_snapshot, filled from a saved draft, this round's submission
or (a revision round) the previous round's values under the supervisor's comment. POST parses the
page back into the data `submit_form` checks; a FormError puts every rule at its field and keeps what
was typed. A draft keeps what was typed as typed, whatever its rules say."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from swflow.config.clock import local_text, system_clock
from swflow.config.errors import FormError, NotFoundError
from swflow.config.limits import LARGEST_ID, get_limits
from swflow.domain.people.accounts import SignedIn
from swflow.domain.projects.drafts import save_draft, submit_work_item
from swflow.domain.projects.work_view import WorkItemView, work_item_view
from swflow.forms_spec import FormSpec

from .door import act, check_csrf, require
from .forms import FormState, Inputs, from_data, normalise, place_problems, read_inputs, sheet_rows, to_data
from .pages import render, sentence_page

__all__ = ["ROUTES"]

ANCHOR = re.compile(r"^f\.[a-z][a-z0-9_]*$")
PAGE_SLACK = 1024 * 1024  # the page's own fields around an uploaded file


def _page(
    request: Request,
    me: SignedIn,
    view: WorkItemView,
    inputs: Inputs,
    status_code: int = 200,
    problems: list[tuple[str, str]] | None = None,
    notice: str = "",
) -> Response:
    form = FormSpec.model_validate(view.form)
    placed, unplaced = place_problems(problems or [])
    return render(
        request,
        "work.html",
        me,
        status_code,
        view=view,
        form=form,
        st=FormState(inputs, placed),
        problems=problems or [],
        unplaced=unplaced,
        notice=notice,
        has_files=any(
            f.type == "attachment" or any(c.type == "attachment" for c in f.columns or ()) for f in form.fields
        ),
    )


async def _view(request: Request, me: SignedIn) -> WorkItemView | Response:
    item_id = int(request.path_params["item_id"])
    try:
        if item_id > LARGEST_ID:
            raise NotFoundError(f"没有待办事项 {item_id}")
        return await act(me, work_item_view, item_id, me.person_id)
    except NotFoundError as missing:
        return sentence_page(request, "找不到待办", str(missing), me, 404)


def _starting_inputs(view: WorkItemView) -> Inputs:
    """A draft as typed; else this round's submission; else the previous round's values; else an empty
    form with the values the project's surveys compute."""
    if view.draft is not None:
        return {str(k): [str(v) for v in values] for k, values in view.draft.items()}
    data = view.submitted or view.previous
    form = FormSpec.model_validate(view.form)
    if data:
        return from_data(form, data)
    inputs = sheet_rows(form)  # an empty form: what the surveys compute is filled in
    return inputs | {f"f.{name}": [f"{value:g}"] for name, value in view.prefill.items()}


async def _posted(request: Request, me: SignedIn) -> tuple[WorkItemView, Inputs, Any] | Response:
    size = int(request.headers.get("content-length") or 0)
    limit = get_limits().input_bytes
    if size > limit + PAGE_SLACK:
        return sentence_page(request, "内容过大", f"一次提交不能超过 {limit} 字节（附件也算在内）。", me, 413)
    form: Any = await request.form(max_fields=5_000, max_files=50)
    check_csrf(form, me)
    view = await _view(request, me)
    if isinstance(view, Response):
        return view
    spec = FormSpec.model_validate(view.form)
    try:
        inputs = normalise(spec, await read_inputs(form))
    except FormError as problem:
        return _page(request, me, view, _starting_inputs(view), 400, problem.problems)
    return view, inputs, form


async def show(request: Request) -> Response:
    me = await require(request)
    view = await _view(request, me)
    if isinstance(view, Response):
        return view
    notice = ""
    if request.query_params.get("saved") and view.draft_saved_at is not None:
        notice = f"草稿已保存（{local_text(view.draft_saved_at)}）。"
    return _page(request, me, view, _starting_inputs(view), notice=notice)


async def submit(request: Request) -> Response:
    me = await require(request)
    posted = await _posted(request, me)
    if isinstance(posted, Response):
        return posted
    view, inputs, _form = posted
    data = to_data(FormSpec.model_validate(view.form), inputs)
    try:
        await act(me, submit_work_item, view.item_id, me.person_id, data, system_clock())
    except FormError as problem:
        return _page(request, me, view, inputs, 400, problem.problems)
    return RedirectResponse(f"/?submitted={view.item_id}", status_code=303)


async def draft(request: Request) -> Response:
    me = await require(request)
    posted = await _posted(request, me)
    if isinstance(posted, Response):
        return posted
    view, inputs, form = posted
    try:
        await act(me, save_draft, view.item_id, me.person_id, inputs, system_clock())
    except FormError as problem:
        return _page(request, me, view, inputs, 400, problem.problems)
    table = str(form.get("_add_row") or "")
    anchor = f"#w-{table}" if ANCHOR.match(table) else ""
    return RedirectResponse(f"/work/{view.item_id}?saved=1{anchor}", status_code=303)


ROUTES = [
    Route("/work/{item_id:int}", show, methods=["GET"]),
    Route("/work/{item_id:int}", submit, methods=["POST"]),
    Route("/work/{item_id:int}/draft", draft, methods=["POST"]),
]
