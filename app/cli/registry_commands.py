"""Thin shells over swflow.domain.registry: parse the arguments, call the act, print (or `--json`)."""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any

from swflow.app.cli import registry_views as views
from swflow.app.cli.common import writable_file, write_file
from swflow.config.clock import SHANGHAI, system_clock
from swflow.config.errors import FormError, RefusedError

__all__ = ["cmd_registry", "cmd_referral"]


def _json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def _registry() -> Any:
    from swflow import db
    from swflow.domain import registry

    db.ensure_current()
    return registry


def _date(value: str | None, flag: str) -> date:
    if value is None:
        return system_clock().astimezone(SHANGHAI).date()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise FormError(f"{flag}：{value} 不是日期（YYYY-MM-DD）", [(flag, "YYYY-MM-DD")]) from exc


def _fields(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    return {name: getattr(args, name) for name in names if getattr(args, name, None) not in (None, "", [])}


def _show(args: argparse.Namespace, value: Any, text: Any) -> int:
    _json(value) if args.json else text(value)
    return 0


def _person_add(reg: Any, args: argparse.Namespace) -> int:
    data = _fields(args, "name", "gender", "birth_year", "phone", "address", "community", "tags", "notes")
    given_on = _date(args.consent_date, "--consent-date")
    given_by = "guardian" if args.guardian else "self"
    consents = [{"purpose": p, "given_on": given_on, "given_by": given_by} for p in args.consent]
    request = reg.Registration.model_validate(
        {
            "data": data,
            "project": args.project,
            "consents": consents,
            "merge_into": args.merge_into,
            "not_duplicate": args.not_duplicate,
        }
    )
    return _show(args, reg.register_person(request, args.by, system_clock()), views.print_registered)


def _person(reg: Any, args: argparse.Namespace) -> int:
    command, now = args.person_command, system_clock()
    if command == "add":
        return _person_add(reg, args)
    if command == "find":
        found = reg.find_people(args.by, args.name, args.phone, args.birth_year, args.project, args.tag)
        return _show(args, found, views.print_people)
    if command == "show":
        return _show(args, reg.show_person(args.id, args.by, now), views.print_person)
    if command == "merge":
        return _show(args, reg.merge_people(args.keep, args.other, args.by, now), views.print_merged)
    if command == "consent":
        consent = reg.ConsentGiven(
            purpose=args.purpose, given_on=_date(args.date, "--date"), given_by="guardian" if args.guardian else "self"
        )
        print(f"已记录同意 #{reg.record_consent(args.id, consent, args.by, now)}（{args.purpose}）")
        return 0
    if command == "withdraw":
        ids = reg.withdraw_consent(args.id, args.purpose, _date(args.date, "--date"), args.by, now)
        print(f"已记录撤回同意：{'、'.join(f'#{i}' for i in ids)}（{args.purpose}）；此后不再按该用途使用其信息")
        return 0
    if command == "join":
        joined = reg.join_project(args.id, args.project, args.by, now)
        print(f"服务对象 #{args.id} {'已加入' if joined else '早已在'}项目 {args.project}")
        return 0
    if command == "export":
        out = writable_file(args.out)
        data = reg.export_person(args.id, args.by, now)
        write_file(out, json.dumps(data, ensure_ascii=False, indent=1))
        chain = "完整" if data["chain_intact"] else "有问题"
        print(f"已导出服务对象 #{data['id']} 的全部个人信息：{out}（事件链{chain}）")
        return 0
    return _show(args, reg.forget_person(args.id, args.by, now), views.print_forgotten)


def _org(reg: Any, args: argparse.Namespace) -> int:
    command, now = args.org_command, system_clock()
    if command == "add":
        data = _fields(args, "name", "kind", "community", "contact_name", "contact_phone", "offers")
        org_id = reg.add_organisation(data, args.by, now)
        return _show(args, {"id": org_id}, lambda v: print(f"已登记社区组织或单位 #{v['id']}"))
    if command == "list":
        return _show(args, reg.list_organisations(args.kind), views.print_organisations)
    if command == "link":
        data = _fields(args, "need", "resource", "method", "expected")
        link_id = reg.link_resource(args.org, args.project, data, args.by, now)
        return _show(args, {"id": link_id}, lambda v: print(f"已记录资源链接 #{v['id']}（项目 {args.project}）"))
    if command == "result":
        reg.record_link_result(args.link, args.outcome, args.result, args.by, now)
        print(f"已记录资源链接 #{args.link} 的结果")
        return 0
    return _show(args, reg.list_links(args.project, args.org), views.print_links)


def _volunteer(reg: Any, args: argparse.Namespace) -> int:
    command, now = args.volunteer_command, system_clock()
    if command == "add":
        data = _fields(args, "name", "gender", "birth_year", "phone", "community", "registration_no", "skills")
        volunteer_id = reg.register_volunteer(
            data, _date(args.registered_on, "--registered-on"), args.by, now, args.not_duplicate
        )
        return _show(args, {"id": volunteer_id}, lambda v: print(f"已登记志愿者 #{v['id']}"))
    if command == "train":
        reg.record_training(args.id, args.course, _date(args.date, "--date"), args.hours, args.by, now)
        print(f"已记录志愿者 #{args.id} 的培训：{args.course}，{args.hours:g} 学时")
        return 0
    if command == "list":
        return _show(args, reg.list_volunteers(args.by), views.print_volunteers)
    if command == "hours":
        return _show(args, reg.volunteer_record(args.id, args.by), views.print_hours)
    out = writable_file(args.out)  # checked before the act, so no certificate is recorded without its file
    issued = reg.issue_certificate(args.id, args.by, now)
    write_file(out, issued.pop("html"))
    issued["path"] = str(out)
    return _show(args, issued, views.print_certificate)


def cmd_registry(args: argparse.Namespace) -> int:
    reg = _registry()
    command = args.registry_command
    if command == "person":
        return _person(reg, args)
    if command == "org":
        return _org(reg, args)
    if command == "volunteer":
        return _volunteer(reg, args)
    rows = reg.verify_registry()
    _show(args, rows, views.print_chains)
    broken = [r for r in rows if not r["intact"]]
    if broken:
        raise RefusedError(f"{len(broken)} 条登记记录的事件链未通过校验")
    return 0


def cmd_referral(args: argparse.Namespace) -> int:
    reg, command, now = _registry(), args.referral_command, system_clock()
    if command == "open":
        data = _fields(args, "service", "agency", "reason", "shared_info")
        data["urgency"] = "urgent" if args.urgent else "normal"
        opened = reg.open_referral(args.person, data, args.by, now, args.org, args.project)
        return _show(args, opened, views.print_referral_opened)
    if command == "update":
        next_on = _date(args.next_on, "--next") if args.next_on else None
        done = reg.update_referral(args.id, args.by, args.note, now, args.status, next_on)
        return _show(args, done, views.print_referral_updated)
    if command == "close":
        closed = reg.close_referral(args.id, args.by, args.outcome, args.note, now)
        return _show(args, closed, lambda v: print(f"转介 #{v['id']} 已结案：{v['outcome_title']}"))
    if command == "list":
        rows = reg.list_referrals(args.by, now, args.status, args.person, args.project)
        return _show(args, rows, views.print_referrals)
    return _show(args, reg.show_referral(args.id, args.by, now), views.print_referral)
