"""确认角色授予: the signed link a director gets when a people import would give someone a deciding
role. Opening it (GET) shows who asked, for whom and which role, and grants nothing; confirming is a
POST of that page (a token bound to the page), recorded as the director's act through the link door."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from swflow.config.clock import system_clock
from swflow.config.errors import RefusedError
from swflow.domain.agency.grants import ROLE_WORDS, GrantLink, confirm_grant, open_grant_link
from swflow.domain.people.accounts import SignedIn

from .door import act, signed_in
from .link_routes import PRIVATE, page_token, stale_page
from .pages import render, sentence_page

__all__ = ["ROUTES"]


def _private(response: Response) -> Response:
    response.headers.update(PRIVATE)
    return response


def _roles(grant: GrantLink) -> str:
    return "、".join(ROLE_WORDS.get(r, r) for r in grant.roles)


def _page(request: Request, grant: GrantLink, token: str, me: SignedIn | None) -> Response:
    page = render(
        request, "grant.html", me, grant=grant, roles=_roles(grant), token=token, page_token=page_token(token)
    )
    return _private(page)


async def grant_page(request: Request) -> Response:
    token = str(request.path_params["token"])
    me = await signed_in(request)
    try:
        grant = await act(None, open_grant_link, token, system_clock(), me.person_id if me else None, door="link")
    except RefusedError as refused:
        return _private(sentence_page(request, "链接不能使用", str(refused), me, 403))
    return _page(request, grant, token, me)


async def grant_confirm(request: Request) -> Response:
    token = str(request.path_params["token"])
    form = await request.form()
    me = await signed_in(request)
    if (stale := stale_page(request, form, token, me)) is not None:
        return stale
    try:
        grant = await act(None, confirm_grant, token, system_clock(), me.person_id if me else None, door="link")
    except RefusedError as refused:
        return _private(sentence_page(request, "不能确认", str(refused), me, 403))
    sentence = f"{grant.director_name}，已确认：{grant.person_name}（{grant.person_id}）现在持有 {_roles(grant)} 角色。"
    return _private(sentence_page(request, "已确认角色授予", sentence, me))


ROUTES = [
    Route("/grant/{token}", grant_page, methods=["GET"]),
    Route("/grant/{token}", grant_confirm, methods=["POST"]),
]
