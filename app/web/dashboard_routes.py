"""机构看板 (`/dashboard`): the agency at a glance for its directors (机构负责人) — figures as cards, the
running projects by stage and by service area, overdue work per community and the week's escalations as
charts, and short tables of what is most overdue, who is overdue for supervision, the communities below
the staffing rule and the certificates expiring. The figures and who may see them are the domain's
(`swflow.domain.agency.dashboard`); anyone but an active director is refused with a sentence (403), never
shown a smaller page. Times are judged at the door's clock."""

from __future__ import annotations

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from swflow.config.clock import system_clock
from swflow.config.errors import RefusedError
from swflow.domain.agency.dashboard import Dashboard, agency_dashboard

from .dashboard_svg import Part, Row, bars_svg, stacked_svg
from .door import act, require
from .pages import render, sentence_page

__all__ = ["ROUTES"]

CHART_COMMUNITIES = 12  # communities drawn in the overdue chart, the most overdue first
KINDS = {"urban": "城市社区", "rural": "农村社区"}
OVERDUE_PARTS = (Part("bar-item", "逾期的表单"), Part("bar-gate", "逾期的审核"))


def _charts(d: Dashboard) -> dict[str, Markup]:
    communities = d.overdue_by_community[:CHART_COMMUNITIES]
    return {
        "stage": bars_svg([(b.title, b.count) for b in d.by_stage], "进行中的项目按当前阶段", "个"),
        "area": bars_svg([(b.title, b.count) for b in d.by_area], "进行中的项目按服务领域", "个", "bar bar-area"),
        "overdue": stacked_svg(
            [Row(c.community, (c.items, c.gates)) for c in communities], OVERDUE_PARTS, "各社区逾期的事项", "项"
        ),
        "escalations": bars_svg(
            [(b.title, b.count) for b in d.escalations], "近 7 天的升级提醒按事项", "次", "bar bar-escalation"
        ),
    }


async def dashboard(request: Request) -> Response:
    me = await require(request)
    try:
        view = await act(me, agency_dashboard, me.person_id, system_clock())
    except RefusedError as refused:
        return sentence_page(request, "不能查看机构看板", str(refused), me, 403)
    return render(
        request,
        "dashboard.html",
        me,
        d=view,
        charts=_charts(view),
        kinds=KINDS,
        more_communities=max(0, len(view.overdue_by_community) - CHART_COMMUNITIES),
    )


ROUTES = [Route("/dashboard", dashboard, methods=["GET"])]
