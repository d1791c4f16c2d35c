"""How the registry commands print for people (the `--json` shapes are the acts' own dicts)."""

from __future__ import annotations

from typing import Any

from swflow.config.clock import local_text

__all__ = [
    "print_registered",
    "print_people",
    "print_person",
    "print_merged",
    "print_forgotten",
    "print_organisations",
    "print_links",
    "print_volunteers",
    "print_hours",
    "print_certificate",
    "print_referral_opened",
    "print_referral_updated",
    "print_referrals",
    "print_referral",
    "print_chains",
]


def _t(value: str | None) -> str:
    """An ISO time from the archive (UTC) as Beijing time, to the minute."""
    return local_text(value)


def _status(code: str) -> str:
    from swflow.domain.registry.rules import ReferralStatus

    return ReferralStatus.TITLES.get(code, code)


def _labelled(kind: str, data: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) in the spec's order, choices shown by their Chinese titles."""
    from swflow.domain.registry.specs import record_spec

    rows = []
    for field in record_spec(kind).fields:
        if field.name not in data:
            continue
        value = data[field.name]
        choices = field.choices or {}
        if isinstance(value, list):
            value = "、".join(choices.get(v, str(v)) for v in value)
        elif isinstance(value, str) and value in choices:
            value = choices[value]
        rows.append((field.label, str(value)))
    return rows


def print_registered(result: dict[str, Any]) -> None:
    if result["merged"]:
        added = "、".join(result["fields_added"]) or "无"
        print(f"已补充进服务对象 #{result['id']}：新增 {added}")
        if result["fields_differing"]:
            print(f"  与已有记录不同、未覆盖：{'、'.join(result['fields_differing'])}")
    else:
        print(f"已登记服务对象 #{result['id']}")
        if result["distinct_from"]:
            print(f"  已确认不是 {'、'.join(f'#{i}' for i in result['distinct_from'])}")
    if result["joined"]:
        print("  已加入项目")


def print_people(rows: list[dict[str, Any]]) -> None:
    if not rows:
        print("没有找到（只在您可见的服务对象中查找）")
    for r in rows:
        shown = dict(_labelled("person", {k: v for k, v in r.items() if v is not None}))
        cells = [shown.get(label, "-") for label in ("姓名", "性别", "出生年份", "所在社区")]
        print(f"#{r['id']:<5} {cells[0]:<8} {cells[1]:<4} {cells[2]:<6} {cells[3]}")


def print_person(card: dict[str, Any]) -> None:
    status = {"active": "", "merged": "（已合并）", "forgotten": "（已匿名化）"}[card["status"]]
    print(f"服务对象 #{card['id']}{status}  登记：{card['registered_by']} {_t(card['registered_at'])}")
    if card.get("asked_for"):
        print(f"  #{card['asked_for']} 已合并进本记录")
    if card["masked"]:
        print("  （您不在其知悉范围内：敏感信息已遮盖）")
    for label, value in _labelled("person", card["data"]):
        print(f"  {label}：{value}")
    print("  同意：" + ("无" if not card["consents"] else ""))
    for c in card["consents"]:
        withdrawn = f"，{c['withdrawn_on']} 撤回" if c["withdrawn_on"] else ""
        print(f"    #{c['id']} {c['purpose_title']}（{c['given_on']}，{c['recorded_by']} 记录{withdrawn}）")
    if isinstance(card["projects"], str):
        print(f"  参与项目、活动与转介：{card['projects']}")
        return
    projects = [
        f"{p['id']}「{p['name']}」{'' if p['enrolled'] else '（仅见于活动记录，未加入）'}" for p in card["projects"]
    ]
    print("  参与项目：" + ("、".join(projects) or "无"))
    for a in card["activities"]:
        print(f"    活动 {a['date']} {a['project']}/{a['activity']} {a['title']}")
    for r in card["referrals"]:
        print(f"  转介 #{r['id']} {r['service']}：{r['status_title']}")


def print_merged(result: dict[str, Any]) -> None:
    moved = result["moved"]
    print(
        f"已把 #{result['absorbed']} 合并进 #{result['id']}：同意 {moved['consents']} 条、项目 {moved['projects']} 个、"
        f"转介 {moved['referrals']} 条；活动记录中的 #{result['absorbed']} 今后计入 #{result['id']}"
    )
    if result["fields_differing"]:
        print(f"  两条记录不同、保留 #{result['id']} 的：{'、'.join(result['fields_differing'])}")


