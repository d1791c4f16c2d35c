"""人员管理 for directors (机构负责人): the list of everyone on record (filtered by role and by whether they
are active), a person's page to add or change them — roles as checkboxes, qualifications as rows with
添加一行 (no JavaScript: a draft row is always there), channels kept unless removed and never shown
with their secrets — and the acts on a person: deactivate or reactivate, invite, reset the password.
Who may, and every rule, is the domain's (`swflow.domain.agency.people_admin`); identity is the
signed-in director, the acts run through the web door. A refusal is shown at the field it names,
what was typed kept; every other refusal is a sentence."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from swflow.config.clock import system_clock
from swflow.config.errors import FormError, NotFoundError, RefusedError
from swflow.config.settings import get_settings
from swflow.domain.agency.people_admin import (
    PersonRow,
    PersonValues,
    QualificationRow,
    field_label,
    people_admin_view,
    person_admin_view,
    save_person,
    send_invite,
    set_active,
    why_not_administer,
)
from swflow.domain.people.accounts import SignedIn
from swflow.domain.people.rules import ROLE_TITLES

from .door import act, check_csrf, require
from .pages import render, sentence_page

__all__ = ["ROUTES"]

MOST_BYTES = 64 * 1024  # a person: a few names, a few rows, a few addresses
MOST_ROWS = 30  # qualification rows a page holds
TEXT_CHARS = 1000  # any one field, as typed (the domain's rules say the real limits)
ACTIVE_FILTERS = {"yes": True, "no": False}
KINDS = {"certificate": "职业资格证书", "degree": "学历学位"}


def _text(form: Any, name: str, most: int = TEXT_CHARS) -> str:
    return str(form.get(name) or "").strip()[:most]


def _typed(form: Any, person_id: str | None) -> PersonValues:
    """What the page's fields hold: as typed, kept across a refusal. A person on record is the one in the
    page's address; a new one is named by the id field."""
    try:
        count = min(max(int(str(form.get("q_rows") or 0)), 0), MOST_ROWS)
    except ValueError:
        count = 0
    rows = [
        QualificationRow(
            kind=_text(form, f"q-{i}-kind", 20) or "certificate",
            level=_text(form, f"q-{i}-level"),
            number=_text(form, f"q-{i}-number"),
            valid_until=_text(form, f"q-{i}-valid_until", 40),
            remove=bool(form.get(f"q-{i}-remove")),
        )
        for i in range(count)
    ]
    return PersonValues(
        id=person_id if person_id is not None else _text(form, "id", 100),
        name=_text(form, "name"),
        roles=[str(r)[:20] for r in form.getlist("roles")][:10],
        community=_text(form, "community"),
        qualifications=rows,
        remove_channels=[str(k)[:40] for k in form.getlist("remove_channel")][:40],
        new_channels=str(form.get("new_channels") or "")[: TEXT_CHARS * 8],
        new=person_id is None,
    )


def _values_of(person: PersonRow) -> PersonValues:
    return PersonValues(
        id=person.id,
        name=person.name,
        roles=list(person.roles),
        community=person.community or "",
        qualifications=list(person.rows),
    )


ALONE = (
    "督导、机构负责人角色须由另一位机构负责人确认（四眼原则）；本机构现在没有其他在任的机构负责人，"
    "该角色暂未授予。可由系统管理员用 swflow people import 提出，再由您通过确认链接确认。"
)


def _notice(request: Request, person: PersonRow) -> str | None:
    """What the act just done did (the page after its redirect), in words; only known words are said."""
    said = _said(request, person)
    if said and request.query_params.get("held") == "alone":
        return f"{said}{ALONE}"
    return said


def _said(request: Request, person: PersonRow) -> str | None:
    who = f"{person.name}（{person.id}）"
    channels = "、".join(c.shown for c in person.channels)
    link = f"（{get_settings().link_hours} 小时内有效，只能使用一次）。链接只属于本人，本页不显示"
    words = {
        ("saved", "added"): f"已添加 {who}。",
        ("saved", "updated"): f"已保存 {who}的信息。",
        ("done", "invite"): f"已开通账号：设置密码的链接已发送到 {who}的通知渠道 {channels}{link}。",
        (
            "done",
            "reset",
        ): f"已重置密码：原密码和所有会话已失效，新的设置密码链接已发送到 {who}的通知渠道 {channels}{link}。",
        ("done", "deactivated"): f"已停用 {who}：此人不能再登录或操作，已登录的会话已结束。",
        ("done", "activated"): f"已重新启用 {who}。",
    }
    for key in ("saved", "done"):
        if (said := words.get((key, request.query_params.get(key, "")))) is not None:
            return said
    return None


def _page(
    request: Request,
    me: SignedIn,
    person: PersonRow | None,
    typed: PersonValues,
    status_code: int = 200,
    problems: list[tuple[str, str]] | None = None,
    notice: str | None = None,
    more_rows: int = 0,
) -> Response:
    rows = list(typed.qualifications)
    if not rows or not rows[-1].blank or more_rows:
        rows += [QualificationRow()] * max(more_rows, 1)  # the draft row: always one to type into
    errs: dict[str, list[str]] = {}
    for where, line in problems or []:
        errs.setdefault(where, []).append(line)
    return render(
        request,
        "person.html",
        me,
        status_code,
        p=person,
        typed=typed,
        rows=rows,
        errs=errs,
        problems=[(field_label(where), line) for where, line in problems or []],
        notice=notice,
        roles=ROLE_TITLES,
        kinds=KINDS,
    )


