"""质量管理 on the web (§7.3–§7.5): the overview (complaints and incidents not yet closed with the
deadline each waits on, past-deadline ones first; supervision; the report), incidents (report one,
record its follow-up and close it: `swflow incident report|close`), supervision (record a session,
the list as the viewer may read it, coverage, one session for its circle only: `swflow supervision
record|list|show|coverage`) and the quality report `swflow quality report` prints, as a page and as
its HTML file. Every act is the domain's, as the signed-in person through the web door; who may
read and who may act is the domain's too (a session outside the viewer's circle is refused by
`show_session`). Complaints are quality_acts_routes', whose routes are added here."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from swflow.config.clock import SHANGHAI, system_clock
from swflow.config.errors import FormError, NotFoundError, RefusedError
from swflow.domain.people.accounts import SignedIn
from swflow.domain.quality.actions import ACTION_KINDS
from swflow.domain.quality.complaint_views import COMPLAINT_STATUS
from swflow.domain.quality.incidents import close_incident, report_incident
from swflow.domain.quality.quality_views import (
    COVERAGE_STATES,
    MODES,
    incident_form_choices,
    incident_page,
    incident_problems,
    place_session_refusal,
    quality_overview,
    session_form_choices,
    session_page,
    session_problems_at_fields,
    supervision_lists,
    why_not_record,
)
from swflow.domain.quality.report import quality_report, render_quality_html
from swflow.domain.quality.supervision import record_session

from . import quality_acts_routes
from .door import act, require
from .pages import render, sentence_page
from .quality_acts_routes import EVENT_WORDS, Typed, due_of, given, read_form, record_id_of, take

__all__ = ["ROUTES"]

INCIDENT = {
    "kind": "事件类型",
    "severity": "严重程度",
    "occurred_at": "发生时间",
    "place": "发生地点",
    "people_involved": "涉及人员",
    "description": "事件经过",
    "handling": "即时处置",
    "project": "涉及的项目",
}
CLOSE = {"follow_up": "后续跟进"}
SESSION = {"held_on": "督导日期", "mode": "方式", "topics": "主题", "decisions": "决定", "project": "涉及的项目"}
ACTION_COLUMNS = {"owner": "负责人", "due": "期限", "text": "内容"}
ROWS = 3  # follow-up rows on the record page; a row left blank is not recorded
DONE = {
    "reported": "事件已登记。",
    "closed": "已记录后续跟进，事件已结束。",
    "recorded": "督导已记录。",
    "action_done": "行动已标记完成。",
}


def _notice(request: Request) -> str:
    return DONE.get(request.query_params.get("done", ""), "")


def _local(now: datetime) -> str:
    return now.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


async def overview(request: Request) -> Response:
    me = await require(request)
    now = system_clock()
    view = await act(me, quality_overview, me.person_id, now)
    return render(request, "quality.html", me, o=view, due=due_of(now), STATUS=COMPLAINT_STATUS)


# incidents (§7.4)


async def _incident_form(request: Request, me: SignedIn, typed: Typed, status_code: int = 200) -> Response:
    choices = await act(me, incident_form_choices)
    latest = _local(system_clock())
    return render(request, "quality_incident_new.html", me, status_code, choices=choices, t=typed, latest=latest)


async def new_incident(request: Request) -> Response:
    me = await require(request)
    return await _incident_form(request, me, Typed())


async def report_new(request: Request) -> Response:
    me = await require(request)
    form = await read_form(request, me)
    if isinstance(form, Response):
        return form
    typed = Typed()
    values, problems = take(form, typed, "report", INCIDENT)
    status = 400
    if not problems:
        problems = await act(me, incident_problems, given(values))  # every field at once, nothing written
    if not problems:
        try:
            done = await act(me, report_incident, given(values), me.person_id, system_clock())
            told = "&told=1" if done["notified"] else ""
            return RedirectResponse(f"/quality/incidents/{done['id']}?done=reported{told}", status_code=303)
        except FormError as invalid:
            problems = invalid.problems
        except NotFoundError as missing:
            problems = [("project" if str(missing).startswith("没有项目") else "", str(missing))]
        except RefusedError as refused:
            problems, status = [("", str(refused))], 403
    typed.place("report", problems, INCIDENT.get)
    return await _incident_form(request, me, typed, status)


async def _incident(request: Request, me: SignedIn, typed: Typed, status_code: int = 200) -> Response:
    incident_id, now = record_id_of(request, "incident_id"), system_clock()
    try:
        if incident_id is None:
            raise NotFoundError("没有这起事件")
        view = await act(me, incident_page, incident_id, me.person_id, now)  # refuses outside its circle
    except NotFoundError as missing:
        return sentence_page(request, "找不到事件记录", str(missing), me, 404, back="/quality")
    except RefusedError as refused:
        return sentence_page(request, "不能查看这起事件", str(refused), me, 403, back="/quality")
    notice = _notice(request) if status_code == 200 else ""
    if notice and request.query_params.get("told"):
        notice += "已立即通知督导和机构负责人（紧急消息，不等工作时间）。"
    return render(
        request,
        "quality_incident.html",
        me,
        status_code,
        i=view,
        t=typed,
        notice=notice,
        due=due_of(now),
        EVENT_WORDS=EVENT_WORDS,
    )


async def incident(request: Request) -> Response:
    me = await require(request)
    return await _incident(request, me, Typed())


async def close(request: Request) -> Response:
    me = await require(request)
    form = await read_form(request, me)
    if isinstance(form, Response):
        return form
    incident_id = record_id_of(request, "incident_id")
    typed = Typed()
    values, problems = take(form, typed, "close", CLOSE)
    status = 400
    if not problems and incident_id is not None:
        try:
            await act(me, close_incident, incident_id, me.person_id, values["follow_up"], system_clock())
            return RedirectResponse(f"/quality/incidents/{incident_id}?done=closed", status_code=303)
        except FormError as invalid:
            problems = invalid.problems
        except RefusedError as refused:
            problems, status = [("", str(refused))], 403
        except NotFoundError:
            pass  # the page says so
    typed.place("close", problems, CLOSE.get)
    return await _incident(request, me, typed, status)


# supervision (§7.3)


async def supervision(request: Request) -> Response:
    me = await require(request)
    now = system_clock()
    person = request.query_params.get("person", "").strip()[:200] or None  # `supervision list --person`
    view = await act(me, supervision_lists, me.person_id, now, person)
    return render(
        request,
        "quality_supervision.html",
        me,
        s=view,
        person=person or "",
        notice=_notice(request),
        MODES=MODES,
        STATES=COVERAGE_STATES,
    )


async def _session_form(request: Request, me: SignedIn, typed: Typed, status_code: int = 200) -> Response:
    now = system_clock()
    choices = await act(me, session_form_choices, now)
    return render(
        request,
        "quality_session_new.html",
        me,
        status_code,
        choices=choices,
        t=typed,
        rows=range(ROWS),
        MODES=MODES,
        STATES=COVERAGE_STATES,
        today=now.astimezone(SHANGHAI).date().isoformat(),
    )


async def _may_record(request: Request, me: SignedIn) -> Response | None:
    refused = await act(me, why_not_record, me.person_id, system_clock())
    return (
        None
        if refused is None
        else sentence_page(request, "不能记录督导", refused, me, 403, back="/quality/supervision")
    )


async def new_session(request: Request) -> Response:
    me = await require(request)
    if (refused := await _may_record(request, me)) is not None:
        return refused
    today = system_clock().astimezone(SHANGHAI).date().isoformat()
    return await _session_form(request, me, Typed(values={"session.held_on": today, "session.mode": "individual"}))


def _session_data(form: Any, typed: Typed) -> tuple[dict[str, Any], list[int], list[tuple[str, str]]]:
    """The record the page's fields make (blank fields and rows left out), the page row of each
    follow-up recorded, and the fields longer than swflow accepts."""
    values, problems = take(form, typed, "session", SESSION)
    supervisees = list(dict.fromkeys(str(p)[:200] for p in form.getlist("supervisees") if str(p)))
    typed.many["session.supervisees"] = supervisees
    data: dict[str, Any] = {"supervisees": supervisees, **given(values)}
    data["topics"] = [line.strip() for line in values["topics"].splitlines() if line.strip()]
    data["decisions"] = values["decisions"]
    actions, rows = [], []
    for n in range(ROWS):
        cells, too_long = take(form, typed, "session", [f"actions.{n}.{c}" for c in ACTION_COLUMNS])
        problems += too_long
        if any(v.strip() for v in cells.values()):
            actions.append({k.rsplit(".", 1)[1]: v for k, v in given(cells).items()})
            rows.append(n)
    data["actions"] = actions
    return data, rows, problems


def _at_page_rows(problems: list[tuple[str, str]], rows: list[int]) -> list[tuple[str, str]]:
    """A follow-up's problem (`actions.<i>.<column>`, i among those recorded) at its row of the page;
    a list's item (`topics.0`) at its list."""
    placed = []
    for where, rule in problems:
        parts = where.split(".")
        if parts[0] == "actions" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(rows):
            where = f"actions.{rows[int(parts[1])]}.{parts[2]}"
        elif parts[0] in ("topics", "supervisees"):
            where = parts[0]
        placed.append((where, rule))
    return placed


