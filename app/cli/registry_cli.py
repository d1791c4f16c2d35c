"""`swflow registry person|org|volunteer …` and `swflow referral …` (§5.2, §6.2.2, §8.3.2, §8.3.4):
the arguments, and thin handlers over swflow.domain.registry. Every act names `--by` (an archive person),
so what they may see is decided, and what they did recorded."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeAlias

from swflow.app.cli.registry_commands import cmd_referral, cmd_registry
from swflow.config.limits import bounded_int, finite_number, record_id

__all__ = ["add_parsers", "COMMANDS"]

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _add(sub: Sub, name: str, help_: str) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=help_, description=help_)


def _by(p: argparse.ArgumentParser, json_: bool = True) -> argparse.ArgumentParser:
    p.add_argument("--by", required=True, help="操作人（档案中的人员编号）：据此决定能否看到敏感信息，并记录在案")
    if json_:
        p.add_argument("--json", action="store_true")
    return p


def _identity(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", required=True)
    p.add_argument("--gender", required=True, help="female、male 或 unstated")
    p.add_argument("--birth-year", dest="birth_year", required=True, type=bounded_int)
    p.add_argument("--phone", help="联系电话（敏感）")
    p.add_argument("--community", help="所在社区")


def _person(sub: Sub) -> None:
    cmds = _add(sub, "person", "服务对象：登记、查找、查看、合并、同意、导出、删除").add_subparsers(
        dest="person_command", required=True, metavar="子命令"
    )
    p = _by(_add(cmds, "add", "登记服务对象；与已有记录姓名、出生年份、电话相同时不登记，提示合并"))
    _identity(p)
    p.add_argument("--address", help="住址（敏感）")
    p.add_argument("--tag", dest="tags", action="append", default=[], help="脆弱性标签（可多次），如 living_alone")
    p.add_argument("--notes", help="备注（敏感）")
    p.add_argument("--project", help="同时加入此项目（须是该项目团队成员）")
    p.add_argument("--consent", action="append", default=[], metavar="PURPOSE", help="本人已同意的用途（可多次）")
    p.add_argument("--consent-date", dest="consent_date", help="同意日期 YYYY-MM-DD（默认今天）")
    p.add_argument("--guardian", action="store_true", help="同意由监护人作出")
    p.add_argument("--merge-into", dest="merge_into", type=record_id, metavar="ID", help="确认是同一人：补充进该记录")
    p.add_argument("--not-duplicate", dest="not_duplicate", action="store_true", help="确认不是同一人，仍然登记")
    p = _by(_add(cmds, "find", "在本人可见的服务对象中查找（姓名可部分匹配）"))
    p.add_argument("--name")
    p.add_argument("--phone")
    p.add_argument("--birth-year", dest="birth_year", type=bounded_int)
    p.add_argument("--project")
    p.add_argument("--tag")
    p = _by(_add(cmds, "show", "查看一位服务对象（不在知悉范围内时敏感信息被遮盖）；查看记录在案"))
    p.add_argument("id", type=record_id)
    p = _by(_add(cmds, "merge", "把同一人的两条记录合并：OTHER 并入 KEEP"))
    p.add_argument("keep", type=record_id)
    p.add_argument("other", type=record_id)
    p = _by(_add(cmds, "consent", "记录服务对象就某一用途给出的同意"), json_=False)
    p.add_argument("id", type=record_id)
    p.add_argument("--purpose", required=True)
    p.add_argument("--date", help="同意日期 YYYY-MM-DD（默认今天）")
    p.add_argument("--guardian", action="store_true", help="同意由监护人作出")
    p = _by(_add(cmds, "withdraw", "记录服务对象撤回某一用途的同意"), json_=False)
    p.add_argument("id", type=record_id)
    p.add_argument("--purpose", required=True)
    p.add_argument("--date", help="撤回日期 YYYY-MM-DD（默认今天）")
    p = _by(_add(cmds, "join", "把服务对象加入一个项目（其团队即可查看其信息）"), json_=False)
    p.add_argument("id", type=record_id)
    p.add_argument("--project", required=True)
    p = _by(_add(cmds, "export", "应本人要求导出其全部个人信息（JSON）"), json_=False)
    p.add_argument("id", type=record_id)
    p.add_argument("--out", required=True, help="输出文件")
    p = _by(_add(cmds, "forget", "应本人要求删除个人信息：须保留档案时做假名化处理"))
    p.add_argument("id", type=record_id)


def _org(sub: Sub) -> None:
    cmds = _add(sub, "org", "社区组织与单位，及资源链接（§6.2.2）").add_subparsers(
        dest="org_command", required=True, metavar="子命令"
    )
    p = _by(_add(cmds, "add", "登记社区组织或单位"))
    p.add_argument("--name", required=True)
    p.add_argument("--kind", required=True, help="如 community_social_organisation、property_company")
    p.add_argument("--community")
    p.add_argument("--contact-name", dest="contact_name")
    p.add_argument("--contact-phone", dest="contact_phone")
    p.add_argument("--offers", help="可提供的资源与服务")
    p = _add(cmds, "list", "列出社区组织与单位")
    p.add_argument("--kind")
    p.add_argument("--json", action="store_true")
    p = _by(_add(cmds, "link", "记录一次资源链接：哪项资源对应哪个项目的哪项需求"))
    p.add_argument("--project", required=True)
    p.add_argument("--org", type=record_id, help="提供资源的组织编号（已登记时）")
    p.add_argument("--need", required=True)
    p.add_argument("--resource", required=True)
    p.add_argument("--method", required=True, help="resource_integration、resource_sharing 或 resource_allocation")
    p.add_argument("--expected")
    p = _by(_add(cmds, "result", "记录资源链接的结果"), json_=False)
    p.add_argument("link", type=record_id)
    p.add_argument("--outcome", required=True, choices=["achieved", "partly", "not_achieved"])
    p.add_argument("--result", required=True)
    p = _add(cmds, "links", "列出资源链接及结果")
    p.add_argument("--project")
    p.add_argument("--org", type=record_id)
    p.add_argument("--json", action="store_true")


def _volunteer(sub: Sub) -> None:
    cmds = _add(sub, "volunteer", "志愿者：登记、培训、服务时长、服务证明（§5.2）").add_subparsers(
        dest="volunteer_command", required=True, metavar="子命令"
    )
    p = _by(_add(cmds, "add", "登记志愿者"))
    _identity(p)
    p.add_argument("--registration-no", dest="registration_no", help="志愿者注册编号")
    p.add_argument("--skills", help="特长与可提供的服务")
    p.add_argument("--registered-on", dest="registered_on", help="登记日期 YYYY-MM-DD（默认今天）")
    p.add_argument("--not-duplicate", dest="not_duplicate", action="store_true")
    p = _by(_add(cmds, "train", "记录一次志愿者培训"), json_=False)
    p.add_argument("id", type=record_id)
    p.add_argument("--course", required=True)
    p.add_argument("--date", required=True, help="YYYY-MM-DD")
    p.add_argument("--hours", required=True, type=finite_number)
    _by(_add(cmds, "list", "列出志愿者及累计服务时长"))
    p = _by(_add(cmds, "hours", "志愿者每次活动的服务时长（取自服务活动记录）与合计"))
    p.add_argument("id", type=record_id)
    p = _by(_add(cmds, "certificate", "出具志愿服务证明（可打印的 HTML）"))
    p.add_argument("id", type=record_id)
    p.add_argument("--out", required=True, help="输出的 HTML 文件")


def _referral(sub: Sub) -> None:
    cmds = _add(sub, "referral", "服务转介与跟进（§8.3.4）").add_subparsers(
        dest="referral_command", required=True, metavar="子命令"
    )
    p = _by(_add(cmds, "open", "转介服务对象（须有其有效的转介同意），安排第一次跟进"))
    p.add_argument("person", type=record_id, help="服务对象编号")
    p.add_argument("--service", required=True, help="转介的服务")
    p.add_argument("--reason", required=True, help="转介原因（敏感）")
    p.add_argument("--org", type=record_id, help="接收机构（已登记的组织编号）")
    p.add_argument("--agency", help="接收机构名称（未登记时）")
    p.add_argument("--project", help="所属项目")
    p.add_argument("--urgent", action="store_true")
    p.add_argument("--shared-info", dest="shared_info", help="提供给接收机构的信息（敏感）")
    p = _by(_add(cmds, "update", "记录一次跟进，约定下一次跟进"))
    p.add_argument("id", type=record_id)
    p.add_argument("--note", required=True, help="跟进情况（敏感）")
    p.add_argument("--status", choices=["sent", "accepted", "in_service", "declined"])
    p.add_argument("--next", dest="next_on", help="下一次跟进日期 YYYY-MM-DD（默认按设置的工作日数）")
    p = _by(_add(cmds, "close", "转介结案并记录结果"))
    p.add_argument("id", type=record_id)
    p.add_argument(
        "--outcome",
        required=True,
        choices=["resolved", "partly_resolved", "unresolved", "declined_by_agency", "withdrawn", "re_referred"],
    )
    p.add_argument("--note", default="", help="结果说明（敏感）")
    p = _by(_add(cmds, "list", "列出转介、状态、跟进期限与是否逾期"))
    p.add_argument("--status", help="open（未结案）或某一状态")
    p.add_argument("--person", type=record_id)
    p.add_argument("--project")
    p = _by(_add(cmds, "show", "查看一次转介及其跟进记录"))
    p.add_argument("id", type=record_id)


def add_parsers(sub: Sub) -> None:
    """Add `registry` and `referral` to the top-level subcommands of `swflow`."""
    registry = _add(sub, "registry", "社区社会工作服务数据库：服务对象、社区组织、志愿者（§8.3.2）")
    cmds = registry.add_subparsers(dest="registry_command", required=True, metavar="子命令")
    _person(cmds)
    _org(cmds)
    _volunteer(cmds)
    _add(cmds, "verify", "校验服务对象、志愿者、组织和转介的哈希链").add_argument("--json", action="store_true")
    _referral(sub)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"registry": cmd_registry, "referral": cmd_referral}
