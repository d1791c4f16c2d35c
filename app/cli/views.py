"""Plain-text views for people at a terminal (the JSON views are the archive's read models)."""

from __future__ import annotations

from typing import Any

from swflow.config.clock import local_text
from swflow.domain.people.rules import ROLE_TITLES
from swflow.domain.projects.rules import OUTCOME_WORDS

__all__ = ["print_project", "print_projects", "print_inbox"]

STATUS = {
    "pending": "未开始",
    "open": "填写中",
    "awaiting_decision": "待审核",
    "decided": "已决定，流程接续中",
    "approved": "已通过",
    "rejected": "已否决",
    "running": "进行中",
    "completed": "已结项",
    "terminated": "已终止",
    "submitted": "已提交",
}


# a run state worth a line of its own: the project is not simply waiting at a gate or working
RUN_NOTES = {
    "Waiting": "流程：等待创建流程运行（编排服务暂不可用；`swflow serve` 运行时自动创建）",
    "Recovering": "流程：中断后正在按档案接续（新的流程运行已创建，马上继续）",
}


def _t(value: str | None) -> str:
    return local_text(value, empty="")


def print_project(status: dict[str, Any]) -> None:
    print(
        f"{status['id']}  {status['name']}（{status['community']}）  {STATUS.get(status['status'], status['status'])}"
    )
    team = "，".join(f"{ROLE_TITLES.get(m['role'], m['role'])} {m['person']}" for m in status["team"])
    print(f"模板 {status['template']['id']} v{status['template']['version']}  团队 {team}")
    if status["status"] == "running" and (note := RUN_NOTES.get(status.get("run_state") or "")):
        print(note)
    for stage in status["stages"]:
        waiting = f"  等待：{'、'.join(stage['waiting_on'])}" if stage["waiting_on"] else ""
        print(
            f"  [{STATUS.get(stage['status'], stage['status'])}] {stage['title']}（{stage['key']}）"
            f" 第 {stage['round']} 轮  期限 {_t(stage['due_at']) or '-'}{waiting}"
        )
        for d in stage["decisions"]:
            outcome = OUTCOME_WORDS.get(d["outcome"], d["outcome"])
            print(f"      决定 #{d['id']} 第 {d['round']} 轮 {outcome}（{d['by']}） {d['comment']}")
    m = status["messages"]
    print(f"通知：已发送 {m['sent']}，待发送 {m['pending']}，失败 {m['failed']}；事件 {status['events']} 条")


def print_projects(rows: list[dict[str, Any]]) -> None:
    if not rows:
        print("还没有项目。用 `swflow launch` 启动一个。")
    for r in rows:
        title = r.get("current_stage_title") or r["current_stage"]
        stage = f"{title}（{STATUS.get(r['stage_status'] or '', '')}）" if r["current_stage"] else "-"
        print(f"{r['id']:<10} {STATUS.get(r['status'], r['status']):<4} {r['template']:<16} {stage:<20} {r['name']}")


def print_inbox(box: dict[str, Any]) -> None:
    print(f"{box['name']}（{box['person']}）的待办")
    if not box["tasks"] and not box["decisions"]:
        print("  没有待办事项")
    for t in box["tasks"]:
        what = (
            f"{t['form']}（{t['title']}，活动 {t['activity']}）"
            if t.get("activity")
            else f"{t['form']}（{t['form_title']}）"
        )
        print(f"  填写 {t['project']} {what}，{t['stage_title']} 第 {t['round']} 轮，期限 {_t(t['due_at'])}")
        if t.get("returned"):
            r = t["returned"]
            print(f"      退回意见（{r['by']}，{_t(r['at'])}）：{r['comment'] or '（无）'}")
    for d in box["decisions"]:
        print(f"  审核 {d['project']} {d['stage']}（{d['stage_title']}）第 {d['round']} 轮")
