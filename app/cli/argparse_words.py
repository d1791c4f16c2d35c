"""argparse in Chinese: its usage line, its errors ("the following arguments are required", "invalid
choice", "unrecognized arguments") and its help headings. argparse looks its words up through the
module's `_` and `ngettext` (gettext) each time it needs one; `install()` points them here."""

from __future__ import annotations

import argparse

__all__ = ["install", "WORDS"]

WORDS = {
    "usage: ": "用法：",
    "%(prog)s: error: %(message)s\n": "%(prog)s：错误：%(message)s\n",
    "unrecognized arguments: %s": "不认识的参数：%s（用 -h 查看这个命令接受什么）",
    "the following arguments are required: %s": "缺少必需的参数：%s",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "invalid choice: %(value)r (choose from %(choices)s)": "没有 %(value)r 这一项（可选：%(choices)s）",
    "invalid %(type)s value: %(value)r": "%(value)r 不是有效的值（%(type)s）",
    "expected one argument": "需要一个值",
    "expected at most one argument": "最多一个值",
    "expected at least one argument": "至少需要一个值",
    "ignored explicit argument %r": "多余的值 %r",
    "not allowed with argument %s": "不能与参数 %s 同时使用",
    "one of the arguments %s is required": "以下参数须有其一：%s",
    "ambiguous option: %(option)s could match %(matches)s": "选项 %(option)s 有歧义，可能是 %(matches)s",
    "show this help message and exit": "显示帮助并退出",
    "positional arguments": "位置参数",
    "options": "选项",
    "optional arguments": "选项",
    "can't open '%(filename)s': %(error)s": "无法打开 '%(filename)s'：%(error)s",
    "unexpected option string: %s": "意外的选项：%s",
    "%r is not callable": "%r 不可调用",
}
_PLURALS = {"expected %s argument": "需要 %s 个值", "expected %s arguments": "需要 %s 个值"}


def _words(message: str) -> str:
    return WORDS.get(message, message)


def _plural(singular: str, plural: str, count: int) -> str:
    return _PLURALS.get(singular if count == 1 else plural, singular if count == 1 else plural)


def install() -> None:
    """From now on this process's argparse speaks Chinese (swflow's own commands are its only parsers)."""
    argparse._ = _words  # type: ignore[attr-defined]
    argparse.ngettext = _plural  # type: ignore[attr-defined]
