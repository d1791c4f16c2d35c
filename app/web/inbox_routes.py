"""我的待办: the work items and decisions waiting for the signed-in person, across projects —
overdue first, each deadline in working days, narrowed by `?project=` and `?stage=`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from swflow.config.clock import system_clock
from swflow.domain.projects.queries import inbox_view

from .door import act, require
from .pages import render

__all__ = ["ROUTES"]


def _choice(request: Request, name: str) -> str | None:
    """A filter from the query string: empty means all; a value is an id, so it is kept short."""
    value = request.query_params.get(name, "").strip()[:64]
    return value or None


async def inbox(request: Request) -> Response:
    me = await require(request)
    box = await act(
        me, inbox_view, me.person_id, system_clock(), _choice(request, "project"), _choice(request, "stage")
    )
    return render(request, "inbox.html", me, box=box)


ROUTES = [Route("/", inbox, methods=["GET"])]
