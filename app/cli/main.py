"""The `swflow` command. Exit codes: 0 ok, 2 bad input, 3 refused, 1 internal (docs/architecture.md, contract 9)."""

from __future__ import annotations

import argparse
import errno
import os
import sys
import traceback
from collections.abc import Sequence
from functools import cache

from swflow.app.cli import registry_cli
from swflow.app.cli.argparse_words import install as install_argparse_words
from swflow.app.cli.cluster_commands import LONG_RUNNING, add_cluster_commands
from swflow.app.cli.common import os_user
from swflow.app.cli.instrument_cli import add_instrument_commands
from swflow.app.cli.quality_cli import add_quality_commands
from swflow.app.cli.run_commands import add_run_commands
from swflow.app.cli.survey_cli import add_survey_commands
from swflow.config.limits import record_id

__all__ = ["main", "build_parser"]


def _add(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help_: str,
) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=help_, description=help_)


def build_parser() -> argparse.ArgumentParser:
    install_argparse_words()  # help headings are looked up while the parser is built
    parser = argparse.ArgumentParser(
        prog="swflow",
        description="swflow：社区社会工作服务项目流程编排（《社区社会工作服务指南》）",
    )
    parser.add_argument("--home", help="SWFLOW_HOME 目录（默认 ~/.swflow）")
    sub = parser.add_subparsers(dest="command", required=True, metavar="命令")

    p = _add(sub, "init", "创建 SWFLOW_HOME、档案库和设置文件")
    p.add_argument("--home", dest="init_home", help="SWFLOW_HOME 目录")

    people = _add(sub, "people", "人员：角色、资质、通知地址").add_subparsers(
        dest="people_command", required=True, metavar="子命令"
    )
    _add(people, "import", "从 YAML 文件导入人员").add_argument("file")
    _add(people, "list", "列出人员").add_argument("--json", action="store_true")
    _add(people, "invite", "开通网页账号：一次性设置密码的链接（打印并发送到其通知渠道）").add_argument("person")
    _add(people, "reset-password", "重置密码：原密码与会话立即失效，发送新的设置密码链接").add_argument("person")

    _add(sub, "serve", "启动本地 Prefect 服务、runner、通知发送（嵌入式默认部署）")

    templates = _add(sub, "templates", "服务项目模板").add_subparsers(
        dest="templates_command", required=True, metavar="子命令"
    )
    _add(templates, "list", "列出模板").add_argument("--json", action="store_true")
    _add(templates, "show", "显示一个模板").add_argument("template_id")
    _add(templates, "validate", "检查一个模板文件（及它引用的表单、升级策略）").add_argument("file")
    p = _add(templates, "new", "复制一个模板到本机构的定义目录，作为起点")
    p.add_argument("--from", dest="source", required=True, help="从哪个模板复制（id）")
    p.add_argument("--id", dest="new_id", help="新模板的 id（默认与原模板相同，版本加 1）")

    forms = _add(sub, "forms", "表单").add_subparsers(dest="forms_command", required=True, metavar="子命令")
    _add(forms, "list", "列出表单").add_argument("--json", action="store_true")
    _add(forms, "validate", "检查一个表单文件").add_argument("file")
    p = _add(forms, "show", "显示一个表单")
    p.add_argument("form_id")
    p.add_argument("--schema", action="store_true", help="输出 JSON Schema")

    add_instrument_commands(sub, _add)
    add_survey_commands(sub, _add)

    p = _add(sub, "launch", "从模板启动服务项目，输出项目编号")
    p.add_argument("template_id")
    p.add_argument("--name", required=True)
    p.add_argument("--community", required=True)
    p.add_argument("--manager", required=True)
    p.add_argument("--supervisor", required=True)
    p.add_argument("--worker", action="append", required=True)
    p.add_argument("--evaluator", help="评估方：填写模板 evaluator_forms 中表单的人（模板有这类表单时必填）")

    p = _add(sub, "status", "项目状态：阶段、审核、轮次、期限、等待谁")
    p.add_argument("project", nargs="?")
    p.add_argument("--json", action="store_true")

    p = _add(sub, "inbox", "某人的待办表单和待审核事项")
    p.add_argument("person")
    p.add_argument("--json", action="store_true")

    p = _add(sub, "submit", "提交表单")
    p.add_argument("project")
    p.add_argument("form_id")
    p.add_argument("--by", required=True)
    p.add_argument("--data", required=True, help="YAML 或 JSON 文件")
    p.add_argument("--activity", help="按工作进度表生成的活动记录：活动编号（a1、a2…）")

    p = _add(sub, "indicators", "成效指标（基线 → 目标 → 后测）与记分卡")
    p.add_argument("project")
    p.add_argument("--json", action="store_true")

    for name, help_ in (
        ("approve", "审核通过"),
        ("return", "退回修改"),
        ("reject", "否决（项目终止）"),
    ):
        p = _add(sub, name, help_)
        p.add_argument("project")
        p.add_argument("stage")
        p.add_argument("--by", required=True)
        p.add_argument("--comment", default="", required=name != "approve")
        if name == "return":
            p.add_argument("--redo", action="append", default=[], metavar="FORM_ID", help="只重做这些表单（默认全部）")

    p = _add(sub, "claim", "认领一个由角色组审核的审核步骤")
    p.add_argument("project")
    p.add_argument("stage")
    p.add_argument("--by", required=True)

    p = _add(sub, "delegate", "把本人的审核委托给另一位有资格的督导")
    p.add_argument("project")
    p.add_argument("stage")
    p.add_argument("--by", required=True)
    p.add_argument("--to", required=True)

    notes = _add(sub, "notifications", "通知发件箱").add_subparsers(
        dest="notifications_command", required=True, metavar="子命令"
    )
    p = _add(notes, "list", "列出通知")
    p.add_argument("--failed", action="store_true")
    p.add_argument("--json", action="store_true")
    _add(notes, "dispatch", "立即发送到期的通知（一次）")
    p = _add(notes, "resend", "重新发送失败的通知")
    p.add_argument("ids", nargs="*", type=record_id, help="通知编号；不写则重发全部失败的通知")

    p = _add(sub, "sweep", "检查一次期限：提醒、升级（deadline_watch 的一次执行）")
    p.add_argument("--now", help="按这个时间检查（ISO 8601，无时区按北京时间）")
    p.add_argument("--json", action="store_true")

    add_quality_commands(sub, _add)
    add_run_commands(sub, _add)
    add_cluster_commands(sub, _add)

    arch = _add(sub, "archive", "项目档案").add_subparsers(dest="archive_command", required=True, metavar="子命令")
    _add(arch, "verify", "校验数据库文件、哈希链、签名检查点，以及记录与事件是否一致").add_argument(
        "project", nargs="?"
    )
    _add(arch, "checkpoint", "立即签署一个检查点（swflow serve 每小时和每次结项时自动签署）")
    p = _add(arch, "export", "导出项目档案：index.html、data.json、tables.xlsx")
    p.add_argument("project")
    p.add_argument("--out", required=True, help="输出目录")
    p.add_argument("--as", dest="as_person", help="以此人身份导出（有权查看时不遮盖敏感信息）")
    _add(arch, "import", "把导出的 data.json 导入（空的）档案库").add_argument("file")
    p = _add(arch, "due-for-review", "列出超过保管期限、待鉴定的档案")
    p.add_argument("--now", help="按这个时间判断（ISO 8601）")
    p.add_argument("--json", action="store_true")
    p = _add(arch, "events", "列出项目事件")
    p.add_argument("project")
    p.add_argument("--json", action="store_true")
    p = _add(arch, "backup", "备份整个档案库（swflow serve 运行时也可）：校验后写入新文件，权限 0600（仅 SQLite）")
    p.add_argument("--out", required=True, help="备份文件（不能已存在）")
    p = _add(arch, "restore", "把备份恢复到还没有档案库的 home（在 swflow init 之前）：先校验再复制（仅 SQLite）")
    p.add_argument("file", help="swflow archive backup 写出的文件")

    p = _add(sub, "demo", "脚本化演示一个样例项目的完整生命周期")
    p.add_argument("--keep", action="store_true", help="结束后保留运行中的服务（不停止）")
    p.add_argument("--template", default="elderly-care-brief", help="使用的模板（默认 elderly-care-brief）")
    registry_cli.add_parsers(sub)
    return parser


