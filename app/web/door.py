"""Who is at the door: the session cookie (signed, HttpOnly, SameSite), the CSRF token every POST must
carry, and running a domain act as the signed-in person, marked `via: web` in its events."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

from itsdangerous import BadSignature, Signer
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from swflow.config.clock import system_clock
from swflow.config.errors import RefusedError, SwflowError
from swflow.config.settings import get_settings
from swflow.db import acting_through
from swflow.domain.people.accounts import SignedIn, session_of

__all__ = ["COOKIE", "SignInNeeded", "signer", "signed_in", "require", "check_csrf", "act", "set_session_cookie"]

COOKIE = "swflow_session"
T = TypeVar("T")


class SignInNeeded(Exception):
    """No valid session: the page sends the person to sign in, then back."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path

    def response(self) -> Response:
        return RedirectResponse(f"/login?next={quote(self.next_path)}", status_code=303)


class CsrfRefused(RefusedError):
    """A state-changing request without this session's token (a forged or stale form)."""


def signer() -> Signer:
    secret = get_settings().web_secret
    if secret is None:
        raise SwflowError("尚未生成签名密钥：请先运行 `swflow serve`")
    return Signer(secret.get_secret_value(), salt="swflow-session")


def _session_id(request: Request) -> str | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        return signer().unsign(raw).decode()
    except BadSignature:
        return None


async def signed_in(request: Request) -> SignedIn | None:
    session_id = _session_id(request)
    if session_id is None:
        return None
    return await run_in_threadpool(session_of, session_id, system_clock())


async def require(request: Request) -> SignedIn:
    me = await signed_in(request)
    if me is None:
        raise SignInNeeded(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return me


def check_csrf(form: Any, me: SignedIn) -> None:
    given = str(form.get("csrf") or "")
    if not hmac.compare_digest(given.encode(), me.csrf.encode()):
        raise CsrfRefused("请求已失效（缺少或不符的安全令牌）：请刷新页面后重试")


async def act(me: SignedIn | None, fn: Callable[..., T], *args: Any, door: str = "web", **details: Any) -> T:
    """Run one domain act in a worker thread, every event it writes marked with the door."""

    def _run() -> T:
        extra = {"session": me.session_id} if me is not None and door == "web" else {}
        with acting_through(door, **extra, **details):
            return fn(*args)

    return await run_in_threadpool(_run)


def set_session_cookie(response: Response, session_id: str, secure: bool) -> None:
    response.set_cookie(
        COOKIE,
        signer().sign(session_id.encode()).decode(),
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )
