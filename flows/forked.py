"""Flow runs forked from a warm process instead of spawned cold (issue 19).

Prefect's runner starts each flow run — every resume of a gate included — with
`multiprocessing.get_context("spawn")`: a new interpreter that imports prefect and swflow again, about
3 s of CPU before the first line of the flow. Here the runner asks for a `forkserver` instead: one
server process imports prefect's engine and swflow's flows once (the preload), and each flow run is a
fork of it — the same code, the same pickled call, the same process boundaries (a run that crashes
takes only itself down), without the imports.

What changes is only how the child process comes to exist; what it runs is Prefect's own
`run_flow_in_subprocess` call, unchanged. `SWFLOW_FLOW_START=spawn` keeps Prefect's default.
"""

from __future__ import annotations

import multiprocessing
from typing import Any

__all__ = ["PRELOAD", "fork_flow_runs"]

# what a flow run needs, imported once by the fork server (the runner's own imports stay its own)
PRELOAD = [
    "prefect.flow_engine",
    "prefect.runner._starter_direct",
    "prefect.artifacts",
    "swflow.flows.service_project",
    "swflow.flows.deadline_watch",
    "swflow.flows.alive",
    # what the tasks import when they first run (kept lazy for the CLI, warm here)
    "swflow.domain.projects.recovery",
    "swflow.domain.projects.gates",
    "swflow.domain.registry.activity",
    "swflow.domain.quality.supervision",
    "swflow.domain.quality.incidents",
    "swflow.archive.history",
    "swflow.archive.checkpoints",
]


class _Contexts:
    """`multiprocessing` as Prefect's engine sees it: asked for "spawn", it answers with the fork server."""

    def __init__(self, context: Any) -> None:
        self._context = context

    def get_context(self, method: str | None = None) -> Any:
        return self._context

    def __getattr__(self, name: str) -> Any:
        return getattr(multiprocessing, name)


def fork_flow_runs(start: str = "forkserver") -> bool:
    """In the runner, before it starts: flow runs are forked from a preloaded server. False when the
    setting (`SWFLOW_FLOW_START`) keeps spawn, or where fork servers do not exist (Windows)."""
    if start != "forkserver":
        return False
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return False
    import prefect.flow_engine as engine

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    engine.multiprocessing = _Contexts(context)  # type: ignore[attr-defined,assignment]
    return True
