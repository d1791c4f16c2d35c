"""Sign in, sign out, and choosing a password through a one-time link."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from swflow.config.clock import system_clock
from swflow.config.errors import FormError, RefusedError
from swflow.domain.people.accounts import set_password_by_link, sign_in, sign_out
from swflow.domain.people.links import LinkRefused, open_link

from .door import COOKIE, check_csrf, require, set_session_cookie, signed_in
from .pages import render, sentence_page

__all__ = ["ROUTES"]


def _safe_next(value: str | None) -> str:
    """Only a path of this site: a `next` that points elsewhere would make sign-in an open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or urlsplit(value).netloc:
        return "/"
    return value


async def login_page(request: Request) -> Response:
    if await signed_in(request) is not None:
        return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    return render(request, "login.html", next=_safe_next(request.query_params.get("next")), error="", person_id="")


async def login(request: Request) -> Response:
    form = await request.form()
    person_id = str(form.get("person_id") or "").strip()[:64]
    password = str(form.get("password") or "")[:200]
    next_path = _safe_next(str(form.get("next") or "/"))
    try:
        me = await run_in_threadpool(sign_in, person_id, password, system_clock())
    except RefusedError as refused:
        return render(request, "login.html", status_code=401, next=next_path, error=str(refused), person_id=person_id)
    response = RedirectResponse(next_path, status_code=303)
    set_session_cookie(response, me.session_id, request.url.scheme == "https")
    return response


async def logout(request: Request) -> Response:
    me = await require(request)
    check_csrf(await request.form(), me)
    await run_in_threadpool(sign_out, me.session_id, system_clock())
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


async def set_password_page(request: Request) -> Response:
    token = request.path_params["token"]
    try:
        link = await run_in_threadpool(open_link, token, "set_password", system_clock())
    except LinkRefused as refused:
        return sentence_page(request, "链接不能使用", str(refused), status_code=403, back="/login")
    return render(request, "set_password.html", token=token, person_id=link.person_id, error="")


async def set_password(request: Request) -> Response:
    token = request.path_params["token"]
    form = await request.form()
    password, again = str(form.get("password") or ""), str(form.get("again") or "")
    try:
        if password != again:
            raise FormError("两次输入的密码不一致", [("again", "须与密码相同")])
        person_id = await run_in_threadpool(set_password_by_link, token, password[:300], system_clock())
    except LinkRefused as refused:
        return sentence_page(request, "链接不能使用", str(refused), status_code=403, back="/login")
    except FormError as problem:
        link = await run_in_threadpool(open_link, token, "set_password", system_clock())
        return render(
            request, "set_password.html", status_code=400, token=token, person_id=link.person_id, error=str(problem)
        )
    return render(request, "login.html", next="/", error="", person_id=person_id, notice="密码已设置，请登录。")


ROUTES = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/set-password/{token}", set_password_page, methods=["GET"]),
    Route("/set-password/{token}", set_password, methods=["POST"]),
]
