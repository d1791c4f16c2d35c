"""The acts on a person served that the CLI has and the record page lacked (§8.3.2): merging this record into
another of the same person (a confirm step shows both as the viewer may see them), exporting everything held
about the person on their request (the CLI's JSON, as a download, recorded as `person.exported`), and
forgetting them (a confirm step says what is kept and what is erased, as the CLI says). Who may do each is the
domain's rule (the person's circle: project team, registrar, directors); anyone else is refused with 403 and
its sentence, nothing written. Every act is the signed-in person's, through the web door, CSRF checked."""

from __future__ import annotations

import json
import re

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from swflow.config.clock import system_clock
from swflow.config.errors import FormError, NotFoundError, RefusedError
from swflow.domain.people.accounts import SignedIn
from swflow.domain.registry.lifecycle import forget_person, merge_people
from swflow.domain.registry.people_queries import export_person, show_person
from swflow.domain.registry.registry_act_views import forget_preview, sees_record
from swflow.domain.registry.registry_views import MASK, person_fields_shown
from swflow.domain.registry.specs import record_spec

from .door import act, check_csrf, require
from .pages import render, sentence_page
from .registry_routes import _person_page

__all__ = ["ROUTES"]

MOST_BYTES = 4 * 1024
RECORD_ID = re.compile(r"#?([0-9]{1,9})")


def _missing(request: Request, me: SignedIn, person_id: int) -> Response:
    return sentence_page(request, "找不到服务对象", f"没有服务对象 #{person_id}。", me, 404, back="/registry")


async def _form(request: Request, me: SignedIn) -> dict[str, str]:
    if int(request.headers.get("content-length") or 0) > MOST_BYTES:
        raise FormError(f"一次提交不能超过 {MOST_BYTES} 字节")
    form = await request.form(max_fields=10, max_files=0)
    check_csrf(form, me)
    return {k: str(form.get(k) or "").strip()[:40] for k in ("into", "confirm")}


def _into(text: str) -> int | None:
    found = RECORD_ID.fullmatch(text.strip())
    return int(found.group(1)) if found else None


async def merge_confirm(request: Request) -> Response:
    """The confirm step: this record (it joins the other) and the record chosen, each as the viewer may see it."""
    me = await require(request)
    person_id = int(request.path_params["person_id"])
    into = _into(request.query_params.get("into", "")[:40])
    if into is None:
        return await _person_page(request, me, person_id, 400, {"merge": ["请填写要合并进的记录编号（数字）"]})
    try:
        this = await act(me, show_person, person_id, me.person_id, system_clock())
    except NotFoundError:
        return _missing(request, me, person_id)
    try:
        other = await act(me, show_person, into, me.person_id, system_clock())
    except NotFoundError:
        return await _person_page(request, me, person_id, 404, {"merge": [f"没有服务对象 #{into}"]})
    return render(
        request,
        "registry_act_merge.html",
        me,
        this=this,
        other=other,
        into=into,
        person_id=person_id,
        this_shown=person_fields_shown(this["data"]),
        other_shown=person_fields_shown(other["data"]),
        mask=MASK,
    )


async def merge(request: Request) -> Response:
    me = await require(request)
    person_id = int(request.path_params["person_id"])
    form = await _form(request, me)
    into = _into(form.get("into", ""))
    if into is None:
        return await _person_page(request, me, person_id, 400, {"merge": ["请填写要合并进的记录编号（数字）"]})
    if form.get("confirm") != "yes":
        return RedirectResponse(f"/registry/people/{person_id}/merge?into={into}", status_code=303)
    try:
        await act(me, merge_people, into, person_id, me.person_id, system_clock())
    except RefusedError as refused:
        if not await act(me, sees_record, person_id, me.person_id):
            return sentence_page(request, "不能这样做", str(refused), me, 403, back=f"/registry/people/{person_id}")
        return await _person_page(request, me, person_id, 403, {"merge": [str(refused)]})
    except NotFoundError as missing:
        return await _person_page(request, me, person_id, 404, {"merge": [str(missing)]})
    return RedirectResponse(f"/registry/people/{person_id}", status_code=303)  # shows "#id 已合并进本记录"


async def export(request: Request) -> Response:
    """The CLI's `registry person export`: the same JSON, as a download; the domain records the export."""
    me = await require(request)
    person_id = int(request.path_params["person_id"])
    await _form(request, me)
    try:
        data = await act(me, export_person, person_id, me.person_id, system_clock())
    except NotFoundError:
        return _missing(request, me, person_id)
    return Response(
        json.dumps(data, ensure_ascii=False, indent=1),
        media_type="application/json; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="person-{data["id"]}.json"'},
    )


def _labels() -> dict[str, str]:
    return {f.name: f.label for f in record_spec("person").fields}


async def forget_confirm(request: Request) -> Response:
    """What would be kept and erased, before anything is; refused (403) outside the person's circle."""
    me = await require(request)
    person_id = int(request.path_params["person_id"])
    try:
        preview = await act(me, forget_preview, person_id, me.person_id)
    except NotFoundError:
        return _missing(request, me, person_id)
    return render(request, "registry_act_forget.html", me, preview=preview, labels=_labels(), person_id=person_id)


async def forget(request: Request) -> Response:
    me = await require(request)
    person_id = int(request.path_params["person_id"])
    form = await _form(request, me)
    if form.get("confirm") != "yes":
        return RedirectResponse(f"/registry/people/{person_id}/forget", status_code=303)
    try:
        done = await act(me, forget_person, person_id, me.person_id, system_clock())
    except NotFoundError:
        return _missing(request, me, person_id)
    return render(request, "registry_act_forgotten.html", me, done=done, labels=_labels())


ROUTES = [
    Route("/registry/people/{person_id:int}/merge", merge_confirm, methods=["GET"]),
    Route("/registry/people/{person_id:int}/merge", merge, methods=["POST"]),
    Route("/registry/people/{person_id:int}/export", export, methods=["POST"]),
    Route("/registry/people/{person_id:int}/forget", forget_confirm, methods=["GET"]),
    Route("/registry/people/{person_id:int}/forget", forget, methods=["POST"]),
]