def print_forgotten(result: dict[str, Any]) -> None:
    kept = result["kept"]
    if result["mode"] == "erased":
        print(f"已删除服务对象 #{result['id']} 的全部个人信息（没有须按期保管的服务档案）")
        return
    print(
        f"服务对象 #{result['id']} 的服务档案须按保管期限保存（活动记录 {kept['activities']} 条、"
        f"转介 {kept['referrals']} 条、"
        f"跟进记录 {kept['follow_ups']} 条），因此已做假名化处理：删除姓名、电话、住址、标签与备注，"
        f"保留编号及{'、'.join(result['fields_kept']) or '（无）'}用于统计。"
    )
    print("  转介原因与跟进记录作为服务档案保留（敏感，仅知悉范围内可见）；事件日志未改动，哈希链保持完整。")


def print_organisations(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        contact = " ".join(x for x in (r.get("contact_name"), r.get("contact_phone")) if x)
        print(f"#{r['id']:<4} {r['name']:<20} {r['kind_title']:<8} {contact:<20} 资源链接 {r['links']}")
        if r.get("offers"):
            print(f"      可提供：{r['offers']}")


def print_links(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        result = f"{r['outcome']}：{r['result']}" if r["status"] == "done" else "待记录结果"
        org = f"组织 #{r['organisation']}" if r["organisation"] else "-"
        print(f"#{r['id']:<4} {r['project']:<10} {org:<8} {r['need']} ← {r['resource']}（{r['method']}）  {result}")


def print_volunteers(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        print(f"#{r['id']:<4} {r['name']:<8} {r.get('phone', '-'):<16} 累计 {r['total_hours']:g} 小时")


def print_hours(summary: dict[str, Any]) -> None:
    print(f"志愿者 #{summary['id']} {summary['data']['name']}：累计服务 {summary['total_hours']:g} 小时")
    for a in summary["activities"]:
        where = f"{a['project']}「{a['project_name']}」{a['activity']}"
        print(f"  {a['activity_date']} {where} {a['title']}：{a['hours']:g} 小时")
    for t in summary["trainings"]:
        print(f"  培训 {t['held_on']} {t['course']}：{t['hours_text']} 学时")


def print_certificate(issued: dict[str, Any]) -> None:
    print(f"已出具志愿服务证明 {issued['number']}：{issued['activities']} 次活动，累计 {issued['hours']:g} 小时")
    print(f"  {issued['path']}（SHA-256 {issued['html_sha256'][:16]}…已记入档案）")


def print_referral_opened(result: dict[str, Any]) -> None:
    print(f"已转介 #{result['id']}（服务对象 #{result['person']}，依据同意 #{result['consent']}）")
    print(f"  第一次跟进期限：{_t(result['follow_up_due_at'])}")


def print_referral_updated(result: dict[str, Any]) -> None:
    late = "（本次跟进已逾期）" if result["late"] else ""
    due = _t(result["follow_up_due_at"])
    print(f"已记录转介 #{result['id']} 的跟进{late}：{_status(result['status'])}，下次跟进期限 {due}")


def print_referrals(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        late = " 逾期" if r["late"] else ""
        print(
            f"#{r['id']:<4} 对象 #{r['person']:<4} {r['project'] or '-':<10} {r['data']['service']:<14} → "
            f"{r['agency'] or '-':<14} {r['status_title']:<4} 跟进 {_t(r['follow_up_due_at'])}{late}"
        )


def print_referral(r: dict[str, Any]) -> None:
    print(f"转介 #{r['id']}：服务对象 #{r['person']} → {r['agency'] or '-'}  {r['status_title']}  负责 {r['owner']}")
    if r["masked"]:
        print("  （您不在服务对象的知悉范围内：敏感信息已遮盖）")
    for label, value in _labelled("referral", r["data"]):
        print(f"  {label}：{value}")
    for f in r["follow_ups"]:
        late = " 逾期" if f["late"] else ""
        print(f"  跟进 第 {f['round']} 次 {_t(f['at'])} {f['by']}：{_status(f['status'])}{late} {f['note']}")
    if r["outcome"]:
        from swflow.domain.registry.rules import OUTCOMES

        print(f"  结案：{OUTCOMES.get(r['outcome'], r['outcome'])} {r['outcome_note']}")
    elif r["follow_up_due_at"]:
        print(f"  下次跟进期限：{_t(r['follow_up_due_at'])}{' （已逾期）' if r['late'] else ''}")


def print_chains(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        state = "哈希链完整" if r["intact"] else f"第 {r['seq']} 个事件有问题：{r['reason']}"
        print(f"{r['stream']:<20} {r['events']:>4} 个事件  {state}")
