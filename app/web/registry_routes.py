"""服务对象 (people served, §8.3.2) on the web: find among those the viewer may see, register with the consent
given and what each purpose covers, the duplicate warning the domain gives (a record of another circle is
never named: only the ids the registrar may see are offered as a merge), and a person's record as the viewer
may see it (sensitive fields show the mask marker), with consent recorded and withdrawn there. Every act is
the signed-in person's (`swflow.domain.registry`), through the web door; a refusal is shown at the field it
names, what was typed kept, nothing written."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from swflow.config.clock import SHANGHAI, system_clock
from swflow.config.errors import FormError, NotFoundError, RefusedError
from swflow.config.registry import registry_settings
from swflow.domain.people.accounts import SignedIn
from swflow.domain.registry.people import ConsentGiven, Registration, record_consent, register_person, withdraw_consent
from swflow.domain.registry.people_queries import find_people, show_person
from swflow.domain.registry.registry_views import MASK, DuplicateOffer, duplicate_offer, person_fields_shown
from swflow.domain.registry.specs import checked, record_spec

from .door import act, check_csrf, require
from .pages import render, sentence_page

__all__ = ["ROUTES"]

MOST_BYTES = 32 * 1024
TEXT_CHARS = 2000
NAMED = re.compile(r"（([a-z][a-z0-9_]*)）$")
FLAGS = {"--purpose": "consent", "--date": "consent_date", "--consent-date": "consent_date"}
TEXTS = ("name", "gender", "birth_year", "phone", "address", "community", "notes", "project", "consent_date")
GIVEN_BY = {"self": "本人", "guardian": "监护人"}


@dataclass
class Typed:
    """The registration form as typed, kept across a refusal."""

    values: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    consents: list[str] = field(default_factory=list)
    guardian: bool = False

    def val(self, key: str) -> str:
        return self.values.get(key, "")


def _place(problems: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Each rule at the field it names (`姓名（name）`, `--purpose`); the rest at the top ("")."""
    errs: dict[str, list[str]] = {}
    for where, rule in problems:
        named = NAMED.search(where)
        key = named.group(1) if named else FLAGS.get(where, "")
        errs.setdefault(key, []).append(rule if key else f"{where}：{rule}")
    return errs


async def _form(request: Request, me: SignedIn) -> Any:
    if int(request.headers.get("content-length") or 0) > MOST_BYTES:
        raise FormError(f"一次提交不能超过 {MOST_BYTES} 字节")
    form = await request.form(max_fields=100, max_files=0)
    check_csrf(form, me)
    return form


def _today() -> date:
    return system_clock().astimezone(SHANGHAI).date()


def _day(text: str, key: str, errs: dict[str, list[str]]) -> date:
    if not text:
        return _today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        errs.setdefault(key, []).append("须是日期（年-月-日）")
        return _today()


def _typed(form: Any) -> Typed:
    return Typed(
        values={k: str(form.get(k) or "").strip()[:TEXT_CHARS] for k in TEXTS},
        tags=[str(t)[:40] for t in form.getlist("tags")][:20],
        consents=[str(c)[:40] for c in form.getlist("consent")][:20],
        guardian=bool(form.get("guardian")),
    )


def _data(typed: Typed) -> dict[str, Any]:
    data: dict[str, Any] = {k: typed.val(k) for k in TEXTS[:7] if typed.val(k)}
    if typed.tags:
        data["tags"] = typed.tags
    if re.fullmatch(r"[0-9]{1,4}", data.get("birth_year", "")):
        data["birth_year"] = int(data["birth_year"])
    return data


def _new_page(
    request: Request,
    me: SignedIn,
    typed: Typed,
    status_code: int = 200,
    errs: dict[str, list[str]] | None = None,
    duplicate: tuple[str, DuplicateOffer] | None = None,
) -> Response:
    return render(
        request,
        "registry_person_new.html",
        me,
        status_code,
        typed=typed,
        errs=errs or {},
        fields={f.name: f for f in record_spec("person").fields},
        purposes=registry_settings().consent_purposes,
        duplicate=duplicate,
    )


async def people_find(request: Request) -> Response:
    me = await require(request)
    q = {k: request.query_params.get(k, "").strip()[:200] for k in ("name", "phone", "birth_year", "project", "tag")}
    errs: dict[str, list[str]] = {}
    year = None
    if q["birth_year"]:
        if re.fullmatch(r"[0-9]{4}", q["birth_year"]):
            year = int(q["birth_year"])
        else:
            errs["birth_year"] = ["须是四位数的年份"]
    asked = any(q.values())
    found: list[dict[str, Any]] = []
    if not errs:
        found = await act(
            me, find_people, me.person_id, q["name"] or None, q["phone"] or None, year, q["project"] or None,
            q["tag"] or None,
        )  # fmt: skip
    gender = record_spec("person").fields
    genders = next((f.choices or {} for f in gender if f.name == "gender"), {})
    tags = next((f.choices or {} for f in gender if f.name == "tags"), {})
    return render(
        request, "registry.html", me, 400 if errs else 200, q=q, errs=errs, found=found, asked=asked,
        genders=genders, tags=tags,
    )  # fmt: skip