def _not_found(request: Request, me: SignedIn, person_id: str) -> Response:
    return sentence_page(request, "找不到人员", f"没有人员 {person_id}。", me, 404, back="/people")


async def _refuse_unless_admin(me: SignedIn) -> None:
    if (refused := await act(me, why_not_administer, me.person_id)) is not None:
        raise RefusedError(refused)


async def _form(request: Request, me: SignedIn) -> Any:
    if int(request.headers.get("content-length") or 0) > MOST_BYTES:
        raise FormError(f"一次提交不能超过 {MOST_BYTES} 字节")
    form = await request.form(max_fields=600, max_files=0)
    check_csrf(form, me)
    return form


async def people_list(request: Request) -> Response:
    me = await require(request)
    role = request.query_params.get("role", "")
    role = role if role in ROLE_TITLES else ""
    active = request.query_params.get("active", "")
    active = active if active in ACTIVE_FILTERS else ""
    people = await act(me, people_admin_view, me.person_id, system_clock(), role or None, ACTIVE_FILTERS.get(active))
    return render(request, "people.html", me, people=people, role=role, active=active, roles=ROLE_TITLES)


async def new_person(request: Request) -> Response:
    me = await require(request)
    await _refuse_unless_admin(me)
    return _page(request, me, None, PersonValues(id="", new=True))


async def person_page(request: Request) -> Response:
    me = await require(request)
    person_id = str(request.path_params["person_id"])
    try:
        person = await act(me, person_admin_view, me.person_id, person_id, system_clock())
    except NotFoundError:
        return _not_found(request, me, person_id)
    return _page(request, me, person, _values_of(person), notice=_notice(request, person))


async def save(request: Request) -> Response:
    me = await require(request)
    new = request.url.path == "/people/new"
    person_id = None if new else str(request.path_params["person_id"])
    form = await _form(request, me)
    typed = _typed(form, person_id)
    person = None
    if person_id is None:  # refuses who may not administer, before anything of the form is looked at
        await _refuse_unless_admin(me)
    else:
        try:
            person = await act(me, person_admin_view, me.person_id, person_id, system_clock())
        except NotFoundError:
            return _not_found(request, me, person_id)
    if form.get("add_row"):  # 添加一行: the same page with one more row, nothing saved
        typed.qualifications = [r for r in typed.qualifications if not r.remove]
        return _page(request, me, person, typed, more_rows=1)
    if new and typed.id == "new":  # the address of this page: a person so named could not be opened
        return _page(request, me, None, typed, 400, [("id", "new 是保留字，请换一个编号")])
    try:
        saved = await act(me, save_person, me.person_id, typed, system_clock())
    except FormError as refused:
        return _page(request, me, person, typed, 400, refused.problems)
    except NotFoundError:
        return _not_found(request, me, typed.id)
    done = "added" if saved.added else "updated"
    alone = "&held=alone" if saved.held and not saved.asked else ""  # no other director to confirm it
    return RedirectResponse(f"/people/{quote(saved.person_id)}?saved={done}{alone}", status_code=303)


async def _person_act(request: Request, me: SignedIn, done: str, fn: Any, *args: Any) -> Response:
    """One act on the person of the page's address, then back to their page saying what was done."""
    person_id = str(request.path_params["person_id"])
    try:
        await act(me, fn, me.person_id, person_id, *args, system_clock())
    except NotFoundError:
        return _not_found(request, me, person_id)
    except RefusedError as refused:
        if await act(me, why_not_administer, me.person_id) is not None:
            raise  # not a director: the plain refusal page
        return sentence_page(request, "不能这样做", str(refused), me, 403, back=f"/people/{quote(person_id)}")
    return RedirectResponse(f"/people/{quote(person_id)}?done={done}", status_code=303)


async def active(request: Request) -> Response:
    me = await require(request)
    on = str((await _form(request, me)).get("active") or "") == "1"
    return await _person_act(request, me, "activated" if on else "deactivated", set_active, on)


async def invite(request: Request) -> Response:
    me = await require(request)
    await _form(request, me)
    return await _person_act(request, me, "invite", send_invite, "invite")


async def reset(request: Request) -> Response:
    me = await require(request)
    await _form(request, me)
    return await _person_act(request, me, "reset", send_invite, "reset")


ROUTES = [
    Route("/people", people_list, methods=["GET"]),
    Route("/people/new", new_person, methods=["GET"]),
    Route("/people/new", save, methods=["POST"]),
    Route("/people/{person_id}", person_page, methods=["GET"]),
    Route("/people/{person_id}", save, methods=["POST"]),
    Route("/people/{person_id}/active", active, methods=["POST"]),
    Route("/people/{person_id}/invite", invite, methods=["POST"]),
    Route("/people/{person_id}/reset", reset, methods=["POST"]),
]
