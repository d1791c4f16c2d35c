"""The quality commands' arguments: `swflow supervision|incident|complaint|quality …` (§7, §8)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeAlias

from swflow.config.limits import record_id

__all__ = ["add_quality_commands"]

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Add: TypeAlias = Callable[[Sub, str, str], argparse.ArgumentParser]


def _period(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="start", metavar="DATE", help="起始日期 YYYY-MM-DD（含）")
    p.add_argument("--to", dest="end", metavar="DATE", help="截止日期 YYYY-MM-DD（含；默认今天）")


def _supervision(sub: Sub, add: Add) -> None:
    cmds = add(sub, "supervision", "督导（§7.3）：记录、查看、覆盖情况").add_subparsers(
        dest="supervision_command", required=True, metavar="子命令"
    )
    p = add(cmds, "record", "督导者记录一次已进行的督导（个别或小组）")
    p.add_argument("--by", required=True, help="督导者")
    p.add_argument("--data", required=True, help="YAML 或 JSON：supervisees、held_on、mode、topics、decisions、actions")
    p = add(cmds, "list", "列出督导记录（内容只对督导者、被督导者和机构负责人显示）")
    p.add_argument("--as", dest="viewer", required=True, help="查看人")
    p.add_argument("--person", help="只列出此人接受的督导")
    p.add_argument("--json", action="store_true")
    p = add(cmds, "show", "查看一次督导的全部内容（保密：仅限督导者、被督导者和机构负责人）")
    p.add_argument("id", type=record_id)
    p.add_argument("--as", dest="viewer", required=True)
    p.add_argument("--json", action="store_true")
    p = add(cmds, "coverage", "督导覆盖：每人上次督导、下次应在何时、谁已逾期")
    p.add_argument("--json", action="store_true")


def _incident(sub: Sub, add: Add) -> None:
    cmds = add(sub, "incident", "风险事件（§7.4）：登记、查看、结束、制度检讨").add_subparsers(
        dest="incident_command", required=True, metavar="子命令"
    )
    p = add(cmds, "report", "登记一起事件；严重事件立即通知督导和机构负责人")
    p.add_argument("--by", required=True)
    p.add_argument("--kind", required=True, help="事件类型（表单 incident-report 的选项，如 accident）")
    p.add_argument("--severity", required=True, help="严重程度：low、medium、high、severe")
    p.add_argument("--at", dest="occurred_at", required=True, help="发生时间（ISO 8601，无时区按北京时间）")
    p.add_argument("--place", required=True)
    p.add_argument("--people", dest="people_involved", required=True, help="涉及人员（敏感）")
    p.add_argument("--description", required=True, help="事件经过")
    p.add_argument("--handling", required=True, help="即时处置")
    p.add_argument("--project", help="涉及的项目编号")
    p = add(cmds, "list", "事件登记簿（不含地点、涉及人员和经过）")
    _period(p)
    p.add_argument("--json", action="store_true")
    p = add(cmds, "show", "查看一起事件的全部内容（敏感：仅限知悉范围）")
    p.add_argument("id", type=record_id)
    p.add_argument("--as", dest="viewer", required=True)
    p.add_argument("--json", action="store_true")
    p = add(cmds, "close", "记录后续跟进并结束事件")
    p.add_argument("id", type=record_id)
    p.add_argument("--by", required=True)
    p.add_argument("--follow-up", dest="follow_up", required=True)
    p = add(cmds, "review-rules", "机构负责人记录已检讨风险管理制度，并安排下次检讨")
    p.add_argument("--by", required=True)
    p.add_argument("--note", default="")


def _complaint(sub: Sub, add: Add) -> None:
    cmds = add(sub, "complaint", "投诉与争议（§7.5）：登记、确认受理、答复、行动、结案").add_subparsers(
        dest="complaint_command", required=True, metavar="子命令"
    )
    p = add(cmds, "open", "登记一宗投诉，输出投诉编号与期限")
    p.add_argument("--by", required=True, help="接待人")
    p.add_argument("--channel", required=True, choices=["phone", "visit", "online", "letter"])
    p.add_argument("--content", required=True)
    p.add_argument("--contact", default="", help="投诉人姓名与联系方式（敏感）")
    p.add_argument("--project", help="涉及的项目编号")
    p.add_argument("--service", default="", help="涉及的服务（不属于某个项目时）")
    p.add_argument("--handler", help="处理人（默认：项目主管；无项目时为机构负责人）")
    p = add(cmds, "ack", "确认受理")
    p.add_argument("id", type=record_id)
    p.add_argument("--by", required=True)
    p.add_argument("--note", default="")
    p = add(cmds, "answer", "答复投诉人")
    p.add_argument("id", type=record_id)
    p.add_argument("--by", required=True)
    p.add_argument("--reply", required=True)
    p = add(cmds, "action", "布置纠正或预防行动（负责人、期限）")
    p.add_argument("id", type=record_id)
    p.add_argument("--by", required=True)
    p.add_argument("--kind", required=True, choices=["corrective", "preventive"])
    p.add_argument("--owner", required=True)
    p.add_argument("--due", required=True, help="期限 YYYY-MM-DD")
    p.add_argument("--text", required=True)
    p = add(cmds, "close", "记录投诉人的反馈并结案")
    p.add_argument("id", type=record_id)
    p.add_argument("--by", required=True)
    p.add_argument("--feedback", required=True)
    p.add_argument("--satisfied", choices=["yes", "no"])
    p = add(cmds, "list", "投诉及其期限（不含内容与联系方式）")
    _period(p)
    p.add_argument("--json", action="store_true")
    p = add(cmds, "show", "查看一宗投诉的全部内容（敏感：仅限知悉范围）")
    p.add_argument("id", type=record_id)
    p.add_argument("--as", dest="viewer", required=True)
    p.add_argument("--json", action="store_true")


def _quality(sub: Sub, add: Add) -> None:
    cmds = add(sub, "quality", "服务质量：报告、行动、人员配备").add_subparsers(
        dest="quality_command", required=True, metavar="子命令"
    )
    p = add(cmds, "report", "质量报告：督导覆盖、事件、投诉回应时间、有风险的项目、人员配备")
    _period(p)
    p.add_argument("--html", metavar="FILE", help="另存为 HTML")
    p.add_argument("--json", action="store_true")
    p = add(cmds, "actions", "纠正、预防与督导跟进行动（内容只对知悉范围内的人显示）")
    p.add_argument("--as", dest="viewer", required=True)
    p.add_argument("--owner")
    p.add_argument("--open", action="store_true", help="只列未完成的")
    p.add_argument("--json", action="store_true")
    p = add(cmds, "done", "标记行动已完成")
    p.add_argument("id", type=record_id)
    p.add_argument("--by", required=True)
    p.add_argument("--note", default="")
    p = add(cmds, "staffing", "各社区的持证社工与即将到期的证书（§8.1）")
    p.add_argument("--json", action="store_true")


def add_quality_commands(sub: Sub, add: Add) -> None:
    for part in (_supervision, _incident, _complaint, _quality):
        part(sub, add)
