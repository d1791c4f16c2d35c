"""投诉 on the web (§7.5): register one, then on its page acknowledge it, answer, set a corrective or
preventive action, close it with the complainant's feedback — the acts of `swflow complaint`, with
the same working-day deadlines, as the signed-in person through the web door — and mark an action
done (`swflow quality done`). Who may read a complaint and who may act on it is the domain's: one
outside its circle is refused its page by the act. Every problem is shown at its field, nothing is
written, what was typed is kept. The quality pages' form helpers live here (quality_routes uses them)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from swflow.config.clock import system_clock
from swflow.config.errors import FormError, NotFoundError, RefusedError
from swflow.config.limits import LARGEST_ID, get_limits
from swflow.domain.people.accounts import SignedIn
from swflow.domain.projects.project_view import DueWords, due_words
from swflow.domain.quality.actions import ACTION_KINDS, complete_action
from swflow.domain.quality.complaint_views import (
    COMPLAINT_ACTION_KINDS,
    action_problems,
    complaint_choices,
    complaint_page,
    intake_problems,
    place_complaint_refusal,
)
from swflow.domain.quality.complaints import (
    acknowledge_complaint,
    add_complaint_action,
    answer_complaint,
    close_complaint,
    open_complaint,
)

from .door import act, check_csrf, require
from .pages import render, sentence_page

__all__ = ["ROUTES", "Typed", "read_form", "take", "given", "record_id_of", "due_of", "EVENT_WORDS"]

MOST_BYTES = 512 * 1024  # a quality page's fields: texts, never files
BACK = re.compile(r"/quality/(complaints|supervision)/[0-9]{1,19}")
EVENT_WORDS = {
    "complaint.opened": "登记投诉",
    "complaint.acknowledged": "确认受理",
    "complaint.answered": "答复投诉人",
    "complaint.closed": "记录反馈并结案",
    "incident.reported": "登记事件",
    "incident.amended": "事件记录更正",
    "incident.closed": "记录后续跟进并结束",
    "supervision.recorded": "记录督导",
    "action.added": "布置行动",
    "action.done": "行动完成",
    "deadline.escalated": "期限提醒或升级",
}
INTAKE = {
    "channel": "渠道",
    "content": "投诉内容",
    "contact": "投诉人及联系方式",
    "project": "涉及的项目",
    "service": "涉及的服务",
    "handler": "处理人",
}
ACT_FIELDS = {
    "ack": {"note": "受理说明"},
    "answer": {"answer": "答复内容"},
    "action": {"kind": "行动类别", "owner": "负责人", "due": "期限", "text": "行动内容"},
    "close": {"feedback": "投诉人的反馈", "satisfied": "投诉人是否满意"},
}
LONG_TEXTS = {  # textareas: the long-text limit; any other field: the one-line limit
    *("content", "answer", "feedback", "text", "note", "people_involved", "description", "handling"),
    *("follow_up", "topics", "decisions"),
}
DONE_WORDS = {
    "opened": "投诉已登记，处理人已收到通知（不含投诉内容）。",
    "ack": "已记录：确认受理。",
    "answer": "已记录：答复投诉人。",
    "action": "行动已布置，负责人会收到通知。",
    "close": "已记录投诉人的反馈，投诉已结案。",
    "action_done": "行动已标记完成。",
}


@dataclass
class Typed:
    """What a page's fields hold (key `form.field`), as typed, and the problems placed at them."""

    values: dict[str, str] = field(default_factory=dict)
    many: dict[str, list[str]] = field(default_factory=dict)
    errs: dict[str, list[str]] = field(default_factory=dict)
    listed: list[tuple[str, str]] = field(default_factory=list)  # (field title, rule), the summary
    unplaced: list[str] = field(default_factory=list)
    form: str = ""  # the form the problems are about

    def val(self, key: str) -> str:
        return self.values.get(key, "")

    def vals(self, key: str) -> list[str]:
        return self.many.get(key, [])

    def err(self, key: str) -> list[str]:
        return self.errs.get(key, [])

    def place(self, form: str, problems: Iterable[tuple[str, str]], title: Callable[[str], str | None]) -> None:
        """Each (field, rule) at its field when the form has it, else among the page's sentences."""
        self.form = form
        for where, rule in problems:
            name = title(where) if where else None
            if name is None:
                self.unplaced.append(f"{where}：{rule}" if where and where != "(根)" else rule)
                continue
            self.errs.setdefault(f"{form}.{where}", []).append(rule)
            self.listed.append((name, rule))


