"""The one exception tree of swflow. The CLI maps each class to an exit code (DESIGN.md §9)."""

from __future__ import annotations

__all__ = [
    "SwflowError",
    "DefinitionError",
    "FormError",
    "NotFoundError",
    "RefusedError",
    "AlreadyDecidedError",
    "ServerNotRunningError",
    "ArchiveNotInitialisedError",
]


class SwflowError(Exception):
    """Base of every error swflow raises on purpose."""

    exit_code = 1


class DefinitionError(SwflowError, ValueError):
    """A template or form definition breaks a rule: names the file, the path in it and the rule."""

    exit_code = 2


class FormError(SwflowError, ValueError):
    """Submitted data breaks a form rule. `problems` lists (field, rule) pairs."""

    exit_code = 2

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class NotFoundError(SwflowError, LookupError):
    """A project, person, stage or form named on the command line does not exist."""

    exit_code = 2


class RefusedError(SwflowError, PermissionError):
    """An act is not allowed: wrong role, wrong state, four eyes."""

    exit_code = 3


class AlreadyDecidedError(RefusedError):
    """Someone else's decision on this gate was recorded first."""


class ServerNotRunningError(SwflowError, ConnectionError):
    """The local orchestration server is not reachable."""

    exit_code = 1


class ArchiveNotInitialisedError(SwflowError, RuntimeError):
    """The archive database is missing or its schema is out of date."""

    exit_code = 1
