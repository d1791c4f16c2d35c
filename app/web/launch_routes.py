"""从模板启动项目: pick a template (its stages, forms, gates and deadlines shown before anything is
launched), name the project and its community, choose its team from lists that show roles and
qualifications, launch. Who may launch, and every refusal, is the domain's (`launch_view`,
`prepare_launch`); a refusal is shown at the field it names, with what was typed kept. The project
is recorded, then its run asked for as the CLI does; without an orchestration server the run is
created later by `swflow serve`'s reconciler, and the run opens the first stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from swflow.config.clock import SHANGHAI, system_clock
from swflow.config.errors import DefinitionError, FormError, NotFoundError, RefusedError, pydantic_rule
from swflow.domain.people.accounts import SignedIn
from swflow.domain.projects.launch import LaunchRequest, prepare_launch
from swflow.domain.projects.launch_view import LaunchChoices, launch_choices, place_launch_refusal, why_not_launch
from swflow.flows.launching import launch_project

from .door import act, check_csrf, require
from .pages import render, sentence_page

__all__ = ["ROUTES"]

MOST_BYTES = 64 * 1024  # the page's fields: a name, a community, a team
ID_CHARS = 64  # a person's or a template's id, at most (PersonRecord, the templates' slugs)
REQUEST_FIELDS = {
    "template_id": "template",
    "name": "name",
    "community": "community",
    "manager_id": "manager",
    "supervisor_id": "supervisor",
    "worker_ids": "lead",
    "evaluator_id": "evaluator",
}
TITLES = {
    "template": "服务模板",
    "name": "项目名称",
    "community": "服务社区",
    "manager": "项目主管",
    "supervisor": "督导",
    "lead": "主责社工",
    "workers": "其他社工",
    "evaluator": "评估方",
}
EMPTY = {
    "template": "请选择服务模板",
    "name": "必填",
    "community": "必填",
    "manager": "请选择项目主管",
    "supervisor": "请选择督导",
    "lead": "请选择主责社工",
}


@dataclass
class Typed:
    """What the page's fields hold: as typed, kept across a refusal."""

    template: str = ""
    name: str = ""
    community: str = ""
    manager: str = ""
    supervisor: str = ""
    lead: str = ""  # the first worker: every work item is theirs
    workers: list[str] = field(default_factory=list)  # the others
    evaluator: str = ""

    @property
    def worker_ids(self) -> list[str]:
        return [*([self.lead] if self.lead else []), *(w for w in self.workers if w != self.lead)]


def _own_manager(me: SignedIn, choices: LaunchChoices) -> str:
    """A manager launches as the project's manager; a director chooses one (themself, if a manager)."""
    return me.person_id if "manager" in me.roles or not choices.may_choose_manager else ""


def _typed(form: Any, me: SignedIn, choices: LaunchChoices) -> Typed:
    def one(name: str, most: int = ID_CHARS) -> str:
        return str(form.get(name) or "")[:most]

    manager = one("manager") if choices.may_choose_manager else me.person_id
    return Typed(
        template=one("template_id"),
        name=one("name", 1000),
        community=one("community", 1000),
        manager=manager,
        supervisor=one("supervisor"),
        lead=one("lead"),
        workers=list(dict.fromkeys(str(w)[:ID_CHARS] for w in form.getlist("workers") if str(w)))[:200],
        evaluator=one("evaluator"),
    )


def _request(typed: Typed, choices: LaunchChoices) -> LaunchRequest | list[tuple[str, str]]:
    """The launch request the fields make, or what is missing or too long, at its field."""
    values = {
        "template": typed.template,
        "name": typed.name.strip(),
        "community": typed.community.strip(),
        "manager": typed.manager,
        "supervisor": typed.supervisor,
        "lead": typed.lead,
    }
    problems = [(name, rule) for name, rule in EMPTY.items() if not values[name]]
    if typed.template and choices.template(typed.template) is None:
        problems.append(("template", f"没有模板 {typed.template}"))
    try:
        request = LaunchRequest(
            template_id=typed.template,
            name=typed.name.strip(),
            community=typed.community.strip(),
            manager_id=typed.manager,
            supervisor_id=typed.supervisor,
            worker_ids=typed.worker_ids,
            evaluator_id=typed.evaluator or None,
        )
    except ValidationError as invalid:
        said = {name for name, _ in problems}
        for item in invalid.errors():
            where = REQUEST_FIELDS.get(str(item["loc"][0]) if item["loc"] else "", "")
            if where not in said:
                problems.append((where, pydantic_rule(item)))
    return problems or request


def _launch(viewer: str, request: LaunchRequest, today: date) -> tuple[str, str | None]:
    """The act: the viewer may launch with this manager, the team passes every rule, the project is
    recorded (its events through the web door), then its run is asked for (None: not now)."""
    if (refused := why_not_launch(viewer, request.manager_id)) is not None:
        raise RefusedError(refused)
    plan = prepare_launch(request, today).model_copy(update={"launched_by": viewer})  # identity: who signed in
    return plan.project_id, launch_project(plan)


def _page(
    request: Request,
    me: SignedIn,
    choices: LaunchChoices,
    typed: Typed,
    status_code: int = 200,
    problems: list[tuple[str, str]] | None = None,
    unplaced: list[str] | None = None,
) -> Response:
    errs: dict[str, list[str]] = {}
    for where, line in problems or []:
        errs.setdefault(where, []).append(line)
    return render(
        request,
        "launch.html",
        me,
        status_code,
        choices=choices,
        chosen=choices.template(typed.template),
        typed=typed,
        errs=errs,
        problems=[(TITLES[where], line) for where, line in problems or [] if where in TITLES],
        unplaced=[*errs.pop("", []), *(unplaced or [])],
        titles=TITLES,
    )


async def new_project(request: Request) -> Response:
    me = await require(request)
    choices = await act(me, launch_choices, me.person_id, system_clock())  # refuses who may not launch
    wanted = request.query_params.get("template", "")[:ID_CHARS]
    typed = Typed(template=wanted, manager=_own_manager(me, choices))
    if wanted and choices.template(wanted) is None:
        return _page(request, me, choices, typed, 404, [("template", f"没有模板 {wanted}")])
    return _page(request, me, choices, typed)


async def launch(request: Request) -> Response:
    me = await require(request)
    if int(request.headers.get("content-length") or 0) > MOST_BYTES:
        return sentence_page(request, "内容过大", f"一次提交不能超过 {MOST_BYTES} 字节。", me, 413)
    form: Any = await request.form(max_fields=500, max_files=0)
    check_csrf(form, me)
    choices = await act(me, launch_choices, me.person_id, system_clock())  # refuses who may not launch
    typed = _typed(form, me, choices)
    made = _request(typed, choices)
    if isinstance(made, list):
        return _page(request, me, choices, typed, 400, made)
    today = system_clock().astimezone(SHANGHAI).date()
    try:
        project_id, run_id = await act(me, _launch, me.person_id, made, today)
    except (RefusedError, NotFoundError, FormError, DefinitionError) as refused:  # a template broken since
        placed, unplaced = place_launch_refusal(str(refused), made)
        status = 403 if isinstance(refused, RefusedError) else 400
        return _page(request, me, choices, typed, status, placed, unplaced)
    after = "run" if run_id else "waiting"
    return RedirectResponse(f"/projects/{quote(project_id)}?launched={after}", status_code=303)


ROUTES = [
    Route("/projects/new", new_project, methods=["GET"]),
    Route("/projects/new", launch, methods=["POST"]),
]
