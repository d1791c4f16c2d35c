"""项目总览 (`/projects`): every project the signed-in manager or director may see, the most urgent first,
narrowed by `?community=`, `?area=` (a §5 clause), `?status=` and `?manager=`, 50 to a page (`?page=`).
A value that cannot be one of them is set aside with a sentence saying so, never a failure; anyone
else is refused by the act with a sentence."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from swflow.archive.dossier import PROJECT_STATUS
from swflow.config.clock import system_clock
from swflow.domain.projects.overview import OverviewFilters, projects_overview

from .door import act, require
from .pages import render

__all__ = ["ROUTES"]

FILTERS = ("community", "area", "status", "manager")
AREA = re.compile(r"\d+(\.\d+)*")
LABELS = {"project": PROJECT_STATUS}


def _filters(request: Request) -> tuple[OverviewFilters, list[str]]:
    """The filters of the query string, and a sentence for each value set aside."""
    given = {name: request.query_params.get(name, "").strip()[:200] or None for name in FILTERS}
    notes = []
    if given["area"] is not None and not AREA.fullmatch(given["area"]):
        notes.append(f"服务领域「{given['area']}」不是条款编号（例如 5.1），已忽略")
        given["area"] = None
    if given["status"] is not None and given["status"] not in PROJECT_STATUS:
        notes.append(f"项目状态「{given['status']}」不是可选的状态（{'、'.join(PROJECT_STATUS.values())}），已忽略")
        given["status"] = None
    return OverviewFilters(**given), notes


def _page(request: Request, notes: list[str]) -> int:
    raw = request.query_params.get("page", "").strip()
    if not raw:
        return 1
    if len(raw) > 6 or not (raw.isascii() and raw.isdigit()) or int(raw) < 1:  # ² and ٣ are digits too
        notes.append(f"页码「{raw[:20]}」无效，显示的是第 1 页")
        return 1
    return int(raw)


def _links(filters: OverviewFilters, page: int, pages: int) -> dict[str, Any]:
    """Links to the pages before and after, keeping the filters."""
    kept = {name: value for name, value in filters.model_dump().items() if value is not None}

    def link(n: int) -> str:
        query = urlencode({**kept, **({"page": n} if n > 1 else {})})
        return f"/projects?{query}" if query else "/projects"

    return {
        "previous": link(page - 1) if page > 1 else None,
        "next": link(page + 1) if page < pages else None,
        "filtered": bool(kept),
    }


async def overview(request: Request) -> Response:
    me = await require(request)
    filters, notes = _filters(request)
    page = _page(request, notes)
    view = await act(me, projects_overview, me.person_id, filters, system_clock(), page)
    if view.page_note:
        notes.append(view.page_note)
    return render(
        request,
        "overview.html",
        me,
        o=view,
        notes=notes,
        links=_links(filters, view.page, view.pages),
        labels=LABELS,
    )


ROUTES = [Route("/projects", overview, methods=["GET"])]
