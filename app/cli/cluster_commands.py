"""Past one machine (issue 18): `swflow deploy`, `swflow worker`, `swflow dispatch`, `swflow web`, and
`swflow reconcile --watch` (in run_commands) — the roles of a cluster's machines (README, "Past one
machine"). `swflow serve` keeps doing all of them on one machine."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

__all__ = ["add_cluster_commands", "CLUSTER_COMMANDS", "LONG_RUNNING"]

Adder = Callable[[Any, str, str], argparse.ArgumentParser]

# duties, not an operator's acts: what they record is swflow's own (the dispatcher's, the flows') or
# the people's through the web door
LONG_RUNNING = ("worker", "dispatch", "web")


def add_cluster_commands(sub: Any, add: Adder) -> None:
    p = add(sub, "deploy", "把 service-project 与 deadline-watch 部署到 SWFLOW_PREFECT_API_URL 上的一个工作池")
    p.add_argument("--pool", required=True, help="Prefect 工作池名（process 类型；没有则创建）")
    p = add(sub, "worker", "在本机运行一个 Prefect 进程 worker，执行工作池里的流程运行")
    p.add_argument("--pool", required=True, help="Prefect 工作池名（先运行 swflow deploy --pool）")
    p.add_argument("--limit", type=_positive, help="同时执行的流程运行数上限（每个约 150 MiB）")
    p.add_argument("--name", help="worker 的名字（默认 swflow-主机名-进程号）")
    p = add(sub, "dispatch", "持续发送到期的通知（可在多台机器上同时运行，每条只发一次）")
    p.add_argument("--once", action="store_true", help="只发送一轮后退出")
    add(sub, "web", "运行网页服务（SWFLOW_WEB_HOST:SWFLOW_WEB_PORT；可在多台机器上同时运行）")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"应为正整数，收到 {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"应为正整数，收到 {value}")
    return value


def cmd_deploy(args: argparse.Namespace) -> int:
    from swflow.app.cli.common import domain_acts
    from swflow.flows.pool import deploy_to_pool

    domain_acts()  # the archive the flows will use is current
    deployed = deploy_to_pool(args.pool)
    made = "（新建）" if deployed.created_pool else ""
    print(f"工作池 {deployed.pool}{made}：已部署 {'、'.join(deployed.deployments)}")
    print(f"在每台执行流程的机器上运行：swflow worker --pool {deployed.pool}")
    return 0


def needs_web_secret(role: str) -> None:
    """Links in messages are signed with SWFLOW_WEB_SECRET wherever messages are made (the flows on the
    workers, the reconcilers) and checked by the web machines: the same key on all of them."""
    from swflow.config.errors import RefusedError
    from swflow.config.settings import get_settings

    if get_settings().web_secret is None:
        raise RefusedError(
            f"未设置 SWFLOW_WEB_SECRET：{role}须与网页机器使用同一个密钥"
            "（它签署消息中的链接；见 README“Past one machine”）"
        )


def cmd_worker(args: argparse.Namespace) -> int:
    from swflow.app.cli.common import domain_acts
    from swflow.config.errors import ServerNotRunningError
    from swflow.flows.control import api_access_problem
    from swflow.flows.pool import worker_argv, worker_env

    domain_acts()
    needs_web_secret("执行流程的 worker")
    problem = api_access_problem(args.pool)
    if problem is not None:
        raise ServerNotRunningError(problem)
    argv = worker_argv(args.pool, args.limit, args.name)
    os.execve(argv[0], argv, worker_env())  # the worker is this process: signals reach it directly


def cmd_dispatch(args: argparse.Namespace) -> int:
    from swflow.app.cli.common import domain_acts
    from swflow.app.serve.duties import dispatch_duty, run_duty
    from swflow.config.settings import get_settings

    domain_acts()
    if args.once:
        dispatch_duty()
        return 0
    return run_duty("通知发送", dispatch_duty, get_settings().dispatch_interval_seconds)


def cmd_web(args: argparse.Namespace) -> int:
    from swflow.app.cli.common import domain_acts
    from swflow.app.web.__main__ import main as serve_web

    domain_acts()
    needs_web_secret("每台网页机器")
    serve_web()
    return 0


CLUSTER_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "deploy": cmd_deploy,
    "worker": cmd_worker,
    "dispatch": cmd_dispatch,
    "web": cmd_web,
}
