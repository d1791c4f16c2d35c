"""The one way archive/ renders HTML (dossier, quality report): jinja2, autoescaped, strict."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from swflow.config.clock import local_text

__all__ = ["html_environment"]


@cache
def html_environment(package: str) -> Environment:
    """Templates from `<package>/templates`; a missing variable is an error, never an empty string;
    filters `local` and `local_day` show an archived time in Beijing time."""
    environment = Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # archived times are UTC; pages show them as read in Beijing
    environment.filters["local"] = lambda value: local_text(value, empty="—")
    environment.filters["local_day"] = lambda value: local_text(value, day=True, empty="—")
    return environment
