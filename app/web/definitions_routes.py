"""模板与量表: the agency's definitions beside swflow's (issue 17, web part 2) — the catalogue of every
kind, a template's page (what the launch page would offer of it), a definition's text read-only, and
for directors (机构负责人) the editor: a copy or the current text in a textarea (or an uploaded .yaml),
检查 saying every problem at its place and saving nothing, 保存 writing it as `swflow templates new` +
`validate` do. Who may, and every rule, is the domain's (`swflow.domain.agency.definitions_admin`); a
save runs through the web door as the signed-in director; anyone else is refused, not only hidden."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from swflow.config.clock import system_clock
from swflow.config.definitions import KINDS
from swflow.config.errors import FormError, NotFoundError, RefusedError
from swflow.domain.agency.definitions_admin import (
    MOST_CHARS,
    Checked,
    check_definition,
    definition_row,
    definition_text,
    definitions_catalogue,
    draft_copy,
    save_definition,
    template_page,
    why_not_define,
    why_not_view_definitions,
)
from swflow.domain.people.accounts import SignedIn

from .door import act, check_csrf, require
from .pages import render, sentence_page

__all__ = ["ROUTES"]

MOST_BYTES = 4 * MOST_CHARS + 64 * 1024  # the textarea (up to 3 bytes a character) and one upload
ID_CHARS = 60  # a definition's id, at most (the domain's rule)
SECTIONS = {  # the catalogue's order and headings
    "templates": "模板",
    "forms": "表单",
    "instruments": "量表/问卷",
    "scorecards": "记分卡",
    "escalation": "升级策略",
}
AGENCY_START = "本机构的定义文件：修改内容后请把 version 加 1 再保存"
SHIPPED_START = "swflow 自带的定义：保存为本机构的新版本（同一 id，版本加 1）"
PLACES = {"": "整份定义", "upload": "上传文件", "new_id": "新的 id"}


def page_of(kind: str, def_id: str) -> str:
    """Where a definition is read: a template's page, the instrument pages' forms and instruments,
    else its text."""
    if kind == "templates":
        return f"/definitions/templates/{quote(def_id)}"
    if kind in ("forms", "instruments"):
        return f"/definitions/{kind}/{quote(def_id)}"
    return f"/definitions/{kind}/{quote(def_id)}/source"


async def _viewer(request: Request) -> SignedIn:
    me = await require(request)
    if (refused := await act(me, why_not_view_definitions, me.person_id)) is not None:
        raise RefusedError(refused)
    return me


async def _director(request: Request) -> SignedIn:
    me = await require(request)
    if (refused := await act(me, why_not_define, me.person_id)) is not None:
        raise RefusedError(refused)
    return me


def _not_found(request: Request, me: SignedIn, what: str) -> Response:
    return sentence_page(request, "找不到定义", f"{what}。", me, 404, back="/definitions")


def _kind_of(request: Request) -> str | None:
    kind = str(request.path_params["kind"])
    return kind if kind in KINDS else None


def _problems(problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(PLACES.get(where, where), rule) for where, rule in problems]


async def catalogue(request: Request) -> Response:
    me = await _viewer(request)
    shown = await act(me, definitions_catalogue, me.person_id)
    return render(request, "definitions.html", me, c=shown, sections=SECTIONS, page_of=page_of, errs={}, typed={})


async def template(request: Request) -> Response:
    me = await _viewer(request)
    return await _template_page(request, me, str(request.path_params["def_id"])[:ID_CHARS])


async def _template_page(
    request: Request, me: SignedIn, template_id: str, errs: dict[str, list[str]] | None = None, new_id: str = ""
) -> Response:
    try:
        shown = await act(me, template_page, me.person_id, template_id, system_clock())
    except NotFoundError:
        return _not_found(request, me, f"没有模板 {template_id}")
    notice = None
    if (saved := request.query_params.get("saved", "")).isdigit() and int(saved) == shown.template.version:
        notice = _saved_words("templates", template_id, int(saved))
    return render(
        request, "definition_template.html", me, 400 if errs else 200,
        p=shown, t=shown.template, notice=notice, errs=errs or {}, new_id=new_id,
    )  # fmt: skip


def _saved_words(kind: str, def_id: str, version: int) -> str:
    return f"已保存{KINDS[kind]} {def_id} v{version}，新项目将使用此版本；进行中的项目仍按启动时的版本。"


async def source(request: Request) -> Response:
    me = await _viewer(request)
    kind, def_id = _kind_of(request), str(request.path_params["def_id"])[:ID_CHARS]
    if kind is None:
        return _not_found(request, me, f"没有这类定义：{request.path_params['kind']}")
    try:
        row = await act(me, definition_row, me.person_id, kind, def_id)
        text = await act(me, definition_text, me.person_id, kind, def_id)
    except NotFoundError:
        return _not_found(request, me, f"没有{KINDS[kind]} {def_id}")
    notice = None
    if (saved := request.query_params.get("saved", "")).isdigit() and int(saved) == row.version:
        notice = _saved_words(kind, def_id, int(saved))
    may_define = await act(me, why_not_define, me.person_id) is None
    return render(
        request, "definition_source.html", me, row=row, kind=kind, kinds=KINDS, text=text,
        page=page_of(kind, def_id), may_define=may_define, notice=notice,
    )  # fmt: skip


def _editor(
    request: Request, me: SignedIn, kind: str, text: str, action: str, status_code: int = 200,
    problems: list[tuple[str, str]] | None = None, checked: Checked | None = None, refused: str | None = None,
    start: str = "",
) -> Response:  # fmt: skip
    return render(
        request, "definition_edit.html", me, status_code, kind=kind, kinds=KINDS, text=text,
        problems=_problems(problems or []), checked=checked, action=action, refused=refused, start=start,
        most=MOST_CHARS,
    )  # fmt: skip


async def edit(request: Request) -> Response:
    """The editor on the text in use: the agency's file as it is; a swflow definition as a copy under the
    same id at the next version (an agency file of that id then wins for new projects)."""
    me = await _director(request)
    kind, def_id = _kind_of(request), str(request.path_params["def_id"])[:ID_CHARS]
    if kind is None:
        return _not_found(request, me, f"没有这类定义：{request.path_params['kind']}")
    try:
        row = await act(me, definition_row, me.person_id, kind, def_id)
        if row.agency:
            text = await act(me, definition_text, me.person_id, kind, def_id)
        else:
            text = await act(me, draft_copy, me.person_id, kind, def_id, def_id)
    except NotFoundError:
        return _not_found(request, me, f"没有{KINDS[kind]} {def_id}")
    start = AGENCY_START if row.agency else SHIPPED_START
    return _editor(request, me, kind, text, request.url.path, start=start)


async def new(request: Request) -> Response:
    """The editor on a copy of `from` under `new_id` (nothing written until 保存)."""
    me = await _director(request)
    kind = _kind_of(request)
    if kind is None:
        return _not_found(request, me, f"没有这类定义：{request.path_params['kind']}")
    source_id = request.query_params.get("from", "")[:ID_CHARS]
    new_id = request.query_params.get("new_id", "")[: ID_CHARS + 1]
    if not source_id:
        return sentence_page(request, "输入有误", "请先选择要复制的定义。", me, 400, back="/definitions")
    try:
        text = await act(me, draft_copy, me.person_id, kind, source_id, new_id)
    except NotFoundError:
        return _not_found(request, me, f"没有{KINDS[kind]} {source_id}")
    except FormError as refused:
        errs = {"new_id": [rule for _, rule in refused.problems] or [str(refused)]}
        if kind == "templates":
            return await _template_page(request, me, source_id, errs, new_id)
        return sentence_page(request, "输入有误", str(refused), me, 400, back="/definitions")
    start = f"复制自{KINDS[kind]} {source_id}：检查无误后保存为本机构的定义"
    return _editor(request, me, kind, text, f"/definitions/{kind}/new", start=start)


async def _typed(request: Request, me: SignedIn) -> tuple[Any, str, list[tuple[str, str]]]:
    """The form (size-bounded, CSRF-checked) and the text it carries: an uploaded file in place of the
    textarea; a file too long or not UTF-8 is a problem at 上传文件, the textarea kept."""
    length = request.headers.get("content-length")
    if length is None or not length.isdigit() or int(length) > MOST_BYTES:
        raise FormError(f"一次提交不能超过 {MOST_BYTES} 字节；一份定义至多 {MOST_CHARS} 个字符")
    form = await request.form(max_fields=10, max_files=1, max_part_size=MOST_BYTES)
    check_csrf(form, me)
    text = str(form.get("text") or "")
    upload = form.get("upload")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return form, text, []
    data = await upload.read(MOST_CHARS + 1)  # never more than one definition's worth
    if not data:
        return form, text, [("upload", f"{upload.filename} 是空文件：没有可检查的内容")]
    if len(data) > MOST_CHARS:
        return form, text, [("upload", f"{upload.filename} 超过 {MOST_CHARS} 字节：一份定义不能这么长，没有读取")]
    try:
        return form, data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        return form, text, [("upload", f"{upload.filename} 不是 UTF-8 编码的文本：请用 UTF-8 保存后再上传")]


async def submit(request: Request) -> Response:
    """检查 (nothing saved) or 保存, on the editor of either address."""
    me = await require(request)
    kind = _kind_of(request)
    form, text, problems = await _typed(request, me)
    me = await _director(request)
    if kind is None:
        return _not_found(request, me, f"没有这类定义：{request.path_params['kind']}")
    action = request.url.path
    if problems:
        return _editor(request, me, kind, text, action, 400, problems)
    if form.get("do") != "save":
        checked = await act(me, check_definition, kind, text)
        return _editor(request, me, kind, text, action, 200 if checked.ok else 400, checked.problems, checked)
    try:
        saved = await act(me, save_definition, me.person_id, kind, text, system_clock())
    except FormError as refused:
        return _editor(request, me, kind, text, action, 400, refused.problems or [("", str(refused))])
    except RefusedError as refused:
        if await act(me, why_not_define, me.person_id) is not None:
            raise
        return _editor(request, me, kind, text, action, 403, refused=str(refused))
    where = page_of(kind, saved.id) if kind == "templates" else f"/definitions/{kind}/{quote(saved.id)}/source"
    return RedirectResponse(f"{where}?saved={saved.version}", status_code=303)


ROUTES = [
    Route("/definitions", catalogue, methods=["GET"]),
    Route("/definitions/{kind}/new", new, methods=["GET"]),  # before a template named `new`
    Route("/definitions/{kind}/new", submit, methods=["POST"]),
    Route("/definitions/templates/{def_id}", template, methods=["GET"]),
    Route("/definitions/{kind}/{def_id}/source", source, methods=["GET"]),
    Route("/definitions/{kind}/{def_id}/edit", edit, methods=["GET"]),
    Route("/definitions/{kind}/{def_id}/edit", submit, methods=["POST"]),
]