# Field names of the domain's input models, as a person reads them (a ValidationError names the field).
FIELD_TITLES = {
    "template_id": "模板",
    "name": "名称（--name）",
    "community": "社区（--community）",
    "manager_id": "项目主管（--manager）",
    "supervisor_id": "督导（--supervisor）",
    "worker_ids": "社工（--worker）",
    "evaluator_id": "评估方（--evaluator）",
    "occurred_at": "发生时间（--at）",
    "due": "期限（--due）",
    "birth_year": "出生年份（--birth-year）",
    "phone": "联系电话（--phone）",
    "gender": "性别（--gender）",
}


@cache
def _parser() -> argparse.ArgumentParser:
    """Built once per process: building it costs more than most commands (gettext per help text)."""
    return build_parser()


def _argument_problem(argv: Sequence[str]) -> str | None:
    """An argument no command takes: one with a NUL character or longer than any text swflow keeps."""
    from swflow.config.limits import get_limits

    longest = get_limits().longtext_chars
    for index, value in enumerate(argv):
        option = argv[index - 1] if index and argv[index - 1].startswith("-") else f"第 {index + 1} 个参数"
        if "\x00" in value:
            return f"{option}：不能含 NUL（\\0）字符"
        if len(value) > longest:
            return f"{option}：超过 {longest} 个字（SWFLOW_MAX_LONGTEXT_CHARS）"
    return None


