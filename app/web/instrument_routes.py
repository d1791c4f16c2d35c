"""A form's and an instrument's definition pages (the web door's `swflow forms show` and `swflow instruments
show|score|check|compare`): a form's fields, conditions, cross-field rules and a preview drawn with the
work page's own field macros; an instrument's source, licence, scales, items and scores; and three tools
that save nothing — scoring one respondent's answers (计分试算), checking a sheet of responses and
summarising it, comparing a baseline sheet with a post sheet. Reading is for the people who design
projects (`why_not_view_definitions`; anyone else is refused with a sentence); the 修改 link is the
director's. Every rule and statistic is forms_spec's, put into words by `domain.agency.instrument_views`."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from swflow.config.errors import FormError, NotFoundError, RefusedError
from swflow.config.limits import get_limits
from swflow.domain.agency.definitions_admin import why_not_define, why_not_view_definitions
from swflow.domain.agency.instrument_views import (
    Tried,
    check_sheet,
    compare_sheets,
    form_view,
    instrument_view,
    try_answers,
)
from swflow.domain.people.accounts import SignedIn
from swflow.forms_spec import get_form
from swflow.forms_spec.instrument import Instrument, get_instrument

from .door import act, check_csrf, require
from .forms import FormState, sheet_rows
from .pages import render, sentence_page

__all__ = ["ROUTES"]

ANSWERS_BYTES = 256 * 1024  # one respondent's answers typed into the page
ANSWER_CHARS = 2_000  # any one answer, as typed (check_answers says the real limit)
TOOLS = {"score": "计分试算", "check": "检查回答表", "compare": "前后测比较"}


async def _may_view(me: SignedIn) -> bool:
    """Refuses anyone but the people who design projects; says whether the viewer may 修改."""
    if (refused := await act(me, why_not_view_definitions, me.person_id)) is not None:
        raise RefusedError(refused)
    return await act(me, why_not_define, me.person_id) is None


def _not_found(request: Request, me: SignedIn, missing: NotFoundError) -> Response:
    return sentence_page(request, "找不到定义", str(missing), me, 404, back="/definitions")


async def form_page(request: Request) -> Response:
    me = await require(request)
    may_define = await _may_view(me)
    try:
        form = get_form(str(request.path_params["form_id"]))
    except NotFoundError as missing:
        return _not_found(request, me, missing)
    view = form_view(form)
    return render(request, "definition_form.html", me, v=view, may_define=may_define,
                  st=FormState(sheet_rows(form)))  # fmt: skip


def _instrument(request: Request) -> Instrument:
    return get_instrument(str(request.path_params["instrument_id"]))


async def instrument_page(request: Request) -> Response:
    me = await require(request)
    may_define = await _may_view(me)
    try:
        instrument = _instrument(request)
    except NotFoundError as missing:
        return _not_found(request, me, missing)
    return render(request, "definition_instrument.html", me, v=instrument_view(instrument), may_define=may_define,
                  tools=TOOLS)  # fmt: skip


EMPTY_TOOL: dict[str, Any] = {"typed": {}, "tried": None, "checked": None, "compared": None, "score": ""}  # first view


def _tool_page(
    request: Request, me: SignedIn, instrument: Instrument, tool: str, status_code: int = 200, **context: Any
) -> Response:
    return render(request, f"definition_instrument_{tool}.html", me, status_code, v=instrument_view(instrument),
                  tool=tool, tools=TOOLS, **(EMPTY_TOOL | context))  # fmt: skip


async def _posted(request: Request, me: SignedIn, most_bytes: int, files: int) -> FormData | Response:
    """The posted form, bounded, its CSRF token checked, and the viewer allowed (in that order)."""
    if int(request.headers.get("content-length") or 0) > most_bytes:
        return sentence_page(request, "提交过大", f"一次提交不能超过 {most_bytes} 字节。", me, 413,
                             back=request.url.path)  # fmt: skip
    form = await request.form(max_fields=2_000, max_files=files)
    check_csrf(form, me)
    await _may_view(me)
    return form


async def _tool_post(
    request: Request, me: SignedIn, most_bytes: int, files: int
) -> tuple[FormData, Instrument] | Response:
    """A tool's POST: the bounded, CSRF-checked form of an allowed viewer, and the instrument of the address."""
    form = await _posted(request, me, most_bytes, files)
    if isinstance(form, Response):
        return form
    try:
        return form, _instrument(request)
    except NotFoundError as missing:
        return _not_found(request, me, missing)


