"""placeholder: being built."""

from typing import Any

ROUTES: list[Any] = []
