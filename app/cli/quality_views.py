"""The quality report at a terminal (the same dict is `--json`, and HTML via swflow.domain.quality)."""

from __future__ import annotations

from typing import Any

from swflow.config.clock import local_text

__all__ = ["print_quality_report"]


def _supervision(s: dict[str, Any]) -> None:
    print(f"督导覆盖（§7.3）：{s['covered']}/{s['required']} 人按时；本期督导 {s['sessions_in_period']} 次")
    for r in s["overdue"]:
        print(f"  逾期 {r['days_overdue']:>3} 天  {r['name']}（{r['person']}）上次 {r['last_held_on'] or '从未'}")


def _incidents(i: dict[str, Any], review: dict[str, Any]) -> None:
    counts = "，".join(f"{b['title']} {b['count']}" for b in i["by_severity"])
    print(f"风险事件（§7.4）：共 {i['total']} 起（{counts}），未结束 {i['open']}")
    due = local_text(review["due_at"], day=True, empty="未安排")
    print(f"  风险管理制度检讨：下次应在 {due}{'（已逾期）' if review['overdue'] else ''}")


def _complaints(c: dict[str, Any], actions: dict[str, Any]) -> None:
    print(
        f"投诉（§7.5）：共 {c['total']} 宗；"
        f"时限 {c['ack_limit_days']} 个工作日确认受理、{c['answer_limit_days']} 个工作日答复"
    )
    print(
        f"  确认受理：按时 {c['acknowledged_on_time']}，逾期 {c['acknowledged_late']}，逾期未确认 {c['ack_overdue']}"
        f"；答复：按时 {c['answered_on_time']}，逾期 {c['answered_late']}，逾期未答复 {c['answer_overdue']}"
    )
    for r in c["rows"]:
        ack = r["ack_working_days"] if r["ack_working_days"] is not None else "-"
        answer = r["answer_working_days"] if r["answer_working_days"] is not None else "-"
        ack_late, answer_late = ("（逾期）" if r[k] else "" for k in ("ack_late", "answer_late"))
        print(
            f"  #{r['id']:<4} {r['channel']:<6} {r['project'] or r['service']:<12}"
            f" 确认 {ack} 天{ack_late}  答复 {answer} 天{answer_late}  {r['status']}"
        )
    print(f"  行动：未完成 {actions['open']}（逾期 {actions['overdue']}），已完成 {actions['done']}")


def _staffing(staffing: dict[str, Any]) -> None:
    print("人员配备（§8.1）：")
    for r in staffing["communities"]:
        kind = "城市" if r["kind"] == "urban" else "农村"
        flag = f"  ⚠ {r['flag']}" if r["flag"] else ""
        print(f"  {r['community']:<10} {kind}  社工 {len(r['workers'])}，具备资质 {len(r['qualified'])}{flag}")
    for cert in staffing["certificates"]:
        state = "已过期" if cert["expired"] else "即将到期"
        print(f"  证书{state}：{cert['name']}（{cert['person']}）{cert['level']}，有效期至 {cert['valid_until']}")


def print_quality_report(report: dict[str, Any]) -> None:
    """Any part of the report that is present, in the order of the standard."""
    if "period" in report:
        period = report["period"]
        print(f"服务质量报告：{period['from'] or '全部记录'} 至 {period['to']}")
    if "supervision" in report:
        _supervision(report["supervision"])
    if "incidents" in report:
        _incidents(report["incidents"], report["risk_review"])
    if "complaints" in report:
        _complaints(report["complaints"], report["actions"])
    if "projects_at_risk" in report:
        print(f"有风险的项目：{len(report['projects_at_risk'])} 个")
        for p in report["projects_at_risk"]:
            print(f"  {p['project']} {p['name']}：{'；'.join(p['reasons'])}")
    _staffing(report["staffing"])
