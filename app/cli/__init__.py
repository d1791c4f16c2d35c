"""The operator's door: the `swflow` command (exit codes 0 ok, 2 bad input, 3 refused, 1 internal)."""

from .main import build_parser, main

__all__ = ["build_parser", "main"]
