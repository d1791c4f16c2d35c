"""How much input swflow accepts, and the one reader of input files that holds to it.

Every limit is checked before or while parsing, so a file that breaks one is refused with a
sentence naming the file and the rule, never a RecursionError or a 60 MB row. The defaults can be
changed with SWFLOW_MAX_TEXT_CHARS, SWFLOW_MAX_LONGTEXT_CHARS, SWFLOW_MAX_INPUT_BYTES and
SWFLOW_MAX_NESTING (read on every call, so a test or an operator can change them at once)."""

from __future__ import annotations

import argparse
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swflow.config.errors import FormError, os_error_text
from swflow.config.syntax_words import UNBUILDABLE_VALUE, syntax_error_text

__all__ = [
    "InputLimits",
    "get_limits",
    "read_input_bytes",
    "read_input_file",
    "parse_input_text",
    "check_value",
    "record_id",
    "bounded_int",
    "finite_number",
]

DEFAULTS = {"text_chars": 2_000, "longtext_chars": 50_000, "input_bytes": 16 * 1024 * 1024, "nesting": 32}
ENV = {
    "text_chars": "SWFLOW_MAX_TEXT_CHARS",
    "longtext_chars": "SWFLOW_MAX_LONGTEXT_CHARS",
    "input_bytes": "SWFLOW_MAX_INPUT_BYTES",
    "nesting": "SWFLOW_MAX_NESTING",
}


@dataclass(frozen=True)
class InputLimits:
    text_chars: int  # a one-line text field (form field type `text`)
    longtext_chars: int  # a long text (`textarea`), and any one string given anywhere
    input_bytes: int  # an input file (form data, people, archive import, template)
    nesting: int  # lists and mappings inside one another


def get_limits() -> InputLimits:
    values: dict[str, int] = {}
    for key, default in DEFAULTS.items():
        raw = os.environ.get(ENV[key], "").strip()
        try:
            values[key] = int(raw) if raw else default
        except ValueError as exc:
            raise FormError(f"{ENV[key]}：{raw} 不是正整数", [(ENV[key], "正整数")]) from exc
        if values[key] < 1:
            raise FormError(f"{ENV[key]}：{raw} 不是正整数", [(ENV[key], "正整数")])
    return InputLimits(**values)


def _refuse(where: str, rule: str, detail: str = "") -> FormError:
    return FormError(f"{where}：{detail or rule}", [(where, rule)])


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} 不是有效的数字（JSON 中不允许 NaN、Infinity）")


