"""Load YAML definitions and turn pydantic errors into messages naming file, path and rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from swflow.config.errors import DefinitionError, pydantic_rule
from swflow.config.syntax_words import UNBUILDABLE_VALUE, syntax_error_text

__all__ = ["load_definition", "describe_validation_error"]

M = TypeVar("M", bound=BaseModel)


def describe_validation_error(error: ValidationError) -> list[tuple[str, str]]:
    """(dotted path, rule) for each problem pydantic found."""
    return [(".".join(str(part) for part in item["loc"]) or "(根)", pydantic_rule(item)) for item in error.errors()]


def load_definition(path: Path, model: type[M]) -> M:
    """Parse one YAML file into `model`; every failure is a DefinitionError naming the file."""
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DefinitionError(f"{path}: 不是有效的 YAML：{syntax_error_text(exc)}") from exc
    except ValueError as exc:
        raise DefinitionError(f"{path}: 不是有效的 YAML：{UNBUILDABLE_VALUE}") from exc
    except OSError as exc:
        raise DefinitionError(f"{path}: 无法读取：{exc.strerror}") from exc
    if not isinstance(raw, dict):
        raise DefinitionError(f"{path}: 顶层必须是映射（键: 值）")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{path}: {loc}: {rule}" for loc, rule in describe_validation_error(exc)]
        raise DefinitionError("\n".join(lines)) from exc
