"""Thin shells over domain acts: parse files, call the act, print the result."""

from __future__ import annotations

import argparse
import errno
import sys
from pathlib import Path
from typing import Any, Literal

from swflow import db
from swflow.app.cli import registry_cli
from swflow.app.cli.cluster_commands import CLUSTER_COMMANDS
from swflow.app.cli.common import domain_acts, print_json, read_data_file
from swflow.app.cli.instrument_cli import INSTRUMENT_COMMANDS
from swflow.app.cli.quality_commands import QUALITY_COMMANDS
from swflow.app.cli.record_commands import RECORD_COMMANDS
from swflow.app.cli.run_commands import RUN_COMMANDS
from swflow.app.cli.survey_cli import SURVEY_COMMANDS
from swflow.config.clock import SHANGHAI, system_clock
from swflow.config.errors import FormError, StorageError, bad_path, os_error_text
from swflow.config.settings import get_settings
from swflow.domain.people.rules import ROLE_TITLES

__all__ = ["run", "COMMANDS"]


def cmd_init(args: argparse.Namespace) -> int:
    from swflow.config.settings import ensure_api_secret

    settings = get_settings()
    env_file = settings.home / "swflow.env"
    if settings.home.exists() and not settings.home.is_dir():
        raise FormError(f"--home：{settings.home} 已存在且不是目录", [("--home", "须是目录")])
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
        if not env_file.exists():
            env_file.write_text(
                "# swflow 设置；环境变量 SWFLOW_* 优先于此文件\n"
                f"SWFLOW_PREFECT_PORT={settings.prefect_port}\n"
                "# SWFLOW_DATABASE_URL=postgresql://user@host/db\n",
                encoding="utf-8",
            )
        settings.home.chmod(0o700)  # the case files of a social-work agency: its owner only
        env_file.chmod(0o600)
        ensure_api_secret(settings)  # the Prefect API's password and the web's signing key, made once
    except OSError as exc:
        if exc.errno in (errno.ENAMETOOLONG, errno.ENOTDIR, errno.ELOOP):  # the path itself is wrong: bad input
            raise bad_path("--home", settings.home, exc) from exc
        raise StorageError(f"SWFLOW_HOME {settings.home} 不可写：{os_error_text(exc)}") from exc
    db.migrate()
    from swflow.archive.checkpoints import ensure_key, write_checkpoint

    key = ensure_key(settings)
    write_checkpoint(system_clock(), "init", when_new_only=False)
    print(f"已初始化 {settings.home}\n  档案库：{settings.archive_url}\n  设置：{env_file}\n  检查点签名密钥：{key}")
    return 0


