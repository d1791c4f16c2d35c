"""Thin shells over domain acts: parse files, call the act, print the result."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from config.clock import SHANGHAI, local_text, system_clock
from config.errors import FormError, RefusedError, StorageError, os_error_text
from config.settings import get_settings

from . import registry_cli
from .quality_commands import QUALITY_COMMANDS
from .run_commands import RUN_COMMANDS

__all__ = ["run", "read_data_file", "parse_now"]


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False))


def read_data_file(path: str, flag: str = "--data") -> Any:
    """Data from a YAML or JSON file; a bad file is bad input (exit 2) naming the file and the rule:
    too big (checked before reading), not UTF-8, not YAML/JSON, NaN, too deep, too long a text."""
    from config.limits import read_input_file

    return read_input_file(path, flag)


def parse_now(value: str | None, flag: str = "--now") -> datetime:
    """`--now` (ISO 8601; without a zone, Beijing time), or the clock when it is not given."""
    if value is None:
        return system_clock()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise FormError(
            f"{flag}：{value[:80]} 不是 ISO 8601 时间（例如 2026-03-02T09:00:00，无时区按北京时间）",
            [(flag, "ISO 8601 时间")],
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def _archive() -> Any:
    import archive

    archive.ensure_current()
    return archive


def cmd_init(args: argparse.Namespace) -> int:
    import archive

    settings = get_settings()
    env_file = settings.home / "swflow.env"
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
        if not env_file.exists():
            env_file.write_text(
                "# swflow 设置；环境变量 SWFLOW_* 优先于此文件\n"
                f"SWFLOW_PREFECT_PORT={settings.prefect_port}\n"
                "# SWFLOW_DATABASE_URL=postgresql://user@host/db\n",
                encoding="utf-8",
            )
    except OSError as exc:
        raise StorageError(f"SWFLOW_HOME {settings.home} 不可写：{os_error_text(exc)}") from exc
    archive.migrate()
    print(f"已初始化 {settings.home}\n  档案库：{settings.archive_url}\n  设置：{env_file}")
    return 0


def cmd_people(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    arch = _archive()
    if args.people_command == "list":
        from archive.people import list_people

        people = list_people()
        if args.json:
            _print_json(people)
        for p in [] if args.json else people:
            print(f"{p['id']:<16} {p['name']:<8} {'、'.join(p['roles'])}  通知渠道 {p['channels']}")
        return 0
    data = read_data_file(args.file, "people import")
    try:
        people_file = arch.PeopleFile.model_validate(data)
    except ValidationError as exc:
        raise _people_error(exc, data, args.file) from exc
    added, updated = arch.import_people(people_file.people, actor="cli", now=system_clock())
    print(f"已导入人员：新增 {added}，更新 {updated}")
    return 0


def _people_error(exc: Any, data: Any, file: str) -> FormError:
    """Each problem of a people file named by the person (their id) and, for an address, its index."""
    from config.errors import pydantic_rule

    rows = data.get("people") if isinstance(data, dict) else None
    problems: list[tuple[str, str]] = []
    for item in exc.errors():
        loc = tuple(item["loc"])
        where = ".".join(str(p) for p in loc) or "(整个文件)"
        if len(loc) >= 2 and loc[0] == "people" and isinstance(loc[1], int) and isinstance(rows, list):
            row = rows[loc[1]] if loc[1] < len(rows) else None
            who = f"第 {loc[1] + 1} 位人员" + (f" {row['id']}" if isinstance(row, dict) and "id" in row else "")
            rest = loc[2:]
            if len(rest) == 2 and rest[0] == "notify" and isinstance(rest[1], int):
                where = f"{who} 的第 {rest[1] + 1} 个通知地址（notify[{rest[1]}]）"
            else:
                where = f"{who}（{'.'.join(str(p) for p in rest) or '整条'}）"
        problems.append((where, pydantic_rule(item)))
    lines = "\n".join(f"  - {loc}：{rule}" for loc, rule in problems)
    return FormError(f"{file} 有 {len(problems)} 处错误，没有导入任何人员：\n{lines}", problems)


def cmd_templates(args: argparse.Namespace) -> int:
    from config.templates import get_template, list_templates, load_template

    if args.templates_command == "validate":
        from forms_spec import check_template_forms

        read_data_file(args.file, "templates validate")  # size, nesting, NaN: before the loader parses it
        template = load_template(Path(args.file))
        check_template_forms(template, args.file)
        print(f"{args.file}：模板 {template.id} v{template.version} 有效")
        return 0
    if args.templates_command == "show":
        _print_json(get_template(args.template_id).model_dump(mode="json"))
        return 0
    rows: list[dict[str, Any]] = [
        {
            "id": t.id,
            "version": t.version,
            "title": t.title,
            "clause": t.clause,
            "sensitivity": t.sensitivity,
            "stages": [s.key for s in t.stages],
        }
        for t in list_templates()
    ]
    if args.json:
        _print_json(rows)
    else:
        for r in rows:
            print(f"{r['id']:<20} §{r['clause']:<6} {r['title']}  阶段：{' → '.join(r['stages'])}")
    return 0


def cmd_forms(args: argparse.Namespace) -> int:
    from forms_spec import form_schema, get_form, list_forms

    if args.forms_command == "list":
        rows = [{"id": f.id, "version": f.version, "title": f.title, "clause": f.clause} for f in list_forms()]
        if args.json:
            _print_json(rows)
        for r in [] if args.json else rows:
            print(f"{r['id']:<26} v{r['version']}  §{r['clause']:<9} {r['title']}")
        return 0
    form = get_form(args.form_id)
    if args.schema:
        _print_json(form_schema(form))
        return 0
    print(f"{form.id} v{form.version}  {form.title}（§{form.clause}）")
    for field in form.fields:
        flags = ("必填" if field.required else "选填") + ("，敏感" if field.sensitive else "")
        if field.show_if:
            flags += f"，当 {field.show_if.field}∈{list(field.show_if.equals)}"
        print(f"  {field.name:<22} {field.type:<11} {flags:<7} {field.label}")
        for col in field.columns or ():
            col_flags = ("必填" if col.required else "选填") + ("，敏感" if col.sensitive else "")
            print(f"    · {col.name:<18} {col.type:<11} {col_flags:<7} {col.label}")
    return 0


def cmd_indicators(args: argparse.Namespace) -> int:
    from archive.reports import indicator_report, scorecard_report

    _archive()
    report: dict[str, Any] = {"indicators": indicator_report(args.project), "scorecard": scorecard_report(args.project)}
    if args.json:
        _print_json(report)
        return 0
    print(f"{'指标':<20} {'单位':<4} {'基线':>8} {'目标':>8} {'后测':>8} {'变化':>8}  达成")
    for row in report["indicators"]:
        met = {True: "是", False: "否", None: "-"}[row["met"]]
        cells = [row[k] if row[k] is not None else "-" for k in ("baseline", "target", "post", "change")]
        print(f"{row['indicator']:<20} {row['unit'] or '-':<4} " + " ".join(f"{c:>8}" for c in cells) + f"  {met}")
    card = report["scorecard"]
    total = card["total"] if card["total"] is not None else "未评分"
    print(f"\n{card['title']}：总分 {total}（{card['scale']['min']}–{card['scale']['max']} 分）")
    for d in card["dimensions"]:
        print(f"  {d['title']:<12} 权重 {d['weight']:<5} 得分 {d['score'] if d['score'] is not None else '-'}")
    return 0


def cmd_launch(args: argparse.Namespace) -> int:
    from flows.launching import launch_project

    arch = _archive()
    request = arch.LaunchRequest(
        template_id=args.template_id,
        name=args.name,
        community=args.community,
        manager_id=args.manager,
        supervisor_id=args.supervisor,
        worker_ids=args.worker,
    )
    plan = arch.prepare_launch(request, system_clock().date())
    if launch_project(plan) is None:
        print("项目已记录；编排服务暂不可用，`swflow serve` 运行时会自动为它创建流程运行", file=sys.stderr)
    print(plan.project_id)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from .views import print_project, print_projects

    arch = _archive()
    if args.project is None:
        rows = arch.list_projects()
        _print_json(rows) if args.json else print_projects(rows)
        return 0
    status = arch.project_status(args.project)
    _print_json(status) if args.json else print_project(status)
    return 0


def cmd_inbox(args: argparse.Namespace) -> int:
    from .views import print_inbox

    box = _archive().inbox(args.person)
    _print_json(box) if args.json else print_inbox(box)
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    arch = _archive()
    data = read_data_file(args.data)
    result = arch.submit_form(args.project, args.form_id, args.by, data, system_clock(), args.activity)
    print(f"已提交 {args.form_id}（阶段 {result.stage} 第 {result.round} 轮，记录 #{result.submission_id}）")
    if result.stage_complete:
        print("本阶段表单已齐，已请审核人审核")
        _describe_gate(args.project, result.stage)
    return 0


def _describe_gate(project_id: str, stage_key: str) -> None:
    """Refresh what the Prefect UI shows at the suspended gate (best effort: the archive has it all)."""
    from flows.control import describe_gate

    arch = _archive()
    run_id = arch.project_status(project_id)["flow_run_id"]
    if run_id:
        gate = arch.read_gate(project_id, stage_key)
        describe_gate(run_id, gate.pause_key, arch.gate_summary(project_id, stage_key))


def cmd_decide(args: argparse.Namespace) -> int:
    arch = _archive()
    decided = arch.record_decision(
        args.project, args.stage, args.by, args.command, args.comment, system_clock(), getattr(args, "redo", None)
    )
    words = {"approve": "通过", "return": "退回修改", "reject": "否决"}
    print(
        f"已记录决定 #{decided.decision_id}：{args.stage} 第 {decided.round} 轮"
        f"第 {decided.step} 步 {words[args.command]}"
    )
    if not decided.final:
        print("本轮还需下一步审核，已通知下一位审核人")
        _describe_gate(args.project, args.stage)
        return 0
    _resume(decided.flow_run_id, decided.decision_id)
    return 0


def _resume(flow_run_id: str | None, decision_id: int) -> None:
    from flows.control import resume_gate

    if flow_run_id and not resume_gate(flow_run_id, decision_id):
        print("流程将在编排服务（swflow serve）运行时接续", file=sys.stderr)


def cmd_claim(args: argparse.Namespace) -> int:
    step = _archive().claim_gate(args.project, args.stage, args.by, system_clock())
    print(f"{args.by} 已认领 {args.project} {args.stage} 第 {step} 步审核")
    _describe_gate(args.project, args.stage)
    return 0


def cmd_delegate(args: argparse.Namespace) -> int:
    step = _archive().delegate_gate(args.project, args.stage, args.by, args.to, system_clock())
    print(f"{args.by} 已将 {args.project} {args.stage} 第 {step} 步审核委托给 {args.to}")
    _describe_gate(args.project, args.stage)
    return 0


def cmd_notifications(args: argparse.Namespace) -> int:
    arch = _archive()
    if args.notifications_command == "dispatch":
        from notifications import dispatch_once

        report = dispatch_once()
        print(f"已发送 {report.sent}，待重试 {report.retrying}，失败 {report.failed}")
        return 0
    if args.notifications_command == "resend":
        from archive.outbox import resend

        count = resend(args.ids or None, system_clock())
        print(f"已重新排队 {count} 条通知")
        return 0
    rows = arch.list_messages(failed_only=args.failed)
    if args.json:
        _print_json(rows)
    for r in [] if args.json else rows:
        print(
            f"#{r['id']:<5} {r['project'] or '-':<10} {r['recipient']:<12} {r['template']:<20}"
            f" {r['status']:<8} 尝试 {r['attempts']} {r['last_error'] or ''}"
        )
    return 0


def _archive_files(args: argparse.Namespace) -> int:
    from archive.export import export_project, import_project
    from archive.retention import records_due_for_review

    if args.archive_command == "export":
        paths = export_project(args.project, Path(args.out), args.as_person, system_clock())
        for kind, path in paths.items():
            print(f"{kind:<5} {path}")
        return 0
    if args.archive_command == "import":
        data = read_data_file(args.file, "archive import")
        print(f"已导入项目 {import_project(data)}，事件链校验通过")
        return 0
    rows = records_due_for_review(parse_now(args.now))
    if args.json:
        _print_json(rows)
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

    from archive.deadlines import sweep

    _archive()
    if args.now:
        os.environ["SWFLOW_NOW"] = parse_now(args.now).isoformat()
    report = sweep(system_clock())
    if args.json:
        _print_json(asdict(report))
    else:
        print(
            f"升级 {report.escalated} 项（补发时跳过 {report.skipped_steps} 个过期步骤），排队通知 {report.messages} 条"
        )
        for stage in report.at_risk:
            print(f"  标记有风险：{stage}")
    return 0


def cmd_archive(args: argparse.Namespace) -> int:
    arch = _archive()
    if args.archive_command in ("export", "import", "due-for-review"):
        return _archive_files(args)
    if args.archive_command == "events":
        events = arch.project_events(args.project)
        if args.json:
            _print_json(events)
        for e in [] if args.json else events:
            print(
                f"{e['seq']:>4} {local_text(e['at'], seconds=True)} {e['kind']:<20} {e['actor']:<12} {e['hash'][:12]}"
            )
        return 0
    if args.project:
        arch.project_status(args.project)  # an unknown project is an error, not an intact chain
    with arch.read_session() as session:
        if args.project:
            stream = arch.project_stream(args.project)
            results = [(stream, arch.verify_stream(session, stream))]
        else:  # the whole archive: projects, and every complaint, incident, supervision, referral, person…
            results = arch.verify_all(session)
    records = [(s, b) for s, b in results if not s.startswith("project:")]
    for stream, broken in results:
        if stream.startswith("project:"):
            name = stream.removeprefix("project:")
            print(f"{name}：第 {broken.seq} 个事件有问题：{broken.reason}" if broken else f"{name}：哈希链完整")
    for stream, broken in records:
        if broken:
            print(f"{arch.stream_title(stream)}（{stream}）：第 {broken.seq} 个事件有问题：{broken.reason}")
    if records:
        intact = sum(1 for _, b in records if b is None)
        print(f"机构记录（投诉、风险事件、督导、转介、服务对象等）：{intact}/{len(records)} 条记录链完整")
    bad = [s for s, b in results if b is not None]
    if bad:
        raise RefusedError(f"{len(bad)} 条记录链未通过校验：{'、'.join(arch.stream_title(s) for s in bad)}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .supervisor import serve_forever

    _archive()
    serve_forever()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(keep=args.keep, template_id=args.template)


COMMANDS = {
    **QUALITY_COMMANDS,
    **RUN_COMMANDS,
    "init": cmd_init,
    "people": cmd_people,
    "templates": cmd_templates,
    "forms": cmd_forms,
    "launch": cmd_launch,
    "status": cmd_status,
    "sweep": cmd_sweep,
    "inbox": cmd_inbox,
    "indicators": cmd_indicators,
    "submit": cmd_submit,
    "approve": cmd_decide,
    "claim": cmd_claim,
    "delegate": cmd_delegate,
    "return": cmd_decide,
    "reject": cmd_decide,
    "notifications": cmd_notifications,
    "archive": cmd_archive,
    "serve": cmd_serve,
    "demo": cmd_demo,
}
COMMANDS.update(registry_cli.COMMANDS)


def run(args: argparse.Namespace) -> int:
    return COMMANDS[args.command](args)