def _session_title(where: str) -> str | None:
    parts = where.split(".")
    if parts[0] == "actions" and len(parts) == 3 and parts[2] in ACTION_COLUMNS:
        return f"第 {int(parts[1]) + 1} 项跟进事项的{ACTION_COLUMNS[parts[2]]}"
    return {"supervisees": "被督导者", **SESSION}.get(where)


async def record_new(request: Request) -> Response:
    me = await require(request)
    form = await read_form(request, me)
    if isinstance(form, Response):
        return form
    if (refused := await _may_record(request, me)) is not None:
        return refused
    typed, now, status = Typed(), system_clock(), 400
    data, rows, problems = _session_data(form, typed)
    if not problems:
        problems = await act(me, session_problems_at_fields, data, me.person_id, now)
    if not problems:
        try:
            session_id = await act(me, record_session, data, me.person_id, now)
            return RedirectResponse(f"/quality/supervision/{session_id}?done=recorded", status_code=303)
        except FormError as invalid:
            problems = invalid.problems
        except (NotFoundError, RefusedError) as refused_act:
            problems, status = place_session_refusal(str(refused_act), data), 403
    typed.place("session", _at_page_rows(problems, rows), _session_title)
    return await _session_form(request, me, typed, status)


async def session(request: Request) -> Response:
    me = await require(request)
    session_id = record_id_of(request, "session_id")
    try:
        if session_id is None:
            raise NotFoundError("没有这次督导记录")
        view = await act(me, session_page, session_id, me.person_id)  # refuses outside its circle
    except NotFoundError as missing:
        return sentence_page(request, "找不到督导记录", str(missing), me, 404, back="/quality/supervision")
    except RefusedError as refused:
        return sentence_page(request, "不能查看这次督导", str(refused), me, 403, back="/quality/supervision")
    return render(
        request,
        "quality_session.html",
        me,
        v=view,
        notice=_notice(request),
        due=due_of(system_clock()),
        MODES=MODES,
        EVENT_WORDS=EVENT_WORDS,
        ACTION_KINDS=ACTION_KINDS,
    )


