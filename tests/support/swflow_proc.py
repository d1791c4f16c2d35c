"""The suite drives swflow as a user does, through `swflow.app.local` (the benchmarks use it too)."""

from swflow.app.local import Home, free_port, wait_for

__all__ = ["Home", "free_port", "wait_for"]
