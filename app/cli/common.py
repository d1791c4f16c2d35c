"""What every command module shares: reading input files, `--now`, printing JSON, and the domain's
acts once the archive's schema is known to be current."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from swflow.config.clock import SHANGHAI, system_clock
from swflow.config.errors import FormError

__all__ = ["domain_acts", "print_json", "parse_now", "read_data_file"]


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False))


def read_data_file(path: str, flag: str = "--data") -> Any:
    """Data from a YAML or JSON file; a bad file is bad input (exit 2) naming the file and the rule:
    too big (checked before reading), not UTF-8, not YAML/JSON, NaN, too deep, too long a text."""
    from swflow.config.limits import read_input_file

    return read_input_file(path, flag)


def parse_now(value: str | None, flag: str = "--now") -> datetime:
    """`--now` (ISO 8601; without a zone, Beijing time), or the clock when it is not given."""
    if value is None:
        return system_clock()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise FormError(
            f"{flag}：{value[:80]} 不是 ISO 8601 时间（例如 2026-03-02T09:00:00，无时区按北京时间）",
            [(flag, "ISO 8601 时间")],
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def domain_acts() -> Any:
    """The domain's acts, once the archive's schema is known to be current."""
    from swflow import db, domain

    db.ensure_current()
    return domain
