"""A survey's page (issue 16): the team enters one paper questionnaire at a time, or uploads the sheet a
survey website or Excel produced; every bad answer, cell and respondent is named at once and nothing is
recorded when anything is wrong (`record_responses`, all or nothing). The person recording is the
signed-in one; the page keeps what was typed when a response is refused."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from swflow.config.clock import system_clock
from swflow.config.errors import FormError, NotFoundError
from swflow.config.limits import get_limits
from swflow.domain.people.accounts import SignedIn
from swflow.domain.projects.survey_view import SurveyView, survey_view
from swflow.domain.projects.surveys import Answered, record_responses, sheet_answers
from swflow.forms_spec.sheets import parse_sheet

from .door import act, check_csrf, require
from .pages import render, sentence_page

__all__ = ["ROUTES"]

WAVES = {"needs": "需求调查", "baseline": "基线（前测）", "post": "后测"}


def _page(
    request: Request,
    me: SignedIn,
    view: SurveyView,
    typed: dict[str, list[str]] | None = None,
    problems: list[tuple[str, str]] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    wave = WAVES.get(view.wave, view.wave)
    return render(request, "survey.html", me, status_code, v=view, wave=wave, typed=typed or {},
                  problems=problems or [], notice=notice)  # fmt: skip


async def _view(request: Request, me: SignedIn) -> SurveyView | Response:
    project_id, key = request.path_params["project_id"], request.path_params["key"]
    try:
        return await act(me, survey_view, project_id, key, me.person_id)
    except NotFoundError as missing:
        return sentence_page(request, "找不到问卷", str(missing), me, 404)


async def show(request: Request) -> Response:
    me = await require(request)
    view = await _view(request, me)
    if isinstance(view, Response):
        return view
    recorded = request.query_params.get("recorded", "")
    notice = f"已录入 {recorded} 份回答。" if recorded.isdigit() else ""
    return _page(request, me, view, notice=notice)


def _answered(form: Any) -> tuple[Answered, dict[str, list[str]]]:
    """One paper questionnaire from the page: `a.<answer key>` (a multiple choice may repeat), `attr.<key>`."""
    typed: dict[str, list[str]] = {}
    for name, value in form.multi_items():
        if isinstance(value, str) and name != "csrf":
            typed.setdefault(name, []).append(value)
    answers: dict[str, Any] = {}
    for name, values in typed.items():
        picked = [v for v in values if v.strip()]
        if name.startswith("a.") and picked:
            answers[name[2:]] = picked if len(picked) > 1 else picked[0]  # a multiple choice repeats its name
    facts = {name[5:]: values[0] for name, values in typed.items() if name.startswith("attr.")}
    first = {name: values[0] for name, values in typed.items()}
    given = Answered(first.get("respondent", ""), first.get("answered_on", ""), answers, "本问卷",
                     first.get("group") or None, facts)  # fmt: skip
    return given, typed


async def enter(request: Request) -> Response:
    me = await require(request)
    form = await request.form(max_fields=2_000, max_files=0)
    check_csrf(form, me)
    view = await _view(request, me)
    if isinstance(view, Response):
        return view
    given, typed = _answered(form)
    try:
        count = await act(me, record_responses, view.project_id, view.key, me.person_id, [given], system_clock())
    except FormError as problem:
        return _page(request, me, view, typed, problem.problems, status_code=400)
    return RedirectResponse(f"/projects/{view.project_id}/surveys/{view.key}?recorded={count}", status_code=303)


async def upload(request: Request) -> Response:
    me = await require(request)
    limit = get_limits().input_bytes
    if int(request.headers.get("content-length") or 0) > limit + 64 * 1024:
        return sentence_page(request, "文件过大", f"一次上传不能超过 {limit} 字节。", me, 413)
    form = await request.form(max_fields=10, max_files=1)
    check_csrf(form, me)
    view = await _view(request, me)
    if isinstance(view, Response):
        return view
    sheet, day = form.get("sheet"), str(form.get("answered_on") or "").strip() or None
    try:
        if not isinstance(sheet, UploadFile) or not sheet.filename:
            raise FormError("请选择要上传的回答表（.xlsx 或 .csv）", [("回答表", "请选择文件")])
        raw = await sheet.read(limit + 1)
        if len(raw) > limit:
            raise FormError(f"{sheet.filename}：超过 {limit} 字节", [("回答表", "文件过大")])
        headers, rows = parse_sheet(sheet.filename, raw)
        given = await act(me, sheet_answers, view.project_id, view.key, headers, rows, day)
        count = await act(me, record_responses, view.project_id, view.key, me.person_id, given, system_clock())
    except FormError as problem:
        return _page(request, me, view, None, problem.problems, status_code=400)
    return RedirectResponse(f"/projects/{view.project_id}/surveys/{view.key}?recorded={count}", status_code=303)


ROUTES = [
    Route("/projects/{project_id}/surveys/{key}", show, methods=["GET"]),
    Route("/projects/{project_id}/surveys/{key}", enter, methods=["POST"]),
    Route("/projects/{project_id}/surveys/{key}/sheet", upload, methods=["POST"]),
]