async def read_form(request: Request, me: SignedIn) -> Any:
    """The posted fields (a page's texts, no files), after the CSRF check; a Response when too large."""
    if int(request.headers.get("content-length") or 0) > MOST_BYTES:
        return sentence_page(request, "内容过大", f"一次提交不能超过 {MOST_BYTES} 字节。", me, 413)
    form: Any = await request.form(max_fields=500, max_files=0)
    check_csrf(form, me)
    return form


def take(form: Any, typed: Typed, prefix: str, names: Iterable[str]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The named fields as typed (kept in `typed` under `prefix.`) and the ones longer than swflow accepts."""
    limits = get_limits()
    values, problems = {}, []
    for name in names:
        value = str(form.get(name) or "").replace("\r\n", "\n")
        values[name] = typed.values[f"{prefix}.{name}"] = value
        most = limits.longtext_chars if name in LONG_TEXTS else limits.text_chars
        if len(value) > most:
            problems.append((name, f"最多 {most} 个字符"))
    return values, problems


def given(values: Mapping[str, str]) -> dict[str, str]:
    """The fields filled in: a blank one is not given (the act then says 必填, or takes its default)."""
    return {name: value for name, value in values.items() if value.strip()}


def record_id_of(request: Request, name: str) -> int | None:
    number = int(request.path_params[name])
    return number if number <= LARGEST_ID else None


def due_of(now: datetime) -> Callable[[str | None], DueWords]:
    """A deadline (UTC ISO, as the acts give it) in working days at `now`, for a page to show."""
    return lambda value: due_words(datetime.fromisoformat(value) if value else None, now)


def _titles(names: Mapping[str, str]) -> Callable[[str], str | None]:
    return lambda where: names.get(where)


async def _new_page(request: Request, me: SignedIn, typed: Typed, status_code: int = 200) -> Response:
    choices = await act(me, complaint_choices)
    return render(request, "quality_complaint_new.html", me, status_code, choices=choices, t=typed)


async def new_complaint(request: Request) -> Response:
    me = await require(request)
    typed = Typed(values={"open.channel": "phone"})
    return await _new_page(request, me, typed)


async def open_new(request: Request) -> Response:
    me = await require(request)
    form = await read_form(request, me)
    if isinstance(form, Response):
        return form
    typed = Typed()
    values, problems = take(form, typed, "open", INTAKE)
    status = 400
    if not problems:
        problems = await act(me, intake_problems, given(values))  # every field at once, nothing written
    if not problems:
        try:
            opened = await act(me, open_complaint, given(values), me.person_id, system_clock())
            return RedirectResponse(f"/quality/complaints/{opened['id']}?done=opened", status_code=303)
        except FormError as invalid:
            problems = invalid.problems
        except (NotFoundError, RefusedError) as refused:
            problems, status = [place_complaint_refusal(str(refused), values)], 403
    typed.place("open", problems, _titles(INTAKE))
    return await _new_page(request, me, typed, status)


async def _page(request: Request, me: SignedIn, typed: Typed, status_code: int = 200) -> Response:
    complaint_id = record_id_of(request, "complaint_id")
    now = system_clock()
    try:
        if complaint_id is None:
            raise NotFoundError("没有这宗投诉")
        view = await act(me, complaint_page, complaint_id, me.person_id, now)  # refuses outside its circle
    except NotFoundError as missing:
        return sentence_page(request, "找不到投诉", str(missing), me, 404, back="/quality")
    except RefusedError as refused:
        return sentence_page(request, "不能查看这宗投诉", str(refused), me, 403, back="/quality")
    choices = await act(me, complaint_choices)
    typed.values.setdefault("action.kind", "corrective")
    notice = DONE_WORDS.get(request.query_params.get("done", ""), "") if status_code == 200 else ""
    return render(
        request,
        "quality_complaint.html",
        me,
        status_code,
        c=view,
        choices=choices,
        t=typed,
        notice=notice,
        due=due_of(now),
        EVENT_WORDS=EVENT_WORDS,
        ACTION_KINDS=ACTION_KINDS,
    )


async def show(request: Request) -> Response:
    me = await require(request)
    return await _page(request, me, Typed())


async def _run(me: SignedIn, what: str, complaint_id: int, values: dict[str, str]) -> None:
    now, by = system_clock(), me.person_id
    if what == "ack":
        await act(me, acknowledge_complaint, complaint_id, by, values["note"], now)
    elif what == "answer":
        await act(me, answer_complaint, complaint_id, by, values["answer"], now)
    elif what == "action":
        if values["kind"] not in COMPLAINT_ACTION_KINDS:  # as `--kind` allows (argparse's choices)
            raise FormError("行动类别", [("kind", "请选择纠正行动或预防行动")])
        action = given({k: values[k] for k in ("owner", "due", "text")})
        if problems := await act(me, action_problems, action):  # every field at once, nothing written
            raise FormError("行动", problems)
        await act(me, add_complaint_action, complaint_id, by, values["kind"], action, now)
    else:
        if values["satisfied"] not in ("", "yes", "no"):  # as `--satisfied` allows
            raise FormError("是否满意", [("satisfied", "请选择满意、不满意或未表示")])
        satisfied = {"yes": True, "no": False}.get(values["satisfied"])
        await act(me, close_complaint, complaint_id, by, values["feedback"], satisfied, now)


def _complaint_act(what: str) -> Callable[[Request], Any]:
    async def handle(request: Request) -> Response:
        me = await require(request)
        form = await read_form(request, me)
        if isinstance(form, Response):
            return form
        complaint_id = record_id_of(request, "complaint_id")
        if complaint_id is None:
            return sentence_page(request, "找不到投诉", "没有这宗投诉", me, 404, back="/quality")
        typed = Typed()
        values, problems = take(form, typed, what, ACT_FIELDS[what])
        status = 400
        if not problems:
            try:
                await _run(me, what, complaint_id, values)
                return RedirectResponse(f"/quality/complaints/{complaint_id}?done={what}", status_code=303)
            except FormError as invalid:
                problems = invalid.problems
            except NotFoundError as missing:
                problems = [place_complaint_refusal(str(missing), values)]
            except RefusedError as refused:
                problems, status = [place_complaint_refusal(str(refused), values)], 403
        typed.place(what, problems, _titles(ACT_FIELDS[what]))
        return await _page(request, me, typed, status)

    return handle


async def action_done(request: Request) -> Response:
    """`swflow quality done`: the owner, whoever set the action, or a director (the act decides)."""
    me = await require(request)
    form = await read_form(request, me)
    if isinstance(form, Response):
        return form
    back = str(form.get("back") or "")
    back = back if BACK.fullmatch(back) else "/quality"
    action_id = record_id_of(request, "action_id")
    typed = Typed()
    values, problems = take(form, typed, "done", ["note"])
    if problems:
        return sentence_page(request, "输入有误", f"完成说明：{problems[0][1]}", me, 400, back=back)
    try:
        if action_id is None:
            raise NotFoundError("没有这项行动")
        await act(me, complete_action, action_id, me.person_id, values["note"], system_clock())
    except NotFoundError as missing:
        return sentence_page(request, "找不到行动", str(missing), me, 404, back=back)
    except RefusedError as refused:
        return sentence_page(request, "不能这样做", str(refused), me, 403, back=back)
    return RedirectResponse(f"{back}?done=action_done", status_code=303)


ROUTES = [
    Route("/quality/complaints/new", new_complaint, methods=["GET"]),
    Route("/quality/complaints/new", open_new, methods=["POST"]),
    Route("/quality/complaints/{complaint_id:int}", show, methods=["GET"]),
    *(
        Route(f"/quality/complaints/{{complaint_id:int}}/{what}", _complaint_act(what), methods=["POST"])
        for what in ACT_FIELDS
    ),
    Route("/quality/actions/{action_id:int}/done", action_done, methods=["POST"]),
]