async def new_person(request: Request) -> Response:
    me = await require(request)
    return _new_page(request, me, Typed())


async def register(request: Request) -> Response:
    me = await require(request)
    form = await _form(request, me)
    typed = _typed(form)
    errs: dict[str, list[str]] = {}
    given_on = _day(typed.val("consent_date"), "consent_date", errs)
    data = _data(typed)
    try:
        checked("person", data)  # every field's rule at once, before anything is tried
    except FormError as invalid:
        for key, lines in _place(invalid.problems).items():
            errs.setdefault(key, []).extend(lines)
    merge = str(form.get("merge_into") or "")
    if errs:
        return _new_page(request, me, typed, 400, errs)
    given_by: Literal["self", "guardian"] = "guardian" if typed.guardian else "self"
    request_ = Registration(
        data=data,
        project=typed.val("project") or None,
        consents=[ConsentGiven(purpose=p, given_on=given_on, given_by=given_by) for p in typed.consents],
        merge_into=int(merge) if merge.isdigit() and len(merge) < 12 else None,
        not_duplicate=bool(form.get("not_duplicate")),
    )
    try:
        done = await act(me, register_person, request_, me.person_id, system_clock())
    except FormError as invalid:
        return _new_page(request, me, typed, 400, _place(invalid.problems))
    except NotFoundError as missing:
        return _new_page(request, me, typed, 400, {"project": [str(missing)]})
    except RefusedError as refused:
        offer = await act(me, duplicate_offer, me.person_id, data)
        if offer.found and request_.merge_into is None and not request_.not_duplicate:
            return _new_page(request, me, typed, 409, duplicate=(str(refused).splitlines()[0], offer))
        where = "project" if typed.val("project") and "项目" in str(refused) else ""
        return _new_page(request, me, typed, 403, {where: [str(refused).splitlines()[0]]})
    said = "merged" if done["merged"] else "registered"
    return RedirectResponse(f"/registry/people/{done['id']}?saved={said}", status_code=303)


NOTICES = {
    "registered": "已登记。",
    "merged": "已把本次登记的信息补充进这条已有记录（只补空缺、不覆盖）。",
    "consent": "已记录同意。",
    "withdrawn": "已记录撤回同意：此后不再按该用途使用其信息。",
}


async def _person_page(
    request: Request, me: SignedIn, person_id: int, status_code: int = 200, errs: dict[str, list[str]] | None = None
) -> Response:
    try:
        card = await act(me, show_person, person_id, me.person_id, system_clock())
    except NotFoundError:
        return sentence_page(request, "找不到服务对象", f"没有服务对象 #{person_id}。", me, 404, back="/registry")
    return render(
        request,
        "registry_person.html",
        me,
        status_code,
        card=card,
        shown=person_fields_shown(card["data"]),
        mask=MASK,
        purposes=registry_settings().consent_purposes,
        given_by=GIVEN_BY,
        errs=errs or {},
        notice=NOTICES.get(request.query_params.get("saved", "")),
    )


async def person_page(request: Request) -> Response:
    me = await require(request)
    return await _person_page(request, me, int(request.path_params["person_id"]))


async def consent(request: Request) -> Response:
    """记录同意 or 撤回同意 on the person's page; a refusal outside the circle is the domain's (403)."""
    me = await require(request)
    person_id = int(request.path_params["person_id"])
    form = await _form(request, me)
    withdraw = request.url.path.endswith("/withdraw")
    purpose = str(form.get("purpose") or "")[:40]
    errs: dict[str, list[str]] = {}
    on = _day(str(form.get("date") or "").strip()[:20], "withdraw_date" if withdraw else "consent_date", errs)
    if not purpose:
        errs.setdefault("withdraw" if withdraw else "consent", []).append("请选择同意用途")
    if errs:
        return await _person_page(request, me, person_id, 400, errs)
    try:
        if withdraw:
            await act(me, withdraw_consent, person_id, purpose, on, me.person_id, system_clock())
        else:
            given = ConsentGiven(purpose=purpose, given_on=on, given_by="guardian" if form.get("guardian") else "self")
            await act(me, record_consent, person_id, given, me.person_id, system_clock())
    except FormError as invalid:
        return await _person_page(request, me, person_id, 400, _place(invalid.problems))
    except NotFoundError:
        return sentence_page(request, "找不到服务对象", f"没有服务对象 #{person_id}。", me, 404, back="/registry")
    return RedirectResponse(
        f"/registry/people/{person_id}?saved={'withdrawn' if withdraw else 'consent'}", status_code=303
    )


ROUTES = [
    Route("/registry", people_find, methods=["GET"]),
    Route("/registry/people/new", new_person, methods=["GET"]),
    Route("/registry/people/new", register, methods=["POST"]),
    Route("/registry/people/{person_id:int}", person_page, methods=["GET"]),
    Route("/registry/people/{person_id:int}/consent", consent, methods=["POST"]),
    Route("/registry/people/{person_id:int}/withdraw", consent, methods=["POST"]),
]