def _path_text(path: tuple[Any, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "(根)"


def check_value(value: Any, where: str, limits: InputLimits | None = None, budget: int | None = None) -> None:
    """Refuse data nested too deep, strings too long or with NUL, NaN/Infinity, or (YAML aliases)
    more nodes than `budget`. Iterative: a deep value cannot exhaust the stack here."""
    limits = limits or get_limits()
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
    seen = 0
    while stack:
        item, path = stack.pop()
        seen += 1
        if budget is not None and seen > budget:
            raise _refuse(where, "展开后过大", "展开后的数据远大于文件本身（YAML 锚点/别名重复引用过多）")
        if len(path) > limits.nesting:
            raise _refuse(where, f"嵌套不超过 {limits.nesting} 层", f"{_path_text(path)} 嵌套超过 {limits.nesting} 层")
        if isinstance(item, float) and not math.isfinite(item):
            raise _refuse(where, "必须是有限的数字", f"{_path_text(path)} 是 {item}：数字不能是 NaN 或无穷大")
        elif isinstance(item, str):
            if len(item) > limits.longtext_chars:
                raise _refuse(
                    where, f"最多 {limits.longtext_chars} 个字", f"{_path_text(path)} 超过 {limits.longtext_chars} 个字"
                )
            if "\x00" in item:
                raise _refuse(where, "不能含 NUL 字符", f"{_path_text(path)} 含有 NUL（\\0）字符")
        elif isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str | int):
                    raise _refuse(where, "键必须是文字", f"{_path_text(path)} 的键 {str(key)[:50]!r} 不是文字")
                stack.append((key, (*path, "(键)")))
                stack.append((child, (*path, str(key)[:50])))
        elif isinstance(item, list | tuple | set):
            stack.extend((child, (*path, i)) for i, child in enumerate(item))


def parse_input_text(text: str, where: str, as_json: bool, limits: InputLimits | None = None) -> Any:
    """JSON (NaN/Infinity refused) or YAML (safe loader) text, then `check_value`."""
    import yaml

    limits = limits or get_limits()
    try:
        if as_json:
            value = json.loads(text, parse_constant=_no_constant)
        else:
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            value = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except RecursionError as exc:
        raise _refuse(where, f"嵌套不超过 {limits.nesting} 层", f"嵌套过深（超过 {limits.nesting} 层）") from exc
    except (ValueError, yaml.YAMLError) as exc:
        kind = "JSON" if as_json else "YAML/JSON"
        if isinstance(exc, json.JSONDecodeError | yaml.YAMLError):
            words = syntax_error_text(exc)
        elif as_json:  # our own words (NaN, Infinity)
            words = str(exc)[:300]
        else:  # YAML read a value it could not build: a day that does not exist, mostly
            words = UNBUILDABLE_VALUE
        raise _refuse(where, "格式", f"不是有效的 {kind}：{words}") from exc
    check_value(value, where, limits, budget=2 * len(text) + 1000)
    return value


def read_input_bytes(path: str | Path, flag: str, limits: InputLimits | None = None) -> bytes:
    """An input file's bytes: a regular file, readable, its size checked before it is read."""
    limits = limits or get_limits()
    file = Path(path)
    where = f"{flag}：{path}" if flag else str(path)
    try:
        exists, is_dir, is_file = file.exists(), file.is_dir(), file.is_file()
    except OSError as exc:  # a name too long, a loop of links: the path itself is wrong
        raise _refuse(where, "有效的文件路径", f"路径无效（{os_error_text(exc)}）") from exc
    if not exists:
        raise _refuse(where, "文件必须存在", "文件不存在")
    if is_dir:
        raise _refuse(where, "必须是文件", "是目录，不是文件")
    if not is_file:
        raise _refuse(where, "必须是普通文件", "不是普通文件（设备、管道等不能作为输入）")
    try:
        with file.open("rb") as handle:
            raw = handle.read(limits.input_bytes + 1)
    except OSError as exc:
        raise _refuse(where, "文件必须可读", f"无法读取（{exc.strerror}）") from exc
    if len(raw) > limits.input_bytes:
        raise _refuse(
            where, f"不超过 {limits.input_bytes} 字节", f"文件超过 {limits.input_bytes} 字节（SWFLOW_MAX_INPUT_BYTES）"
        )
    return raw


def read_input_file(path: str | Path, flag: str, limits: InputLimits | None = None) -> Any:
    """A YAML or JSON input file (`.json` is JSON, anything else YAML, which includes JSON): its
    size is checked before it is read, its text before it is parsed."""
    limits = limits or get_limits()
    where = f"{flag}：{path}" if flag else str(path)
    raw = read_input_bytes(path, flag, limits)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _refuse(where, "UTF-8 编码", f"不是 UTF-8 文本（第 {exc.start} 字节）") from exc
    return parse_input_text(text, where, Path(path).suffix.lower() == ".json", limits)


LARGEST_ID = 2**63 - 1  # the archive's integer columns (SQLite INTEGER, PostgreSQL BIGINT)


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} 不是整数") from None


def record_id(text: str) -> int:
    """A record number on the command line (argparse `type=`): a whole number the archive can hold."""
    value = _whole(text)
    if not 0 <= value <= LARGEST_ID:
        raise argparse.ArgumentTypeError(f"编号须在 0 到 {LARGEST_ID} 之间")
    return value


def bounded_int(text: str) -> int:
    """A whole number argument (argparse `type=`), within what the archive can store."""
    value = _whole(text)
    if abs(value) > LARGEST_ID:
        raise argparse.ArgumentTypeError(f"{text[:40]} 过大")
    return value


def finite_number(text: str) -> float:
    """A decimal argument (argparse `type=`): NaN and infinity are not numbers anyone worked."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} 不是数字") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text[:40]} 不是有限的数字（不能是 NaN 或无穷大）")
    return value
