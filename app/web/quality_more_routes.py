"""The quality acts the web lacked: every corrective, preventive and follow-up action as `swflow quality
actions [--owner] [--open]` lists it (past-due ones first; each links to the record it belongs to and
is marked done by quality_acts_routes' `/quality/actions/<id>/done`), the risk rules' periodic review
`swflow incident review-rules [--note]` with its due date, and the overview's complaint and incident
lists for a period (`complaint list` / `incident list --from --to`). Every act is the domain's, as the
signed-in person through the web door; who may review the rules is the act's to decide."""

from __future__ import annotations

from datetime import date

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from swflow.config.clock import system_clock
from swflow.config.errors import FormError, NotFoundError, RefusedError
from swflow.domain.people.accounts import SignedIn
from swflow.domain.quality.actions import ACTION_KINDS
from swflow.domain.quality.complaint_views import COMPLAINT_STATUS
from swflow.domain.quality.incidents import review_risk_rules
from swflow.domain.quality.quality_more_views import action_listing, owner_problems, period_lists, risk_review_page
from swflow.domain.quality.quality_views import quality_overview

from .door import act, require
from .pages import render
from .quality_acts_routes import Typed, due_of, read_form, take

__all__ = ["ROUTES"]

FILTER = {"owner": "负责人"}
REVIEW = {"note": "检讨说明"}
PERIOD = {"from": "起始日期", "to": "截止日期"}
STATES = {"open": "未完成", "done": "已完成"}


async def actions(request: Request) -> Response:
    """`quality actions --as <me> [--owner X] [--open]`; 只看我的 is `--owner <me>`."""
    me = await require(request)
    typed, now, status = Typed(), system_clock(), 200
    owner = request.query_params.get("owner", "").strip()[:200]
    open_only = request.query_params.get("open", "") == "1"
    typed.values |= {"filter.owner": owner, "filter.open": "1" if open_only else ""}
    if owner and (problems := await act(me, owner_problems, owner)):
        typed.place("filter", problems, FILTER.get)
        status = 400
    listing = await act(me, action_listing, me.person_id, now, None if status == 400 else owner or None, open_only)
    if status == 400:
        listing["rows"] = []  # an unknown owner has no actions: the field says why
    return render(
        request,
        "quality_more_actions.html",
        me,
        status,
        a=listing,
        t=typed,
        mine=owner == me.person_id,
        due=due_of(now),
        KINDS=ACTION_KINDS,
        STATES=STATES,
    )


async def _review_page(request: Request, me: SignedIn, typed: Typed, status_code: int = 200) -> Response:
    now = system_clock()
    view = await act(me, risk_review_page, now)
    notice = (
        "已记录风险管理制度检讨，并已安排下次检讨。" if status_code == 200 and request.query_params.get("done") else ""
    )
    return render(request, "quality_more_review.html", me, status_code, r=view, t=typed, notice=notice, due=due_of(now))


async def review(request: Request) -> Response:
    me = await require(request)
    return await _review_page(request, me, Typed())


async def review_done(request: Request) -> Response:
    """`incident review-rules --by <me> --note …`: the act decides who may (the director)."""
    me = await require(request)
    form = await read_form(request, me)
    if isinstance(form, Response):
        return form
    typed = Typed()
    values, problems = take(form, typed, "review", REVIEW)
    status = 400
    if not problems:
        try:
            await act(me, review_risk_rules, me.person_id, values["note"], system_clock())
            return RedirectResponse("/quality/risk-review?done=1", status_code=303)
        except FormError as invalid:
            problems = invalid.problems
        except (NotFoundError, RefusedError) as refused:
            problems, status = [("", str(refused))], 403
    typed.place("review", problems, REVIEW.get)
    return await _review_page(request, me, typed, status)


def _period(request: Request, typed: Typed) -> tuple[date | None, date | None]:
    """`--from` and `--to` as typed (days, inclusive); a bad one at its field."""
    found: list[date | None] = []
    for name, title in PERIOD.items():
        raw = request.query_params.get(name, "").strip()[:40]
        typed.values[f"period.{name}"] = raw
        try:
            found.append(date.fromisoformat(raw) if raw else None)
        except ValueError:
            typed.place("period", [(name, "必须是日期（YYYY-MM-DD）")], {name: title}.get)
            found.append(None)
    start, end = found
    if start and end and end < start:
        typed.place("period", [("to", "不能早于起始日期")], PERIOD.get)
    return start, end


async def lists(request: Request) -> Response:
    """The overview with its complaint and incident lists for the period typed."""
    me = await require(request)
    typed, now = Typed(), system_clock()
    start, end = _period(request, typed)
    view = await act(me, quality_overview, me.person_id, now)
    if not typed.errs:
        view |= await act(me, period_lists, now, start, end)
    status = 400 if typed.errs else 200
    return render(request, "quality.html", me, status, o=view, due=due_of(now), STATUS=COMPLAINT_STATUS, period=typed)


ROUTES = [
    Route("/quality/actions", actions, methods=["GET"]),
    Route("/quality/risk-review", review, methods=["GET"]),
    Route("/quality/risk-review", review_done, methods=["POST"]),
    Route("/quality/lists", lists, methods=["GET"]),
]
