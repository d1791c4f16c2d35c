"""`swflow recover PROJECT` and `swflow reconcile`: the operator's hands on what serve's reconciler
does by itself — give a stranded project a new run from the archive's state."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

__all__ = ["add_run_commands", "RUN_COMMANDS"]

Adder = Callable[[Any, str, str], argparse.ArgumentParser]


def add_run_commands(sub: Any, add: Adder) -> None:
    p = add(sub, "recover", "检查一个项目的流程运行；中断、丢失或卡住时按档案重新接续")
    p.add_argument("project")
    p.add_argument("--force", action="store_true", help="即使运行看来正常也重新接续（旧运行将被取消）")
    p = add(sub, "reconcile", "检查所有进行中的项目一次：送达已记录的决定，接续中断的流程")
    p.add_argument("--json", action="store_true")
    p.add_argument("--watch", action="store_true", help="持续检查（集群中的对账机器；可在多台机器上同时运行）")
    p.add_argument("--checkpoints", action="store_true", help="与 --watch 一起：本机按时签署检查点（只在一台机器上）")


def cmd_recover(args: argparse.Namespace) -> int:
    from swflow.app.cli.common import os_user
    from swflow.flows.recovery import recover_project

    recovered = recover_project(args.project, actor=f"cli:{os_user()}", force=args.force)
    if recovered is None:
        print(f"项目 {args.project} 的流程运行正常，无需接续（确需重新接续请加 --force）")
        return 0
    print(f"项目 {args.project} 已接续：{recovered.reason}")
    print(f"  新的流程运行：{recovered.new_run_id}（原运行：{recovered.old_run_id or '无'}）")
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    from swflow.app.serve.reconcile import resume_decided_gates
    from swflow.flows.recovery import reconcile_runs

    if args.checkpoints and not args.watch:
        from swflow.config.errors import FormError

        raise FormError("--checkpoints 只能与 --watch 一起使用（单次签署请用 `swflow archive checkpoint`）")
    if args.watch:
        from swflow.app.cli.cluster_commands import needs_web_secret
        from swflow.app.cli.common import domain_acts
        from swflow.app.serve.duties import ReconcileDuty, run_duty
        from swflow.config.settings import get_settings

        domain_acts()
        needs_web_secret("对账机器")  # its messages (a recovered run's, the checkpoint digest) carry links
        return run_duty("对账", ReconcileDuty(args.checkpoints), get_settings().dispatch_interval_seconds)

    resumed = resume_decided_gates()
    recovered = reconcile_runs()
    if args.json:
        rows = [{"project": r.project_id, "new_run": r.new_run_id, "reason": r.reason} for r in recovered]
        print(json.dumps({"resumed": resumed, "recovered": rows}, ensure_ascii=False, indent=2))
        return 0
    print(f"已送达 {resumed} 个已记录的决定；接续 {len(recovered)} 个中断的项目")
    for r in recovered:
        print(f"  {r.project_id}：{r.reason}")
    return 0


RUN_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"recover": cmd_recover, "reconcile": cmd_reconcile}
