"""What every command module shares: reading input files, `--now`, printing JSON, and the domain's
acts once the archive's schema is known to be current."""

from __future__ import annotations

import getpass
import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from swflow.config.clock import SHANGHAI, system_clock
from swflow.config.errors import FormError, StorageError, bad_path, os_error_text

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


def writable_file(path: str, flag: str = "--out") -> Path:
    """The output file, or bad input (exit 2) before anything is recorded."""
    out = Path(path)
    try:
        odd = out.is_symlink() or (out.exists() and not out.is_file())
        parent = out.absolute().parent.is_dir()
    except OSError as exc:  # a name too long, a loop of links: the path itself is wrong
        raise bad_path(flag, path, exc) from exc
    if odd:
        raise FormError(f"{flag}：{path} 是目录、符号链接或设备：请给出一个普通文件的路径", [(flag, "普通文件路径")])
    if not parent:
        raise FormError(f"{flag}：{path} 的上级目录不存在", [(flag, "上级目录须存在")])
    return out


def write_file(out: Path, text: str, flag: str = "--out") -> None:
    """Beside the target first, then moved over it: a full disk leaves the old file, not half a new one."""
    handle, staging = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.absolute().parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(staging, out)
    except OSError as exc:
        Path(staging).unlink(missing_ok=True)
        raise StorageError(f"{flag}：没有写成 {out}：{os_error_text(exc)}") from exc


def os_user() -> str:
    """The operating-system user running this command (the uid when the system has no name for it)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
