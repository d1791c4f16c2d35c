"""社区组织与资源链接 (§6.2.2, §8.3.2), 志愿者 (§5.2) and 转介 (§8.3.4) on the web: the acts the CLI has for them
(`swflow registry org|volunteer …`, `swflow referral …`), each the signed-in person's through the web door,
shown as the domain decides (a volunteer's phone, a referral's reason and the person it concerns masked
outside their circle). A refusal is shown at the field it names, what was typed kept, nothing written."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from swflow.config.clock import SHANGHAI, system_clock
from swflow.config.errors import FormError, NotFoundError, RefusedError
from swflow.domain import registry as reg
from swflow.domain.people.accounts import SignedIn
from swflow.domain.registry import registry_more_views as views

from .door import act, check_csrf, require
from .pages import render, sentence_page

__all__ = ["ROUTES"]

MOST_BYTES = 32 * 1024
TEXT_CHARS = 2000
ORG_TEXTS = ("name", "kind", "community", "contact_name", "contact_phone", "offers")
LINK_TEXTS = ("project", "org", "need", "resource", "method", "expected")
VOLUNTEER_TEXTS = ("name", "gender", "birth_year", "phone", "community", "registration_no", "skills", "registered_on")
REFERRAL_TEXTS = ("person", "service", "org", "agency", "reason", "project", "shared_info")
Errs = dict[str, list[str]]


async def _form(request: Request, me: SignedIn) -> Any:
    if int(request.headers.get("content-length") or 0) > MOST_BYTES:
        raise FormError(f"一次提交不能超过 {MOST_BYTES} 字节")
    form = await request.form(max_fields=60, max_files=0)
    check_csrf(form, me)
    return form


def _typed(form: Any, names: tuple[str, ...]) -> dict[str, str]:
    return {k: str(form.get(k) or "").strip()[:TEXT_CHARS] for k in names}


def _data(typed: dict[str, str], names: tuple[str, ...]) -> dict[str, Any]:
    return {k: typed[k] for k in names if typed.get(k)}


def _day(text: str, key: str, errs: Errs, default: bool = True) -> date | None:
    if not text:
        return system_clock().astimezone(SHANGHAI).date() if default else None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errs.setdefault(key, []).append("须是日期（年-月-日）")
        return None


def _id(text: str, key: str, errs: Errs, label: str) -> int | None:
    if not text:
        return None
    if not re.fullmatch(r"[0-9]{1,9}", text) or int(text) == 0:
        errs.setdefault(key, []).append(f"{label}须是正整数编号")
        return None
    return int(text)


def _page(
    request: Request, template: str, me: SignedIn, status: int, errs: Errs | None, typed: Any, **ctx: Any
) -> Response:
    saved = NOTICES.get(request.query_params.get("saved", ""))
    return render(
        request, template, me, status, errs=errs or {}, typed=typed or {}, mask=views.MASK, notice=saved, **ctx
    )


def _first(error: Exception) -> str:
    return str(error).splitlines()[0]


# 社区组织与资源链接 ------------------------------------------------------------------------------------------


async def _orgs_page(
    request: Request, me: SignedIn, status: int = 200, errs: Errs | None = None, typed: dict[str, str] | None = None,
    which: str = "",
) -> Response:  # fmt: skip
    kind = request.query_params.get("kind", "")[:40]
    orgs = await act(me, reg.list_organisations, kind or None)
    links = await act(me, reg.list_links, None, None)
    return _page(
        request, "registry_orgs.html", me, status, errs, typed, orgs=orgs, links=links, kind=kind, which=which,
        kinds=views.field_choices("organisation", "kind"), methods=views.field_choices("resource-link", "method"),
        outcomes=views.LINK_OUTCOMES, org_labels=views.field_labels("organisation"),
        link_labels=views.field_labels("resource-link"),
    )  # fmt: skip


async def orgs(request: Request) -> Response:
    return await _orgs_page(request, await require(request))


async def add_org(request: Request) -> Response:
    me = await require(request)
    typed = _typed(await _form(request, me), ORG_TEXTS)
    try:
        await act(me, reg.add_organisation, _data(typed, ORG_TEXTS), me.person_id, system_clock())
    except FormError as invalid:
        return await _orgs_page(request, me, 400, views.field_errors(invalid.problems), typed, "org")
    return RedirectResponse("/registry/orgs?saved=org", status_code=303)


async def add_link(request: Request) -> Response:
    me = await require(request)
    typed = _typed(await _form(request, me), LINK_TEXTS)
    errs: Errs = {}
    org_id = _id(typed["org"], "org", errs, "组织")
    if not typed["project"]:
        errs["project"] = ["必填"]
    if errs:
        return await _orgs_page(request, me, 400, errs, typed, "link")
    try:
        await act(
            me, reg.link_resource, org_id, typed["project"], _data(typed, LINK_TEXTS[2:]), me.person_id, system_clock()
        )
    except FormError as invalid:
        return await _orgs_page(request, me, 400, views.field_errors(invalid.problems), typed, "link")
    except NotFoundError as missing:
        where = "org" if "组织" in str(missing) else "project"
        return await _orgs_page(request, me, 400, {where: [_first(missing)]}, typed, "link")
    except RefusedError as refused:
        return await _orgs_page(request, me, 403, {"project": [_first(refused)]}, typed, "link")
    return RedirectResponse("/registry/orgs?saved=link#links", status_code=303)


async def link_result(request: Request) -> Response:
    me = await require(request)
    link_id = int(request.path_params["link_id"])
    typed = _typed(await _form(request, me), ("outcome", "result"))
    errs: Errs = {}
    if typed["outcome"] not in views.LINK_OUTCOMES:
        errs["outcome"] = ["请选择结果"]
    if not typed["result"]:
        errs["result"] = ["须写明链接的结果"]
    try:
        if not errs:
            await act(
                me, reg.record_link_result, link_id, typed["outcome"], typed["result"], me.person_id, system_clock()
            )
    except FormError as invalid:
        errs = views.field_errors(invalid.problems)
    except (NotFoundError, RefusedError) as refused:
        errs = {"": [_first(refused)]}
    if errs:
        code = 403 if "" in errs else 400
        return await _orgs_page(request, me, code, {f"r{link_id}-{k}": v for k, v in errs.items()}, typed, str(link_id))
    return RedirectResponse("/registry/orgs?saved=result#links", status_code=303)


# 志愿者 ------------------------------------------------------------------------------------------------------


async def _volunteers_page(
    request: Request, me: SignedIn, status: int = 200, errs: Errs | None = None, typed: dict[str, str] | None = None,
    duplicate: str = "",
) -> Response:  # fmt: skip
    rows = await act(me, reg.list_volunteers, me.person_id)
    return _page(
        request, "registry_volunteers.html", me, status, errs, typed, rows=rows,
        genders=views.field_choices("volunteer", "gender"), labels=views.field_labels("volunteer"), duplicate=duplicate,
    )  # fmt: skip


async def volunteers(request: Request) -> Response:
    return await _volunteers_page(request, await require(request))


async def add_volunteer(request: Request) -> Response:
    me = await require(request)
    form = await _form(request, me)
    typed = _typed(form, VOLUNTEER_TEXTS)
    errs: Errs = {}
    on = _day(typed["registered_on"], "registered_on", errs)
    data: dict[str, Any] = _data(typed, VOLUNTEER_TEXTS[:-1])
    if re.fullmatch(r"[0-9]{1,4}", data.get("birth_year", "")):
        data["birth_year"] = int(data["birth_year"])
    if errs or on is None:
        return await _volunteers_page(request, me, 400, errs, typed)
    try:
        new = await act(
            me, reg.register_volunteer, data, on, me.person_id, system_clock(), bool(form.get("not_duplicate"))
        )
    except FormError as invalid:
        return await _volunteers_page(request, me, 400, views.field_errors(invalid.problems), typed)
    except RefusedError as refused:
        return await _volunteers_page(request, me, 409, {}, typed, _first(refused).split("；")[0])
    return RedirectResponse(f"/registry/volunteers/{new}?saved=volunteer", status_code=303)


async def _volunteer_page(
    request: Request, me: SignedIn, volunteer_id: int, status: int = 200, errs: Errs | None = None,
    typed: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    try:
        card = await act(me, reg.volunteer_record, volunteer_id, me.person_id)
    except NotFoundError:
        return sentence_page(
            request, "找不到志愿者", f"没有志愿者 #{volunteer_id}。", me, 404, back="/registry/volunteers"
        )
    return _page(
        request, "registry_more_volunteer.html", me, status, errs, typed, card=card,
        genders=views.field_choices("volunteer", "gender"), labels=views.field_labels("volunteer"),
    )  # fmt: skip


async def volunteer_page(request: Request) -> Response:
    return await _volunteer_page(request, await require(request), int(request.path_params["volunteer_id"]))


async def training(request: Request) -> Response:
    me = await require(request)
    volunteer_id = int(request.path_params["volunteer_id"])
    typed = _typed(await _form(request, me), ("course", "date", "hours"))
    errs: Errs = {}
    held_on = _day(typed["date"], "date", errs, default=False)
    if not typed["date"]:
        errs["date"] = ["必填"]
    hours = 0.0
    try:
        hours = float(typed["hours"])
    except ValueError:
        errs["hours"] = ["须是数字（学时）"]
    if hours != hours or hours in (float("inf"), float("-inf")):
        errs["hours"] = ["须是数字（学时）"]
    if not errs and held_on is not None:
        try:
            await act(
                me, reg.record_training, volunteer_id, typed["course"], held_on, hours, me.person_id, system_clock()
            )
        except FormError as invalid:
            errs = views.field_errors(invalid.problems)
        except NotFoundError:
            return sentence_page(request, "找不到志愿者", f"没有志愿者 #{volunteer_id}。", me, 404)
    if errs:
        return await _volunteer_page(request, me, volunteer_id, 400, errs, typed)
    return RedirectResponse(f"/registry/volunteers/{volunteer_id}?saved=training", status_code=303)


async def certificate(request: Request) -> Response:
    """The certificate the CLI writes (`volunteer certificate --out`), issued and recorded as the signed-in person."""
    me = await require(request)
    volunteer_id = int(request.path_params["volunteer_id"])
    await _form(request, me)
    try:
        issued = await act(me, reg.issue_certificate, volunteer_id, me.person_id, system_clock())
    except NotFoundError:
        return sentence_page(request, "找不到志愿者", f"没有志愿者 #{volunteer_id}。", me, 404)
    name = re.sub(r"[^A-Za-z0-9._-]", "_", str(issued["number"])) + ".html"
    headers = {"Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="{name}"'}
    return HTMLResponse(issued["html"], headers=headers)


# 转介 ----------------------------------------------------------------------------------------------------------


async def _referrals_page(
    request: Request, me: SignedIn, status: int = 200, errs: Errs | None = None, typed: dict[str, str] | None = None
) -> Response:
    which = request.query_params.get("status", "")[:20]
    rows = await act(me, reg.list_referrals, me.person_id, system_clock(), which or None)
    names = await act(me, views.referral_names, me.person_id, [r["person"] for r in rows])
    orgs_ = await act(me, reg.list_organisations, None)
    return _page(
        request, "registry_referrals.html", me, status, errs, typed, rows=rows, names=names, orgs=orgs_,
        which=which, labels=views.field_labels("referral"),
    )  # fmt: skip


async def referrals(request: Request) -> Response:
    return await _referrals_page(request, await require(request))


async def add_referral(request: Request) -> Response:
    me = await require(request)
    form = await _form(request, me)
    typed = _typed(form, REFERRAL_TEXTS)
    errs: Errs = {}
    person = _id(typed["person"], "person", errs, "服务对象")
    org_id = _id(typed["org"], "org", errs, "组织")
    if not typed["person"]:
        errs["person"] = ["必填"]
    data: dict[str, Any] = {**_data(typed, ("service", "agency", "reason", "shared_info"))}
    data["urgency"] = "urgent" if form.get("urgent") else "normal"
    typed["urgent"] = "1" if form.get("urgent") else ""
    if errs or person is None:
        return await _referrals_page(request, me, 400, errs, typed)
    try:
        opened = await act(
            me, reg.open_referral, person, data, me.person_id, system_clock(), org_id, typed["project"] or None
        )
    except FormError as invalid:
        return await _referrals_page(request, me, 400, views.field_errors(invalid.problems), typed)
    except NotFoundError as missing:
        text = _first(missing)
        where = "org" if "组织" in text else "project" if "项目" in text else "person"
        return await _referrals_page(request, me, 400, {where: [text]}, typed)
    except RefusedError as refused:
        return await _referrals_page(request, me, 403, {"person": [_first(refused)]}, typed)
    return RedirectResponse(f"/registry/referrals/{opened['id']}?saved=referral", status_code=303)


async def _referral_page(
    request: Request, me: SignedIn, referral_id: int, status: int = 200, errs: Errs | None = None,
    typed: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    try:
        card = await act(me, reg.show_referral, referral_id, me.person_id, system_clock())
    except NotFoundError:
        return sentence_page(request, "找不到转介", f"没有转介 #{referral_id}。", me, 404, back="/registry/referrals")
    names = await act(me, views.referral_names, me.person_id, [card["person"]])
    return _page(
        request, "registry_more_referral.html", me, status, errs, typed, card=card,
        name=names.get(card["person"], views.MASK), labels=views.field_labels("referral"),
        updates=views.UPDATE_STATUSES, outcomes=views.OUTCOMES,
    )  # fmt: skip


async def follow_up(request: Request) -> Response:
    me = await require(request)
    referral_id = int(request.path_params["referral_id"])
    closing = request.url.path.endswith("/close")
    names = ("outcome", "close_note") if closing else ("note", "status", "next_on")
    typed = _typed(await _form(request, me), names)
    errs: Errs = {}
    try:
        if closing:
            if typed["outcome"] not in views.OUTCOMES:
                errs["outcome"] = ["请选择结案结果"]
            else:
                await act(me, reg.close_referral, referral_id, me.person_id, typed["outcome"], typed["close_note"],
                          system_clock())  # fmt: skip
        else:
            next_on = _day(typed["next_on"], "next_on", errs, default=False)
            if typed["status"] and typed["status"] not in views.UPDATE_STATUSES:
                errs["status"] = ["请选择状态"]
            if not typed["note"]:
                errs["note"] = ["须记录本次跟进的情况"]
            if not errs:
                await act(me, reg.update_referral, referral_id, me.person_id, typed["note"], system_clock(),
                          typed["status"] or None, next_on)  # fmt: skip
    except FormError as invalid:
        errs = views.field_errors(invalid.problems)
    except NotFoundError:
        return sentence_page(request, "找不到转介", f"没有转介 #{referral_id}。", me, 404, back="/registry/referrals")
    except RefusedError as refused:
        return await _referral_page(request, me, referral_id, 403, {"": [_first(refused)]}, typed)
    if errs:
        return await _referral_page(request, me, referral_id, 400, errs, typed)
    return RedirectResponse(f"/registry/referrals/{referral_id}?saved={'closed' if closing else 'follow'}", 303)


async def referral_page(request: Request) -> Response:
    return await _referral_page(request, await require(request), int(request.path_params["referral_id"]))


NOTICES = {
    "org": "已登记社区组织或单位。",
    "link": "已记录资源链接。",
    "result": "已记录资源链接的结果。",
    "volunteer": "已登记志愿者。",
    "training": "已记录培训。",
    "referral": "已转介，并安排了第一次跟进。",
    "follow": "已记录跟进，并约定了下一次跟进。",
    "closed": "转介已结案。",
}

ROUTES = [
    Route("/registry/orgs", orgs, methods=["GET"]),
    Route("/registry/orgs", add_org, methods=["POST"]),
    Route("/registry/orgs/links", add_link, methods=["POST"]),
    Route("/registry/orgs/links/{link_id:int}/result", link_result, methods=["POST"]),
    Route("/registry/volunteers", volunteers, methods=["GET"]),
    Route("/registry/volunteers", add_volunteer, methods=["POST"]),
    Route("/registry/volunteers/{volunteer_id:int}", volunteer_page, methods=["GET"]),
    Route("/registry/volunteers/{volunteer_id:int}/training", training, methods=["POST"]),
    Route("/registry/volunteers/{volunteer_id:int}/certificate", certificate, methods=["POST"]),
    Route("/registry/referrals", referrals, methods=["GET"]),
    Route("/registry/referrals", add_referral, methods=["POST"]),
    Route("/registry/referrals/{referral_id:int}", referral_page, methods=["GET"]),
    Route("/registry/referrals/{referral_id:int}/follow-up", follow_up, methods=["POST"]),
    Route("/registry/referrals/{referral_id:int}/close", follow_up, methods=["POST"]),
]