def cmd_people(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    arch = domain_acts()
    if args.people_command == "list":
        from swflow.domain.people.records import list_people

        people = list_people()
        if args.json:
            print_json(people)
        for p in [] if args.json else people:
            titles = "、".join(ROLE_TITLES.get(r, r) for r in p["roles"])
            print(f"{p['id']:<16} {p['name']:<8} {titles}  通知渠道 {p['channels']}")
        return 0
    if args.people_command in ("invite", "reset-password"):
        from swflow.app.cli.common import os_user
        from swflow.config.settings import ensure_api_secret
        from swflow.domain.agency import invite_person

        ensure_api_secret(get_settings())  # the key that signs the link
        kind: Literal["invite", "reset"] = "invite" if args.people_command == "invite" else "reset"
        url = invite_person(args.person, kind, f"cli:{os_user()}", system_clock())
        print(f"{'已开通账号' if kind == 'invite' else '已重置密码'}：{args.person}")
        print(f"设置密码的链接（一次有效，{get_settings().link_hours} 小时内）：{url}")
        print("链接也已发送到此人的通知渠道。")
        return 0
    data = read_data_file(args.file, "people import")
    try:
        people_file = arch.PeopleFile.model_validate(data)
    except ValidationError as exc:
        raise _people_error(exc, data, args.file) from exc
    from swflow.app.cli.common import os_user
    from swflow.domain.agency.grants import ROLE_WORDS, import_people_held

    report = import_people_held(people_file.people, f"cli:{os_user()}", system_clock())
    print(f"已导入人员：新增 {report.added}，更新 {report.updated}")
    for person_id, roles in report.held.items():
        words = "、".join(ROLE_WORDS[r] for r in roles)
        sent = (
            f"已向 {'、'.join(report.asked)} 发送确认链接"
            if report.asked
            else "签名密钥尚未生成，请先运行 swflow init 再导入一次"
        )
        print(f"  {person_id} 的 {words} 角色须机构负责人确认后生效：{sent}")
    for url in report.links:
        print(f"  确认链接：{url}")
    return 0


def _people_error(exc: Any, data: Any, file: str) -> FormError:
    """Each problem of a people file named by the person (their id) and, for an address, its index."""
    from swflow.config.errors import pydantic_rule

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
    from swflow.config.templates import get_template, list_templates, load_template

    if args.templates_command == "validate":
        from swflow.forms_spec import check_template_forms

        read_data_file(args.file, "templates validate")  # size, nesting, NaN: before the loader parses it
        template = load_template(Path(args.file))
        check_template_forms(template, args.file)
        print(f"{args.file}：模板 {template.id} v{template.version} 有效")
        return 0
    if args.templates_command == "new":
        from swflow.config.templates import copy_template

        path, made = copy_template(args.source, args.new_id)
        print(f"已写出 {path}（模板 {made.id} v{made.version}）：修改后用 `swflow templates validate {path}` 检查")
        return 0
    if args.templates_command == "show":
        print_json(get_template(args.template_id).model_dump(mode="json"))
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
        print_json(rows)
    else:
        for r in rows:
            print(f"{r['id']:<20} §{r['clause']:<6} {r['title']}  阶段：{' → '.join(r['stages'])}")
    return 0


def cmd_forms(args: argparse.Namespace) -> int:
    from swflow.forms_spec import form_schema, get_form, list_forms

    if args.forms_command == "list":
        rows = [{"id": f.id, "version": f.version, "title": f.title, "clause": f.clause} for f in list_forms()]
        if args.json:
            print_json(rows)
        for r in [] if args.json else rows:
            print(f"{r['id']:<26} v{r['version']}  §{r['clause']:<9} {r['title']}")
        return 0
    if args.forms_command == "validate":
        from swflow.forms_spec import load_form

        read_data_file(args.file, "forms validate")  # size, nesting, NaN: before the loader parses it
        checked = load_form(Path(args.file))
        print(f"{args.file}：表单 {checked.id} v{checked.version}（{checked.title}）有效")
        return 0
    form = get_form(args.form_id)
    if args.schema:
        print_json(form_schema(form))
        return 0
    print(f"{form.id} v{form.version}  {form.title}（§{form.clause}）")
    for field in form.fields:
        flags = ("必填" if field.required else "选填") + ("，敏感" if field.sensitive else "")
        if field.show_if:
            flags += f"，当 {field.show_if.field}∈{list(field.show_if.equals)}"
        print(f"  {field.name:<22} {field.type:<11} {flags:<7} {field.label}")
        _print_choices(field, "      ")
        for col in field.columns or ():
            col_flags = ("必填" if col.required else "选填") + ("，敏感" if col.sensitive else "")
            print(f"    · {col.name:<18} {col.type:<11} {col_flags:<7} {col.label}")
            _print_choices(col, "        ")
    return 0


def _print_choices(field: Any, indent: str) -> None:
    """A choice field's options, key and label: either may be given in a data file."""
    if field.choices:
        print(f"{indent}可选（写键或名称均可）：" + "、".join(f"{key}={label}" for key, label in field.choices.items()))


def cmd_indicators(args: argparse.Namespace) -> int:
    from swflow.archive.reports import indicator_report, scorecard_report

    domain_acts()
    from swflow.app.cli.survey_cli import print_surveys
    from swflow.domain.projects.surveys import survey_report

    report: dict[str, Any] = {"indicators": indicator_report(args.project), "scorecard": scorecard_report(args.project)}
    report["surveys"] = survey_report(args.project)
    if args.json:
        print_json(report)
        return 0
    print(f"{'指标':<20} {'单位':<4} {'基线':>8} {'目标':>8} {'后测':>8} {'变化':>8}  达成")
    for row in report["indicators"]:
        met = {True: "是", False: "否", None: "-"}[row["met"]]
        cells = [row[k] if row[k] is not None else "-" for k in ("baseline", "target", "post", "change")]
        print(f"{row['indicator']:<20} {row['unit'] or '-':<4} " + " ".join(f"{c:>8}" for c in cells) + f"  {met}")
        for word, source in (("基线", row.get("baseline_from")), ("后测", row.get("post_from"))):
            if source:
                print(f"  {word}由问卷「{source['title']}」算得：{source['statistic']}，n = {source['n']}")
    card = report["scorecard"]
    total = card["total"] if card["total"] is not None else "未评分"
    print(f"\n{card['title']}：总分 {total}（{card['scale']['min']}–{card['scale']['max']} 分）")
    for d in card["dimensions"]:
        print(f"  {d['title']:<12} 权重 {d['weight']:<5} 得分 {d['score'] if d['score'] is not None else '-'}")
    for key, scored in card.get("from_surveys", {}).items():  # scored from a survey, not typed
        source = f"问卷「{scored['title']}」的「{scored['indicator']}」{scored['value']:g}"
        print(f"  {scored.get('card_title', key)} 计 {scored['score']} 分：由{source} 换算")
    if report["surveys"]:
        print("\n问卷调查")
        print_surveys(report["surveys"])
    return 0


def cmd_launch(args: argparse.Namespace) -> int:
    from swflow.flows.launching import launch_project

    arch = domain_acts()
    request = arch.LaunchRequest(
        template_id=args.template_id,
        name=args.name,
        community=args.community,
        manager_id=args.manager,
        supervisor_id=args.supervisor,
        worker_ids=args.worker,
        evaluator_id=args.evaluator,
    )
    plan = arch.prepare_launch(request, system_clock().astimezone(SHANGHAI).date())  # the day in Beijing
    if launch_project(plan) is None:
        print("项目已记录；编排服务暂不可用，`swflow serve` 运行时会自动为它创建流程运行", file=sys.stderr)
    print(plan.project_id)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from swflow.app.cli.views import print_project, print_projects

    arch = domain_acts()
    if args.project is None:
        rows = arch.list_projects()
        print_json(rows) if args.json else print_projects(rows)
        return 0
    status = arch.project_status(args.project)
    print_json(status) if args.json else print_project(status)
    return 0


def cmd_inbox(args: argparse.Namespace) -> int:
    from swflow.app.cli.views import print_inbox

    box = domain_acts().inbox(args.person)
    print_json(box) if args.json else print_inbox(box)
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    arch = domain_acts()
    data = read_data_file(args.data)
    result = arch.submit_form(args.project, args.form_id, args.by, data, system_clock(), args.activity)
    print(f"已提交 {args.form_id}（阶段 {result.stage} 第 {result.round} 轮，记录 #{result.submission_id}）")
    if result.stage_complete:
        print("本阶段表单已齐，已请审核人审核")
        _describe_gate(args.project, result.stage)
    return 0


def _describe_gate(project_id: str, stage_key: str) -> None:
    """Refresh what the Prefect UI shows at the suspended gate (best effort: the archive has it all)."""
    from swflow.flows.control import describe_gate

    arch = domain_acts()
    run_id = arch.project_status(project_id)["flow_run_id"]
    if run_id:
        gate = arch.read_gate(project_id, stage_key)
        describe_gate(run_id, gate.pause_key, arch.gate_summary(project_id, stage_key))


def cmd_decide(args: argparse.Namespace) -> int:
    arch = domain_acts()
    decided = arch.record_decision(
        args.project, args.stage, args.by, args.command, args.comment, system_clock(), getattr(args, "redo", None)
    )
    from swflow.domain.projects.rules import OUTCOME_WORDS as words

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
    from swflow.flows.control import resume_gate

    if flow_run_id and not resume_gate(flow_run_id, decision_id):
        print("流程将在编排服务（swflow serve）运行时接续", file=sys.stderr)


def cmd_claim(args: argparse.Namespace) -> int:
    step = domain_acts().claim_gate(args.project, args.stage, args.by, system_clock())
    print(f"{args.by} 已认领 {args.project} {args.stage} 第 {step} 步审核")
    _describe_gate(args.project, args.stage)
    return 0


def cmd_delegate(args: argparse.Namespace) -> int:
    step = domain_acts().delegate_gate(args.project, args.stage, args.by, args.to, system_clock())
    print(f"{args.by} 已将 {args.project} {args.stage} 第 {step} 步审核委托给 {args.to}")
    _describe_gate(args.project, args.stage)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from swflow.app.serve.supervisor import serve_forever

    domain_acts()
    serve_forever()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from swflow.app.demo import run_demo

    return run_demo(keep=args.keep, template_id=args.template)


COMMANDS = {
    **QUALITY_COMMANDS,
    **INSTRUMENT_COMMANDS,
    **SURVEY_COMMANDS,
    **RUN_COMMANDS,
    **CLUSTER_COMMANDS,
    **RECORD_COMMANDS,
    "init": cmd_init,
    "people": cmd_people,
    "templates": cmd_templates,
    "forms": cmd_forms,
    "launch": cmd_launch,
    "status": cmd_status,
    "inbox": cmd_inbox,
    "indicators": cmd_indicators,
    "submit": cmd_submit,
    "approve": cmd_decide,
    "claim": cmd_claim,
    "delegate": cmd_delegate,
    "return": cmd_decide,
    "reject": cmd_decide,
    "serve": cmd_serve,
    "demo": cmd_demo,
}
COMMANDS.update(registry_cli.COMMANDS)


def run(args: argparse.Namespace) -> int:
    return COMMANDS[args.command](args)
