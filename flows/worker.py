"""`python -m swflow.flows.worker --pool NAME [--limit N] [--name W]`: a Prefect process worker of a work
pool (issue 18), started by `swflow worker`.

Prefect's process worker starts each flow run as `python -m prefect.engine`: a cold interpreter, about
3 s of CPU of imports before the flow's first line, for every launch and every resume of a gate. This
worker is Prefect's `ProcessWorker` with one change: the two flows it knows (`service-project`,
`deadline-watch`) are started as the embedded runner starts them — Prefect's own
`run_flow_in_subprocess`, whose process is a fork of a preloaded server (`swflow.flows.forked`). The
polling, the claiming of runs (Pending), cancellation and the pool's concurrency are Prefect's. A flow
it does not know, or `SWFLOW_FLOW_START=spawn`, runs the way Prefect's worker runs it.

Each run's process inherits this worker's environment: swflow's settings travel with it. The pool's
job variables (`env`, `working_dir`, `command`) apply to the cold path only.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import warnings
from typing import Any

from prefect.runner._flow_run_executor import FlowRunExecutorContext
from prefect.runner._starter_direct import DirectSubprocessStarter
from prefect.workers.process import ProcessJobConfiguration, ProcessWorker, ProcessWorkerResult

__all__ = ["ForkingProcessWorker", "main"]


def _known_flows() -> dict[str, Any]:
    from swflow.flows.deadline_watch import FLOW_NAME as WATCH
    from swflow.flows.deadline_watch import deadline_watch
    from swflow.flows.service_project import FLOW_NAME as PROJECT
    from swflow.flows.service_project import service_project

    return {PROJECT: service_project, WATCH: deadline_watch}


_FLOW_NAMES: dict[str, str] = {}  # flow id → name, as the API told this worker


# it takes the place of Prefect's class for the pool type "process" in this process: meant, not news
warnings.filterwarnings("ignore", message="Type 'ForkingProcessWorker'", category=UserWarning)


class ForkingProcessWorker(ProcessWorker):
    """Prefect's process worker; swflow's flows start as forks of a warm process (see the module)."""

    forking = True

    async def _flow_of(self, flow_run: Any) -> Any:
        key = str(flow_run.flow_id)
        if key not in _FLOW_NAMES:
            _FLOW_NAMES[key] = (await self.client.read_flow(flow_run.flow_id)).name
        return _known_flows().get(_FLOW_NAMES[key])

    async def run(
        self,
        flow_run: Any,
        configuration: ProcessJobConfiguration,
        task_status: Any = None,
    ) -> ProcessWorkerResult:
        flow = await self._flow_of(flow_run) if self.forking else None
        if flow is None:
            return await super().run(flow_run, configuration, task_status)

        async def resolve_flow(_: Any) -> Any:
            return flow

        execution: Any = None
        async with FlowRunExecutorContext() as ctx:
            starter = DirectSubprocessStarter(flow=flow, deployment_name="swflow", control_channel=ctx.control_channel)
            executor = ctx.create_executor(flow_run, starter, resolve_flow=resolve_flow, propose_submitting=False)

            async def execute(*, task_status: Any = None) -> None:
                nonlocal execution
                import anyio

                execution = await executor.submit(task_status=task_status or anyio.TASK_STATUS_IGNORED)

            import anyio

            async with anyio.create_task_group() as group:
                handle = await group.start(execute)
                if task_status is not None:
                    task_status.started(handle.pid)
        if execution is None or execution.status_code is None:
            raise RuntimeError("流程运行的进程没有启动")
        return ProcessWorkerResult(status_code=execution.status_code, identifier=str(execution.handle.pid))


async def _work(pool: str, limit: int | None, name: str | None, forking: bool) -> None:
    """The worker until SIGTERM or Ctrl-C: then it stops taking runs; Prefect's executor waits for the
    runs it is executing (their process ends at the gate they reach)."""
    worker = ForkingProcessWorker(work_pool_name=pool, limit=limit, name=name)
    worker.forking = forking
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        if task is not None:
            loop.add_signal_handler(signum, task.cancel)
    async with worker:
        await worker.start(printer=lambda *a, **k: print(*a, flush=True))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m swflow.flows.worker")
    parser.add_argument("--pool", required=True)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--name")
    args = parser.parse_args(argv)
    from swflow.config.settings import get_settings
    from swflow.flows.forked import fork_flow_runs

    forking = fork_flow_runs(get_settings().flow_start)
    try:
        asyncio.run(_work(args.pool, args.limit, args.name, forking))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("worker 已停止", flush=True)
    except Exception as exc:  # the API went away for good, the pool was deleted…: one sentence, exit 1
        print(f"错误：worker 退出（{type(exc).__name__}）：{str(exc)[:300]}", file=sys.stderr, flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
