"""Rendering pages: one jinja2 environment (autoescaped, strict), times in Beijing time, and the
sentence pages a refusal or an error becomes (never a stack trace)."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse

from swflow.config.clock import local_text
from swflow.domain.people.accounts import SignedIn
from swflow.domain.people.rules import ROLE_TITLES

__all__ = ["render", "sentence_page", "ROLE_NAMES"]

ROLE_NAMES = ROLE_TITLES  # one list of role titles (the evaluator, 评估方, included)


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("swflow.app.web", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # packaged templates: never stat a file per page
    )
    environment.filters["local"] = lambda value: local_text(value, empty="—")
    environment.filters["local_day"] = lambda value: local_text(value, day=True, empty="—")
    environment.globals["ROLE_NAMES"] = ROLE_NAMES
    return environment


def render(
    request: Request, template: str, me: SignedIn | None = None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    page = _environment().get_template(template).render(request=request, me=me, status_code=status_code, **context)
    return HTMLResponse(page, status_code=status_code)


def sentence_page(
    request: Request, title: str, sentence: str, me: SignedIn | None = None, status_code: int = 200, back: str = "/"
) -> HTMLResponse:
    """A page that says one thing: a refusal, an error, a done act."""
    return render(request, "sentence.html", me, status_code, title=title, sentence=sentence, back=back)
