"""The record's commands: the outbox (`notifications`), the deadline sweep, and the archive itself
(verify, events, export, import, due for review, backup, restore)."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import Any

from swflow import db
from swflow.app.cli.common import domain_acts, parse_now, print_json, read_data_file
from swflow.config.clock import local_text, system_clock
from swflow.config.errors import RefusedError

__all__ = ["RECORD_COMMANDS"]


def _message_state(row: dict[str, Any], now: datetime) -> str:
    """待发送 says when, if that is later than now (held until the next working morning, or a retry)."""
    from swflow.domain.outbox import STATUS_WORDS

    state = STATUS_WORDS.get(row["status"], row["status"])
    send_at = datetime.fromisoformat(row["send_at"]) if row.get("send_at") else None
    return f"{state}（{local_text(send_at)} 发送）" if send_at and send_at > now else state


def cmd_notifications(args: argparse.Namespace) -> int:
    arch = domain_acts()
    if args.notifications_command == "dispatch":
        from swflow.notifications import dispatch_once

        report = dispatch_once()
        print(f"已发送 {report.sent}，待重试 {report.retrying}，失败 {report.failed}")
        return 0
    if args.notifications_command == "resend":
        from swflow.domain.outbox.records import resend

        count = resend(args.ids or None, system_clock())
        print(f"已重新排队 {count} 条通知")
        return 0
    rows = arch.list_messages(failed_only=args.failed)
    if args.json:
        print_json(rows)
    for r in [] if args.json else rows:
        print(
            f"#{r['id']:<5} {r['project'] or '-':<10} {r['recipient']:<12} {r['template']:<20}"
            f" {_message_state(r, system_clock())} 尝试 {r['attempts']} {r['last_error'] or ''}"
        )
    return 0


def _archive_files(args: argparse.Namespace) -> int:
    from swflow.archive.export import export_project, import_project
    from swflow.archive.retention import records_due_for_review

    if args.archive_command == "export":
        paths = export_project(args.project, Path(args.out), args.as_person, system_clock())
        for kind, path in paths.items():
            print(f"{kind:<5} {path}")
        return 0
    if args.archive_command == "import":
        data = read_data_file(args.file, "archive import")
        from swflow.app.cli.common import os_user

        project_id, trust = import_project(data, f"cli:{os_user()}", system_clock())
        print(f"已导入项目 {project_id}，事件链校验通过；{trust.reason}")
        if not trust.trusted:
            print("  它作为只读记录导入：不能再对该项目操作，随档案带来的人员没有任何角色")
        return 0
    rows = records_due_for_review(parse_now(args.now))
    if args.json:
        print_json(rows)
    elif not rows:
        print("没有超过保管期限的档案")
    for r in [] if args.json else rows:
        which = r["project"] or r["record"]
        print(
            f"{which:<14} {r['category_title']:<8} {r['records']:>5} 条"
            f"  结束 {local_text(r['closed_at'], day=True)}"
            f"  保管至 {local_text(r['review_after'], day=True)}  {r['name']}"
        )
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    import os
    from dataclasses import asdict

    from swflow.domain.agency import sweep

    domain_acts()
    if args.now:
        os.environ["SWFLOW_NOW"] = parse_now(args.now).isoformat()
    report = sweep(system_clock())
    if args.json:
        print_json(asdict(report))
    else:
        print(
            f"升级 {report.escalated} 项（补发时跳过 {report.skipped_steps} 个过期步骤），排队通知 {report.messages} 条"
        )
        for stage in report.at_risk:
            print(f"  标记有风险：{stage}")
    return 0


def _archive_copies(args: argparse.Namespace) -> int:
    """`backup` (while serve writes) and `restore` (into a home with no archive yet): SQLite only."""
    from swflow.app.cli.common import os_user
    from swflow.archive.backup import backup_archive, restore_archive

    if args.archive_command == "backup":
        copy = backup_archive(Path(args.out), os_user(), system_clock())
        print(f"已备份到 {copy.path}（{copy.size:,} 字节，权限 0600）")
    else:
        copy = restore_archive(Path(args.file), os_user(), system_clock())
        from swflow.archive.checkpoints import write_checkpoint

        signed = write_checkpoint(system_clock(), "restore")  # this home's log starts from the restored record
        print(f"已恢复到 {copy.path}：结构版本 {copy.head}，完整性检查通过")
        if signed is not None:
            print(f"  已签署检查点：覆盖恢复的 {signed.events} 个事件")
    print(f"  {'备份文件 ' if args.archive_command == 'restore' else ''}sha256 {copy.sha256}")
    print(f"  项目 {copy.projects} 个，事件 {copy.events} 个，{copy.streams} 条记录链全部完整")
    return 0


def cmd_archive(args: argparse.Namespace) -> int:
    if args.archive_command in ("backup", "restore"):
        return _archive_copies(args)
    if args.archive_command == "checkpoint":
        from swflow.app.cli.common import os_user
        from swflow.archive.checkpoints import write_checkpoint

        domain_acts()
        made = write_checkpoint(system_clock(), f"cli:{os_user()}")
        if made is None:
            print("自上一个检查点以来没有新事件：没有写入新的检查点")
        else:
            print(
                f"已签署第 {made.number} 个检查点：新覆盖 {made.events} 个事件，"
                f"密钥 {made.key}，sha256 {made.line_sha256}"
            )
        return 0
    arch = domain_acts()
    if args.archive_command in ("export", "import", "due-for-review"):
        return _archive_files(args)
    if args.archive_command == "events":
        events = arch.project_events(args.project)
        if args.json:
            print_json(events)
        for e in [] if args.json else events:
            print(
                f"{e['seq']:>4} {local_text(e['at'], seconds=True)} {e['kind']:<20} {e['actor']:<12} {e['hash'][:12]}"
            )
        return 0
    if args.project:
        arch.project_status(args.project)  # an unknown project is an error, not an intact chain
    from swflow.archive.verify import verify_archive

    report = verify_archive(args.project)
    results = report.chains
    records = [(s, b) for s, b in results if not s.startswith("project:")]
    for stream, broken in results:
        if stream.startswith("project:"):
            name = stream.removeprefix("project:")
            print(f"{name}：第 {broken.seq} 个事件有问题：{broken.reason}" if broken else f"{name}：哈希链完整")
    for stream, broken in records:
        if broken:
            print(f"{db.stream_title(stream)}（{stream}）：第 {broken.seq} 个事件有问题：{broken.reason}")
    if records:
        intact = sum(1 for _, b in records if b is None)
        print(f"机构记录（投诉、风险事件、督导、转介、服务对象等）：{intact}/{len(records)} 条记录链完整")
    for found in report.records:
        print(f"记录与事件不符：{found}")
    if not report.records:
        print("数据库文件完整；项目、团队、阶段、任务、表单提交与审核决定与事件一致")
    bad = [db.stream_title(s) for s, b in results if b is not None]
    if bad or report.records:
        parts = [f"{len(bad)} 条记录链未通过校验：{'、'.join(bad)}"] if bad else []
        parts += [f"{len(report.records)} 处记录与事件不符"] if report.records else []
        raise RefusedError("；".join(parts))
    return 0


RECORD_COMMANDS = {"notifications": cmd_notifications, "sweep": cmd_sweep, "archive": cmd_archive}