def _quiet_stdout() -> None:
    """The reader went away (`swflow status | head`): stop writing, without a second error at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - kept open until exit


PRIVATE_UMASK = 0o077  # what swflow writes (archive, WAL, logs, Prefect's folder, exports) only its owner reads


def main(argv: Sequence[str] | None = None) -> int:
    previous = os.umask(PRIVATE_UMASK)
    try:
        return _main(argv)
    finally:
        os.umask(previous)


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    problem = _argument_problem(argv)
    if problem is not None:
        print(f"错误：{problem}", file=sys.stderr)
        return 2
    args = _parser().parse_args(argv)
    home = getattr(args, "init_home", None) or args.home
    if home:
        os.environ["SWFLOW_HOME"] = os.path.abspath(home)
    from pydantic import ValidationError

    from swflow.app.cli import commands
    from swflow.config.errors import SwflowError, form_error_from_validation, os_error_text

    try:
        duty = args.command in LONG_RUNNING or getattr(args, "watch", False)
        if args.command in ("serve", "demo") or duty:  # long-running: their acts are swflow's own, or the demo's
            code = commands.run(args)
        else:
            from swflow.db import acting_through

            with acting_through("cli", os_user=os_user()):  # the operator's door records who ran it
                code = commands.run(args)
        sys.stdout.flush()
        return code
    except SwflowError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return exc.exit_code
    except ValidationError as exc:  # a domain input model refused the arguments
        error = form_error_from_validation(exc, "输入", FIELD_TITLES)
        print(f"错误：{error}", file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:
        _quiet_stdout()
        return 141  # 128 + SIGPIPE, as a shell reports a reader that closed the pipe
    except OSError as exc:
        print(f"错误：{os_error_text(exc)}", file=sys.stderr)
        # a path no file can have (a name too long, a loop of links, a file used as a folder) is the
        # caller's input, not the machine's trouble
        return 2 if exc.errno in (errno.ENAMETOOLONG, errno.ELOOP, errno.ENOTDIR) else 1
    except KeyboardInterrupt:
        return 130
    except Exception:  # the last line of defence: say it is ours, keep the trace
        traceback.print_exc()
        print("内部错误（请将以上信息报告给维护者）", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