async def tool_page(request: Request) -> Response:
    me = await require(request)
    await _may_view(me)
    try:
        instrument = _instrument(request)
    except NotFoundError as missing:
        return _not_found(request, me, missing)
    tool = request.url.path.rsplit("/", 1)[1]
    return _tool_page(request, me, instrument, tool)


def _typed(form: FormData) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """`a.<answer key>` inputs (a multiple choice repeats its name) as answers, and as typed."""
    typed: dict[str, list[str]] = {}
    for name, value in form.multi_items():
        if isinstance(value, str) and name.startswith("a.") and len(name) <= 90:
            typed.setdefault(name, []).append(value[:ANSWER_CHARS])
    given: dict[str, Any] = {}
    for name, values in typed.items():
        picked = [v for v in values if v.strip()]
        if picked:
            given[name[2:]] = picked if len(picked) > 1 else picked[0]
    return given, typed


async def score(request: Request) -> Response:
    me = await require(request)
    posted = await _tool_post(request, me, ANSWERS_BYTES, 0)
    if isinstance(posted, Response):
        return posted
    form, instrument = posted
    given, typed = _typed(form)
    multichoice = {i.key for i in instrument.items if i.kind == "multichoice"}
    given = {k: ([v] if k in multichoice and isinstance(v, str) else v) for k, v in given.items()}
    tried: Tried = try_answers(instrument, given)
    return _tool_page(request, me, instrument, "score", 400 if tried.count else 200, typed=typed, tried=tried)


async def _upload(form: FormData, name: str, what: str) -> tuple[str, bytes]:
    """One uploaded sheet's name and bytes, or a FormError saying what is wrong with it."""
    limit = get_limits().input_bytes
    sheet = form.get(name)
    if not isinstance(sheet, UploadFile) or not sheet.filename:
        raise FormError(f"请选择{what}（.xlsx 或 .csv）")
    raw = await sheet.read(limit + 1)
    if len(raw) > limit:
        raise FormError(f"{sheet.filename}：{what}超过 {limit} 字节")
    return sheet.filename[:200], raw


async def check(request: Request) -> Response:
    me = await require(request)
    limit = get_limits().input_bytes
    posted = await _tool_post(request, me, limit + 64 * 1024, 1)
    if isinstance(posted, Response):
        return posted
    form, instrument = posted
    try:
        name, raw = await _upload(form, "sheet", "回答表")
    except FormError as bad:
        return _tool_page(request, me, instrument, "check", 400, refusal=str(bad))
    checked = await act(me, check_sheet, instrument, name, raw)
    return _tool_page(request, me, instrument, "check", 400 if checked.problems else 200, checked=checked,
                      filename=name)  # fmt: skip


async def compare(request: Request) -> Response:
    me = await require(request)
    limit = get_limits().input_bytes
    posted = await _tool_post(request, me, 2 * limit + 64 * 1024, 2)
    if isinstance(posted, Response):
        return posted
    form, instrument = posted
    chosen = str(form.get("score") or "")[:40]
    try:
        baseline = await _upload(form, "baseline", "前测回答表")
        post = await _upload(form, "post", "后测回答表")
    except FormError as bad:
        return _tool_page(request, me, instrument, "compare", 400, score=chosen, refusal=str(bad))
    compared = await act(me, compare_sheets, instrument, chosen, baseline, post)
    return _tool_page(request, me, instrument, "compare", 400 if compared.problems else 200, compared=compared,
                      score=chosen)  # fmt: skip


ROUTES = [
    Route("/definitions/forms/{form_id}", form_page, methods=["GET"]),
    Route("/definitions/instruments/{instrument_id}", instrument_page, methods=["GET"]),
    Route("/definitions/instruments/{instrument_id}/score", tool_page, methods=["GET"]),
    Route("/definitions/instruments/{instrument_id}/score", score, methods=["POST"]),
    Route("/definitions/instruments/{instrument_id}/check", tool_page, methods=["GET"]),
    Route("/definitions/instruments/{instrument_id}/check", check, methods=["POST"]),
    Route("/definitions/instruments/{instrument_id}/compare", tool_page, methods=["GET"]),
    Route("/definitions/instruments/{instrument_id}/compare", compare, methods=["POST"]),
]
