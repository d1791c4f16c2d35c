"""审核: the page of a gate (what is decided, every form read-only, earlier rounds) and its acts —
approve, return with forms to redo, reject after a confirm step, claim a group's step, hand the step
to a qualified colleague. The decider is the signed-in person; the rules and refusals are the
domain's. After a final decision the run is resumed as the CLI does (or later, by serve's reconciler)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from swflow.config.clock import system_clock
from swflow.config.errors import FormError, NotFoundError, RefusedError, SwflowError
from swflow.config.limits import get_limits
from swflow.domain.people.accounts import SignedIn
from swflow.domain.projects.gate_view import gate_view
from swflow.domain.projects.gates import Decided, claim_gate, delegate_gate, record_decision
from swflow.domain.projects.rules import OUTCOME_WORDS

from .door import act, check_csrf, require
from .pages import render

__all__ = ["ROUTES", "resume_decided", "read_comment"]

DONE_WORDS = {
    "approve": "已记录：通过。",
    "step": "已记录：本步通过，已通知下一步的审核人。",
    "return": "已记录：退回修改，已通知社工重新填写。",
    "reject": "已记录：否决。",
    "claim": "您已认领本步审核。",
    "delegate": "已转交，受托人会收到审核通知。",
}
LATER = "流程将在编排服务（swflow serve）运行时接续。"


def read_comment(form: Any) -> str:
    comment = str(form.get("comment") or "")
    if len(comment) > get_limits().longtext_chars:
        raise FormError(f"意见最多 {get_limits().longtext_chars} 个字符", [("comment", "太长")])
    return comment


async def resume_decided(decided: Decided) -> bool:
    """Resume the run of a final decision (False: the server is down or busy; the reconciler will)."""
    if not decided.final or not decided.flow_run_id:
        return True
    from swflow.flows.control import resume_gate

    try:
        return bool(await run_in_threadpool(resume_gate, decided.flow_run_id, decided.decision_id))
    except SwflowError:
        return False


def _where(request: Request) -> tuple[str, str]:
    return str(request.path_params["project"])[:32], str(request.path_params["stage"])[:64]


async def _page(
    request: Request, me: SignedIn, status_code: int = 200, error: str = "", notice: str = "", **extra: Any
) -> Response:
    project, stage = _where(request)
    view = await act(me, gate_view, project, stage, me.person_id, system_clock())
    return render(
        request,
        extra.pop("template", "gate.html"),
        me,
        status_code,
        view=view,
        error=error,
        notice=notice,
        OUTCOME_WORDS=OUTCOME_WORDS,
        **extra,
    )


def _done(request: Request, what: str, resumed: bool = True) -> Response:
    project, stage = _where(request)
    later = "" if resumed else "&later=1"
    return RedirectResponse(f"/gates/{quote(project)}/{quote(stage)}?done={what}{later}", status_code=303)


async def gate_page(request: Request) -> Response:
    me = await require(request)
    notice = DONE_WORDS.get(request.query_params.get("done", ""), "")
    if notice and request.query_params.get("later"):
        notice += LATER
    return await _page(request, me, notice=notice)


async def decide(request: Request) -> Response:
    me = await require(request)
    form = await request.form()
    check_csrf(form, me)
    project, stage = _where(request)
    outcome = str(form.get("outcome") or "")
    if outcome not in OUTCOME_WORDS:
        return await _page(request, me, 400, error="请选择通过、退回修改或否决")
    try:
        comment = read_comment(form)
        redo = [str(f) for f in form.getlist("redo")] if outcome == "return" else []
        if outcome == "reject" and form.get("confirm") != "yes":
            if not comment.strip():
                raise FormError("否决时必须填写意见", [("comment", "必填")])
            return await _page(request, me, template="gate_confirm.html", comment=comment)
        decided = await act(
            me, record_decision, project, stage, me.person_id, outcome, comment, system_clock(), redo or None
        )
    except FormError as problem:
        return await _page(request, me, 400, error=str(problem))
    except RefusedError as refused:
        return await _page(request, me, 403, error=str(refused))
    resumed = await resume_decided(decided)
    return _done(request, outcome if decided.final else "step", resumed)


async def claim(request: Request) -> Response:
    me = await require(request)
    check_csrf(await request.form(), me)
    project, stage = _where(request)
    try:
        await act(me, claim_gate, project, stage, me.person_id, system_clock())
    except RefusedError as refused:
        return await _page(request, me, 403, error=str(refused))
    return _done(request, "claim")


async def delegate(request: Request) -> Response:
    me = await require(request)
    form = await request.form()
    check_csrf(form, me)
    project, stage = _where(request)
    to = str(form.get("to") or "").strip()[:64]
    if not to:
        return await _page(request, me, 400, error="请选择受托人")
    try:
        await act(me, delegate_gate, project, stage, me.person_id, to, system_clock())
    except NotFoundError as unknown:
        return await _page(request, me, 400, error=str(unknown))
    except RefusedError as refused:
        return await _page(request, me, 403, error=str(refused))
    return _done(request, "delegate")


ROUTES = [
    Route("/gates/{project}/{stage}", gate_page, methods=["GET"]),
    Route("/gates/{project}/{stage}/decide", decide, methods=["POST"]),
    Route("/gates/{project}/{stage}/claim", claim, methods=["POST"]),
    Route("/gates/{project}/{stage}/delegate", delegate, methods=["POST"]),
]
