"""Thin shells over the quality acts (swflow.domain.quality): parse, call, print (or `--json`)."""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any

from swflow.app.cli.common import writable_file, write_file
from swflow.config.clock import local_text, system_clock
from swflow.config.errors import FormError

__all__ = ["QUALITY_COMMANDS"]


def _json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def _quality() -> Any:
    from swflow import db
    from swflow.domain import quality

    db.ensure_current()
    return quality


def _date(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise FormError(f"{flag}：{value} 不是日期（YYYY-MM-DD）", [(flag, "YYYY-MM-DD")]) from exc


def _t(value: str | None) -> str:
    return local_text(value)


def cmd_supervision(args: argparse.Namespace) -> int:
    from swflow.app.cli.common import read_data_file

    q = _quality()
    command = args.supervision_command
    if command == "record":
        session_id = q.record_session(read_data_file(args.data), args.by, system_clock())
        print(f"已记录督导 #{session_id}")
        return 0
    if command == "coverage":
        rows = q.coverage(system_clock())
        if args.json:
            _json(rows)
            return 0
        words = {"ok": "正常", "due_soon": "即将到期", "overdue": "逾期"}
        for r in rows:
            late = f" {r['days_overdue']} 天" if r["state"] == "overdue" else ""
            print(
                f"{r['person']:<16} {r['name']:<6} 每 {r['every_days']:>2} 天  上次 {r['last_held_on'] or '从未':<10}"
                f"  应在 {local_text(r['due_at'], day=True)}  {words[r['state']]}{late}"
            )
        return 0
    rows = [q.show_session(args.id, args.viewer)] if command == "show" else q.list_sessions(args.viewer, args.person)
    if args.json:
        _json(rows[0] if command == "show" else rows)
        return 0
    for r in rows:
        who = "、".join(r["supervisees"])
        print(f"#{r['id']:<4} {r['held_on']} {r['mode']:<10} 督导 {r['supervisor']}  被督导 {who}")
        if r["confidential"]:
            print("      （内容保密）")
            continue
        print(f"      主题：{'；'.join(r['topics'])}\n      决定：{r['decisions'] or '-'}")
        for a in r["actions"]:
            print(f"      跟进 #{a['id']} {a['owner']} 期限 {_t(a['due_at'])} {a['status']}：{a['text']}")
    return 0


def cmd_incident(args: argparse.Namespace) -> int:
    q = _quality()
    now = system_clock()
    command = args.incident_command
    if command == "report":
        fields = ("kind", "severity", "occurred_at", "place", "people_involved", "description", "handling", "project")
        result = q.report_incident({k: getattr(args, k) for k in fields}, args.by, now)
        print(f"已登记事件 #{result['id']}；后续跟进并结束事件的期限：{_t(result['close_due_at'])}")
        if result["notified"]:
            print(f"已立即通知：{'、'.join(result['notified'])}")
        return 0
    if command == "close":
        q.close_incident(args.id, args.by, args.follow_up, now)
        print(f"事件 #{args.id} 已结束")
        return 0
    if command == "review-rules":
        following = q.review_risk_rules(args.by, args.note, now)
        print(f"已记录风险管理制度检讨；下次应在 {local_text(following, day=True)} 前")
        return 0
    if command == "show":
        row = q.show_incident(args.id, args.viewer)
        if args.json:
            _json(row)
        else:
            for key, value in row.items():
                print(f"{key:<16} {value if value is not None else '-'}")
        return 0
    start, end = _bounds(args)
    rows = q.list_incidents(start, end)
    if args.json:
        _json(rows)
    for r in [] if args.json else rows:
        where = r["project"] or "-"
        due = f"  期限 {_t(r['close_due_at'])}" if r["status"] == "open" and r["close_due_at"] else ""
        print(
            f"#{r['id']:<4} {_t(r['occurred_at'])} {r['severity_title']:<4} {r['kind_title']:<8} {where}"
            f"  {r['status']}{due}"
        )
    return 0


def _bounds(args: argparse.Namespace) -> tuple[Any, Any]:
    from datetime import datetime, time, timedelta

    from swflow.config.clock import SHANGHAI

    start, end = _date(args.start, "--from"), _date(args.end, "--to")
    return (
        datetime.combine(start, time(0), SHANGHAI) if start else None,
        datetime.combine(end + timedelta(days=1), time(0), SHANGHAI) if end else None,
    )


def cmd_complaint(args: argparse.Namespace) -> int:
    q = _quality()
    now = system_clock()
    command = args.complaint_command
    if command == "open":
        fields = ("channel", "content", "contact", "project", "service", "handler")
        result = q.open_complaint({k: getattr(args, k) for k in fields}, args.by, now)
        print(
            f"已登记投诉 #{result['id']}，处理人 {result['handler']}；"
            f"确认受理期限 {_t(result['ack_due_at'])}，答复期限 {_t(result['answer_due_at'])}"
        )
        return 0
    if command == "ack":
        q.acknowledge_complaint(args.id, args.by, args.note, now)
        print(f"投诉 #{args.id} 已确认受理")
    elif command == "answer":
        q.answer_complaint(args.id, args.by, args.reply, now)
        print(f"投诉 #{args.id} 已答复")
    elif command == "action":
        action = {"owner": args.owner, "due": args.due, "text": args.text}
        action_id = q.add_complaint_action(args.id, args.by, args.kind, action, now)
        print(f"已布置行动 #{action_id}（投诉 #{args.id}），负责人 {args.owner}，期限 {args.due}")
    elif command == "close":
        satisfied = None if args.satisfied is None else args.satisfied == "yes"
        q.close_complaint(args.id, args.by, args.feedback, satisfied, now)
        print(f"投诉 #{args.id} 已结案")
    elif command == "show":
        row = q.show_complaint(args.id, args.viewer, now)
        if args.json:
            _json(row)
        for key, value in [] if args.json else row.items():
            print(f"{key:<16} {value if value is not None else '-'}")
    else:
        rows = q.list_complaints(now, *_bounds(args))
        if args.json:
            _json(rows)
        for r in [] if args.json else rows:
            late = "，确认逾期" if r["ack_late"] else ""
            late += "，答复逾期" if r["answer_late"] else ""
            print(
                f"#{r['id']:<4} {_t(r['received_at'])} {r['channel']:<6} {r['project'] or r['service']:<12}"
                f" {r['status']:<12} 处理人 {r['handler']}{late}"
            )
    return 0


def cmd_quality(args: argparse.Namespace) -> int:
    from swflow.app.cli.quality_views import print_quality_report

    q = _quality()
    now = system_clock()
    command = args.quality_command
    if command == "done":
        q.complete_action(args.id, args.by, args.note, now)
        print(f"行动 #{args.id} 已完成")
        return 0
    if command == "actions":
        rows = q.list_actions(args.viewer, args.owner, args.open)
        if args.json:
            _json(rows)
        for r in [] if args.json else rows:
            text = r["text"] if r["text"] is not None else "（内容保密）"
            print(f"#{r['id']:<4} {r['kind']:<10} {r['owner']:<14} 期限 {_t(r['due_at'])} {r['status']:<5} {text}")
        return 0
    if command == "staffing":
        staffing = q.staffing_report(now)
        _json(staffing) if args.json else print_quality_report({"staffing": staffing})
        return 0
    html = writable_file(args.html, "--html") if args.html else None  # bad input before the report is built
    report = q.quality_report(now, _date(args.start, "--from"), _date(args.end, "--to"))
    if html is not None:
        write_file(html, q.render_quality_html(report), "--html")
    if args.json:
        _json(report)
    else:
        print_quality_report(report)
        if args.html:
            print(f"HTML：{args.html}")
    return 0


QUALITY_COMMANDS = {
    "supervision": cmd_supervision,
    "incident": cmd_incident,
    "complaint": cmd_complaint,
    "quality": cmd_quality,
}
