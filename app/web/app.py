"""The web app: routes of every page, static files (a pinned htmx served by swflow itself), and the
one place where a refusal or a failure becomes a sentence on a page."""

from __future__ import annotations

import time
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from swflow.config.errors import SwflowError

from . import (
    auth_routes,
    dashboard_routes,
    definitions_routes,
    gate_routes,
    grant_routes,
    inbox_routes,
    instrument_routes,
    launch_routes,
    link_routes,
    overview_routes,
    people_routes,
    project_routes,
    quality_more_routes,
    quality_routes,
    registry_acts_routes,
    registry_more_routes,
    registry_routes,
    survey_routes,
    work_routes,
)
from .door import SignInNeeded, signed_in
from .pages import sentence_page

__all__ = ["create_app"]

STATIC = Path(__file__).resolve().parent / "static"


async def _sign_in_needed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInNeeded)
    return exc.response()


async def _swflow_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SwflowError)
    status = {2: 400, 3: 403}.get(exc.exit_code, 503)
    title = {2: "输入有误", 3: "不能这样做"}.get(exc.exit_code, "暂时无法完成")
    return sentence_page(request, title, str(exc), await signed_in(request), status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    words = {404: ("找不到页面", "没有这个页面，或者您无权查看。"), 405: ("不支持的操作", "这个地址不接受这种请求。")}
    title, sentence = words.get(exc.status_code, ("出错了", "请求无法完成。"))
    return sentence_page(request, title, sentence, None, exc.status_code)


async def _internal_error(request: Request, exc: Exception) -> Response:
    return sentence_page(
        request, "内部错误", "服务器出了问题，您的操作没有完成。请稍后再试，或联系机构管理员。", None, 500
    )


class ServerTiming:
    """Adds `Server-Timing: app;dur=…` (milliseconds from the request reaching the app to its answer
    starting): what bench/web_pages.py reports as server time, and what a browser's devtools show."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                spent = (time.perf_counter() - started) * 1000
                message["headers"] = [*message.get("headers", []), (b"server-timing", f"app;dur={spent:.1f}".encode())]
            await send(message)

        await self.app(scope, receive, timed)


def create_app() -> Starlette:
    routes = [
        *auth_routes.ROUTES,
        *inbox_routes.ROUTES,
        *work_routes.ROUTES,
        *gate_routes.ROUTES,
        *link_routes.ROUTES,
        *grant_routes.ROUTES,
        *launch_routes.ROUTES,
        *dashboard_routes.ROUTES,
        *definitions_routes.ROUTES,
        *instrument_routes.ROUTES,
        *overview_routes.ROUTES,
        *people_routes.ROUTES,
        *project_routes.ROUTES,
        *quality_routes.ROUTES,
        *quality_more_routes.ROUTES,
        *registry_routes.ROUTES,
        *registry_more_routes.ROUTES,
        *registry_acts_routes.ROUTES,
        *survey_routes.ROUTES,
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(ServerTiming)],
        exception_handlers={
            SignInNeeded: _sign_in_needed,
            SwflowError: _swflow_error,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
    )
