"""一键审核: the signed link of an approval request. Opening it (GET) shows what it would decide and
acts on nothing — mail scanners open links. Deciding is a POST of that page, carrying a token bound
to the page (the person need not be signed in), and records the decision as the link's person,
marked `via: link`. Every refusal is a sentence, and recorded by the domain."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from swflow.config.clock import system_clock
from swflow.config.errors import FormError, SwflowError
from swflow.config.settings import get_settings
from swflow.domain.people.accounts import SignedIn
from swflow.domain.people.links import LinkRefused
from swflow.domain.projects.link_decisions import LinkGate, decide_by_link, open_decide_link
from swflow.domain.projects.rules import OUTCOME_WORDS

from .door import act, signed_in
from .gate_routes import LATER, read_comment, resume_decided
from .pages import render, sentence_page

__all__ = ["ROUTES", "PRIVATE", "page_token", "stale_page"]

PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}  # the token stays off logs and caches


def page_token(token: str) -> str:
    """The token the link's page carries into its POST: an HMAC of the link token with the web secret."""
    secret = get_settings().web_secret
    if secret is None:
        raise SwflowError("尚未生成签名密钥：请先运行 `swflow serve`")
    key = secret.get_secret_value().encode()
    return hmac.new(key, b"swflow-link-page:" + token.encode(), hashlib.sha256).hexdigest()


def stale_page(request: Request, form: Any, token: str, me: SignedIn | None) -> Response | None:
    """The refusal of a POST whose page token is missing or not this link's, or None when it fits."""
    if hmac.compare_digest(str(form.get("page") or "").encode(), page_token(token).encode()):
        return None
    return sentence_page(request, "请求已失效", "缺少或不符的页面令牌：请重新打开消息中的链接后再确认。", me, 403)


def _refused(request: Request, refused: LinkRefused, me: SignedIn | None) -> Response:
    page = sentence_page(request, "链接不能使用", str(refused), me, 403)
    page.headers.update(PRIVATE)
    return page


def _confirm(
    request: Request, me: SignedIn | None, gate: LinkGate, token: str, status_code: int = 200, error: str = ""
) -> Response:
    page = render(
        request, "link.html", me, status_code, gate=gate, token=token, page_token=page_token(token), error=error
    )
    page.headers.update(PRIVATE)
    return page


async def link_page(request: Request) -> Response:
    token = str(request.path_params["token"])
    me = await signed_in(request)
    try:
        gate = await act(None, open_decide_link, token, system_clock(), me.person_id if me else None, door="link")
    except LinkRefused as refused:
        return _refused(request, refused, me)
    return _confirm(request, me, gate, token)


async def link_decide(request: Request) -> Response:
    token = str(request.path_params["token"])
    form = await request.form()
    me = await signed_in(request)
    if (stale := stale_page(request, form, token, me)) is not None:
        return stale
    by = me.person_id if me else None
    now = system_clock()
    try:
        gate = await act(None, open_decide_link, token, now, by, door="link")
    except LinkRefused as refused:
        return _refused(request, refused, me)
    outcome = str(form.get("outcome") or "")
    if outcome not in ("approve", "return"):
        return _confirm(request, me, gate, token, 400, "请选择通过或退回修改（否决请在审核页面进行）")
    try:
        comment = read_comment(form)
        redo = [str(f) for f in form.getlist("redo")] if outcome == "return" else []
        decided = await act(
            None, decide_by_link, token, outcome, comment, now, by, redo or None, door="link", link=gate.link_id
        )
    except LinkRefused as refused:
        return _refused(request, refused, me)
    except FormError as problem:
        return _confirm(request, me, gate, token, 400, str(problem))
    resumed = await resume_decided(decided)
    sentence = (
        f"{gate.person_name}，您的决定已记录：项目 {gate.project_id} 阶段「{gate.stage_title}」"
        f"第 {decided.round} 轮 {OUTCOME_WORDS[outcome]}。"
    )
    if not decided.final:
        sentence += "本轮还需下一步审核，已通知下一位审核人。"
    elif not resumed:
        sentence += LATER
    page = sentence_page(request, "已记录您的决定", sentence, me)
    page.headers.update(PRIVATE)
    return page


ROUTES = [
    Route("/l/{token}", link_page, methods=["GET"]),
    Route("/l/{token}", link_decide, methods=["POST"]),
]
