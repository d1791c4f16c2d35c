"""A YAML or JSON syntax error as a Chinese sentence with its line and column: what PyYAML and the
json module say is English ("mapping values are not allowed here"); a person editing a file by hand
reads "第 4 行第 4 列：缺少列表项的“-”（缩进可能不对）"."""

from __future__ import annotations

import json
from typing import Any

import yaml

__all__ = ["UNBUILDABLE_VALUE", "syntax_error_text"]

# PyYAML read a value it could not build (a ValueError, not a YAMLError): a day that does not exist
UNBUILDABLE_VALUE = "有无法读取的值（例如不存在的日期，如 2026-02-30；日期请写成 YYYY-MM-DD）"

# what PyYAML's scanner and parser say → what a person can act on (checked by `in`, first match wins)
_YAML_WORDS = (
    ("mapping values are not allowed", "这里不能出现“键: 值”（冒号后缺空格、缩进不对，或值里的冒号须加引号）"),
    ("did not find expected '-' indicator", "缺少列表项的“-”（缩进可能不对）"),
    ("did not find expected key", "这里应是一个“键: 值”（缩进可能不对）"),
    ("did not find expected node content", "缺少内容（列表项或值是空的）"),
    ("that cannot start any token", "有不能出现在此处的字符（缩进请用空格，不要用 Tab）"),
    ("could not find expected ':'", "缺少冒号“:”"),
    ("expected <block end>", "缩进不一致"),
    ("expected ',' or ']'", "方括号列表中缺少逗号或“]”"),
    ("expected ',' or '}'", "花括号映射中缺少逗号或“}”"),
    ("found unexpected end of stream", "文件意外结束（引号或括号没有闭合）"),
    ("found undefined alias", "引用了未定义的别名（*名称）"),
    ("found unknown escape character", "引号中有无效的转义字符（\\ 后面的字符）"),
    ("found unexpected ':'", "此处不能出现冒号“:”（值里的冒号须加引号）"),
    ("found duplicate anchor", "锚点（&名称）重复"),
    ("control characters are not allowed", "含有不允许的控制字符"),
    ("found a tab character", "缩进不能用 Tab，请用空格"),
    ("expected a comment or a line break", "此处应换行（多余的内容）"),
    ("could not determine a constructor", "不支持的标签（! 开头的类型标记）"),
)
_JSON_WORDS = {
    "Expecting value": "此处应是一个值",
    "Expecting property name enclosed in double quotes": "键须用双引号括起来",
    "Expecting ',' delimiter": "缺少逗号“,”",
    "Expecting ':' delimiter": "缺少冒号“:”",
    "Extra data": "数据之后还有多余的内容",
    "Unterminated string starting at": "字符串的引号没有闭合",
    "Invalid control character at": "字符串中有控制字符（换行须写成 \\n）",
    "Invalid \\escape": "无效的转义字符",
}


def _yaml_words(problem: str) -> str:
    return next((words for english, words in _YAML_WORDS if english in problem), "语法错误")


def syntax_error_text(exc: Any) -> str:
    """'第 L 行第 C 列：…' for a yaml.YAMLError or json.JSONDecodeError; other errors: a plain sentence."""
    if isinstance(exc, json.JSONDecodeError):
        words = next((w for english, w in _JSON_WORDS.items() if exc.msg.startswith(english)), "语法错误")
        return f"第 {exc.lineno} 行第 {exc.colno} 列：{words}"
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列：" if mark is not None else ""
        return where + _yaml_words(f"{exc.problem or ''} {exc.context or ''}")
    if isinstance(exc, yaml.YAMLError):
        return _yaml_words(str(exc))
    return "格式错误"
