"""The one exception tree of swflow. The CLI maps each class to an exit code (docs/architecture.md, contract 9)."""

from __future__ import annotations

import errno
from collections.abc import Mapping
from typing import Any

__all__ = [
    "SwflowError",
    "DefinitionError",
    "FormError",
    "NotFoundError",
    "RefusedError",
    "AlreadyDecidedError",
    "ServerNotRunningError",
    "ArchiveNotInitialisedError",
    "StorageError",
    "pydantic_rule",
    "form_error_from_validation",
    "bad_path",
    "os_error_text",
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


class StorageError(SwflowError, OSError):
    """The archive or a file cannot be written or read: a full disk, a read-only or unreadable
    SWFLOW_HOME, a damaged archive. Nothing of the act was kept (its transaction rolled back)."""

    exit_code = 1


_RULES: dict[str, str] = {
    "missing": "必填",
    "extra_forbidden": "不认识此字段",
    "string_too_short": "至少 {min_length} 个字",
    "string_too_long": "最多 {max_length} 个字",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "greater_than_equal": "不能小于 {ge}",
    "greater_than": "必须大于 {gt}",
    "less_than_equal": "不能大于 {le}",
    "less_than": "必须小于 {lt}",
    "literal_error": "必须是以下之一：{expected}",
    "enum": "必须是以下之一：{expected}",
    "int_parsing": "必须是整数",
    "int_type": "必须是整数",
    "int_from_float": "必须是整数",
    "int_parsing_size": "整数太大",
    "float_parsing": "必须是数字",
    "float_type": "必须是数字",
    "finite_number": "必须是有限的数字（不能是 NaN 或无穷大）",
    "date_from_datetime_parsing": "必须是日期（YYYY-MM-DD）",
    "date_from_datetime_inexact": "必须是日期（YYYY-MM-DD）",
    "date_parsing": "必须是日期（YYYY-MM-DD）",
    "date_type": "必须是日期（YYYY-MM-DD）",
    "datetime_parsing": "必须是时间（ISO 8601，如 2026-03-02T09:00:00）",
    "datetime_from_date_parsing": "必须是时间（ISO 8601，如 2026-03-02T09:00:00）",
    "datetime_type": "必须是时间（ISO 8601，如 2026-03-02T09:00:00）",
    "bool_parsing": "必须是 是/否（true/false）",
    "bool_type": "必须是 是/否（true/false）",
    "string_type": "必须是文字",
    "string_pattern_mismatch": "格式不符（须匹配 {pattern}）",
    "dict_type": "必须是映射（键: 值）",
    "list_type": "必须是列表",
    "model_type": "必须是映射（键: 值）",
    "model_attributes_type": "必须是映射（键: 值）",
    "url_parsing": "不是有效的网址",
    "json_invalid": "不是有效的 JSON",
}


def pydantic_rule(item: Mapping[str, Any]) -> str:
    """One pydantic error item as a rule in Chinese; our own validators' messages pass through."""
    kind, ctx = str(item.get("type", "")), dict(item.get("ctx") or {})
    if isinstance(ctx.get("expected"), str):  # "'a', 'b' or 'c'" → "'a'、'b' 或 'c'"
        ctx["expected"] = ctx["expected"].replace("', '", "'、'").replace(" or ", " 或 ")
    if kind in _RULES:
        try:
            return _RULES[kind].format(**ctx)
        except (KeyError, IndexError):
            return _RULES[kind].split("{", 1)[0].rstrip("：（ ")
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", item.get("msg", "")))
    message = str(item.get("msg", ""))
    return message if not message.isascii() else f"不符合规则（{kind}）"


def form_error_from_validation(
    error: Any, subject: str, titles: Mapping[str, str] | None = None, prefix: str = ""
) -> FormError:
    """A pydantic ValidationError as one FormError: every (field, rule) in Chinese, never English."""
    problems: list[tuple[str, str]] = []
    for item in error.errors():
        loc = [str(part) for part in item.get("loc", ())]
        name = ".".join(loc) or "(整体)"
        title = (titles or {}).get(loc[0]) if loc else None
        rest = f" › {'.'.join(loc[1:])}" if len(loc) > 1 else ""
        problems.append((f"{title}{rest}" if title else f"{prefix}{name}", pydantic_rule(item)))
    lines = "\n".join(f"  - {field}：{rule}" for field, rule in problems)
    return FormError(f"{subject}有 {len(problems)} 处错误：\n{lines}", problems)


_OS_WORDS = {
    errno.ENOSPC: "磁盘已满",
    errno.EDQUOT: "磁盘配额已用完",
    errno.EFBIG: "文件超过允许的大小",
    errno.EACCES: "没有权限",
    errno.EPERM: "没有权限",
    errno.EROFS: "文件系统只读",
    errno.ENOENT: "不存在",
    errno.ENOTDIR: "路径中有一段不是目录",
    errno.EISDIR: "是目录",
    errno.EEXIST: "已存在",
    errno.ELOOP: "符号链接层数过多",
    errno.ENAMETOOLONG: "文件名过长",
    errno.EIO: "读写出错（输入/输出错误）",
}


def os_error_text(exc: OSError) -> str:
    """What went wrong with a file, in Chinese: which file, and why."""
    why = _OS_WORDS.get(exc.errno or 0, f"系统错误 {exc.errno}" if exc.errno else "系统错误")
    where = exc.filename if exc.filename is not None else ""
    return f"无法读写 {where}：{why}" if where else f"无法读写文件：{why}"


def bad_path(flag: str, path: object, exc: OSError) -> FormError:
    """A path the system cannot even look at (a name too long, a loop of links) given for `flag`:
    the caller's input (exit 2), named with the option and why."""
    return FormError(f"{flag}：{str(path)[:80]} 路径无效（{os_error_text(exc)}）", [(flag, "有效的路径")])
