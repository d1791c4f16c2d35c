"""Settings, the clock, the business calendar, templates and the exception tree."""

from swflow.config.calendar import add_working_days, due_at, is_working_day
from swflow.config.clock import SHANGHAI, Clock, fixed_clock, system_clock
from swflow.config.errors import (
    AlreadyDecidedError,
    ArchiveNotInitialisedError,
    DefinitionError,
    FormError,
    NotFoundError,
    RefusedError,
    ServerNotRunningError,
    SwflowError,
)
from swflow.config.settings import Settings, get_settings, home_dir
from swflow.config.templates import GateRule, StageSpec, Template, get_template, list_templates, load_template

__all__ = [
    "SHANGHAI",
    "AlreadyDecidedError",
    "ArchiveNotInitialisedError",
    "Clock",
    "DefinitionError",
    "FormError",
    "GateRule",
    "NotFoundError",
    "RefusedError",
    "ServerNotRunningError",
    "Settings",
    "StageSpec",
    "SwflowError",
    "Template",
    "add_working_days",
    "due_at",
    "fixed_clock",
    "get_settings",
    "get_template",
    "home_dir",
    "is_working_day",
    "list_templates",
    "load_template",
    "system_clock",
]
