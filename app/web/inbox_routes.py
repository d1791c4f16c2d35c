"""我的待办: the work items and decisions waiting for the signed-in person, across projects."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from swflow import domain

from .door import act, require
from .pages import render

__all__ = ["ROUTES"]


async def inbox(request: Request) -> Response:
    me = await require(request)
    box = await act(me, domain.inbox, me.person_id)
    return render(request, "inbox.html", me, box=box)


ROUTES = [Route("/", inbox, methods=["GET"])]