# the quality report (`swflow quality report [--from --to] [--html FILE]`)


def _period(request: Request, typed: Typed) -> tuple[date | None, date | None]:
    """The period's dates as typed (`from`, `to`, inclusive; `to` defaults to today); a bad one at its field."""
    found: list[date | None] = []
    for name, title in (("from", "起始日期"), ("to", "截止日期")):
        raw = request.query_params.get(name, "").strip()[:40]
        typed.values[f"period.{name}"] = raw
        try:
            found.append(date.fromisoformat(raw) if raw else None)
        except ValueError:
            typed.place("period", [(name, "必须是日期（YYYY-MM-DD）")], {name: title}.get)
            found.append(None)
    return found[0], found[1]


async def report(request: Request) -> Response:
    me = await require(request)
    typed, now = Typed(), system_clock()
    start, end = _period(request, typed)
    if typed.errs:
        return render(request, "quality_report.html", me, 400, r=None, t=typed, file_link="")
    data = await act(me, quality_report, now, start, end)
    query = urlencode({k: v for k, v in (("from", start), ("to", end)) if v is not None})
    link = f"/quality/report.html?{query}" if query else "/quality/report.html"
    return render(
        request,
        "quality_report.html",
        me,
        r=data,
        t=typed,
        file_link=link,
        STATES=COVERAGE_STATES,
        STATUS=COMPLAINT_STATUS,
    )


async def report_file(request: Request) -> Response:
    """The report as `--html FILE` writes it, to save or forward."""
    me = await require(request)
    typed = Typed()
    start, end = _period(request, typed)
    if typed.errs:
        return sentence_page(
            request, "输入有误", "；".join(r for _, r in typed.listed), me, 400, back="/quality/report"
        )
    data = await act(me, quality_report, system_clock(), start, end)
    page = await act(me, render_quality_html, data)
    name = f"quality-report-{data['period']['to']}.html"
    return HTMLResponse(page, headers={"Content-Disposition": f'attachment; filename="{name}"'})


ROUTES = [
    Route("/quality", overview, methods=["GET"]),
    Route("/quality/report", report, methods=["GET"]),
    Route("/quality/report.html", report_file, methods=["GET"]),
    Route("/quality/incidents/new", new_incident, methods=["GET"]),
    Route("/quality/incidents/new", report_new, methods=["POST"]),
    Route("/quality/incidents/{incident_id:int}", incident, methods=["GET"]),
    Route("/quality/incidents/{incident_id:int}/close", close, methods=["POST"]),
    Route("/quality/supervision", supervision, methods=["GET"]),
    Route("/quality/supervision/new", new_session, methods=["GET"]),
    Route("/quality/supervision/new", record_new, methods=["POST"]),
    Route("/quality/supervision/{session_id:int}", session, methods=["GET"]),
    *quality_acts_routes.ROUTES,
]
