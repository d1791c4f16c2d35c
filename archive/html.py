"""The one way archive/ renders HTML (dossier, quality report): jinja2, autoescaped, strict."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined

__all__ = ["html_environment"]


@cache
def html_environment(package: str) -> Environment:
    """Templates from `<package>/templates`; a missing variable is an error, never an empty string."""
    return Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
