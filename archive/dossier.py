"""The readable half of a project dossier: `index.html` (one self-contained page that prints on A4)
and `tables.xlsx`. Both are drawn from `project_data`'s dict alone, so re-rendering `data.json`
gives the same page; masked values arrive masked and are shown as they are.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet.worksheet import Worksheet

from swflow.archive.dossier_surveys import survey_tables, survey_views
from swflow.archive.dossier_svg import IndicatorBars, StageSpan, indicator_svg, timeline_svg
from swflow.config.clock import local_text
from swflow.config.html import html_environment
from swflow.config.templates import APPROVER_TITLES
from swflow.domain.outbox import STATUS_WORDS
from swflow.domain.people.rules import ROLE_TITLES
from swflow.domain.projects.rules import OUTCOME_WORDS
from swflow.forms_spec import MASK
from swflow.forms_spec.spec import is_survey_form

__all__ = ["render_dossier", "write_tables_xlsx", "field_text", "local_time"]

OUTCOMES = OUTCOME_WORDS
PROJECT_STATUS = {"running": "进行中", "completed": "已结项", "terminated": "已终止"}
STAGE_STATUS = {
    "pending": "未开始",
    "open": "填写中",
    "awaiting_decision": "待审核",
    "decided": "已决定，待执行",
    "approved": "已通过",
    "rejected": "已否决",
}
MESSAGE_TEMPLATES = {
    "stage_opened": "阶段开放通知",
    "approval_requested": "待审核提醒",
    "deadline_digest": "期限提醒汇总",
    "project_completed": "项目结项通知",
}
MESSAGE_STATUS = STATUS_WORDS
SUBMISSION_COLUMNS = ["提交编号", "轮次", "活动", "提交人", "提交时间"]


def _at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def local_time(value: str | None) -> str:
    """An archived ISO time as read in Shanghai, to the minute."""
    return local_text(value, empty="—")


def _person(person_id: str | None, names: dict[str, str]) -> str:
    if not person_id:
        return "—"
    return f"{names[person_id]}（{person_id}）" if person_id in names else person_id


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def field_text(spec: dict[str, Any], value: Any, names: dict[str, str]) -> str:
    """One value as a reader sees it: choice labels, 是/否, names, an attachment's path and short hash."""
    kind, choices = spec["type"], spec.get("choices") or {}
    if value is None:
        return ""
    if isinstance(value, str) and (value == MASK or kind == "table"):
        return value
    if kind == "boolean":
        return "是" if value else "否"
    if kind == "choice":
        return str(choices.get(value, value))
    if kind == "multichoice":
        return "、".join(str(choices.get(v, v)) for v in value)
    if kind == "person":
        return _person(value, names)
    if kind == "attachment":
        return f"{value['path']}（sha256 {value['sha256'][:12]}…）"
    if kind == "scale":
        return f"{value} / {_number(spec.get('max') or 5)}"
    if isinstance(value, float):
        return _number(value)
    return str(value)


def _table(spec: dict[str, Any], rows: list[Any], names: dict[str, str]) -> dict[str, Any]:
    columns = spec["columns"]
    return {
        "columns": [c["label"] for c in columns],
        "rows": [[field_text(c, row.get(c["name"]), names) for c in columns] for row in rows],
    }


def _fields(form: dict[str, Any], data: dict[str, Any], names: dict[str, str]) -> list[dict[str, Any]]:
    """The answered fields in the form's order; fields not asked (show_if) or left empty are left out."""
    out = []
    for spec in form["fields"]:
        if spec["name"] not in data:
            continue
        value = data[spec["name"]]
        view: dict[str, Any] = {"label": spec["label"], "masked": value == MASK, "table": None}
        if spec["type"] == "table" and isinstance(value, list):
            view["table"] = _table(spec, value, names)
        else:
            view["text"] = field_text(spec, value, names)
        out.append(view)
    return out


def _submission(
    sub: dict[str, Any], item: dict[str, Any] | None, forms: dict[str, Any], names: dict[str, str]
) -> dict[str, Any]:
    form, activity = forms[sub["form_id"]], (item or {}).get("activity") or ""
    return {
        "id": sub["id"],
        "title": ((item or {}).get("title") or form["title"]) if activity else form["title"],
        "form_id": sub["form_id"],
        "version": sub["form_version"],
        "activity": activity,
        "by": _person(sub["submitted_by"], names),
        "at": local_time(sub["submitted_at"]),
        "fields": _fields(form, sub["data"], names),
    }


def _submission_groups(data: dict[str, Any], names: dict[str, str]) -> list[dict[str, Any]]:
    """Submissions by stage (in the template's order), then by round."""
    items = {w["id"]: w for w in data["work_items"]}
    forms = data["project"]["forms_snapshot"]
    grouped: dict[tuple[int | None, int], list[dict[str, Any]]] = defaultdict(list)
    for sub in sorted(data["submissions"], key=lambda s: s["id"]):
        if is_survey_form(sub["form_id"]):  # a survey's responses: its own section and sheet
            continue
        item = items.get(sub["work_item_id"])
        grouped[(item["stage_id"] if item else None, sub["round"])].append(_submission(sub, item, forms, names))
    titles: dict[int | None, str] = {s["id"]: s["title"] for s in data["stages"]}
    order = {s["id"]: s["seq"] for s in data["stages"]}
    keys = sorted(grouped, key=lambda k: (order.get(k[0], 10**6) if k[0] is not None else 10**6, k[1]))
    return [
        {"stage": titles.get(stage_id, "（未归入阶段）"), "round": rnd, "submissions": grouped[(stage_id, rnd)]}
        for stage_id, rnd in keys
    ]


def _step_label(data: dict[str, Any], stage_key: str, step: int) -> str:
    stages = {s["key"]: s for s in data["project"]["template_snapshot"]["stages"]}
    steps = stages.get(stage_key, {}).get("gate", {}).get("steps", [])
    who = APPROVER_TITLES.get(steps[step - 1], steps[step - 1]) if 0 < step <= len(steps) else ""
    return f"第 {step}/{len(steps)} 步（{who}）" if who else f"第 {step} 步"


def _decisions(data: dict[str, Any], names: dict[str, str]) -> list[dict[str, Any]]:
    stages = {s["id"]: s for s in data["stages"]}
    forms = data["project"]["forms_snapshot"]
    return [
        {
            "stage": stages[d["stage_id"]]["title"] if d["stage_id"] in stages else str(d["stage_id"]),
            "round": d["round"],
            "step": _step_label(data, stages.get(d["stage_id"], {}).get("key", ""), d["step"]),
            "outcome": OUTCOMES.get(d["outcome"], d["outcome"]),
            "outcome_key": d["outcome"],
            "by": _person(d["decided_by"], names),
            "at": local_time(d["decided_at"]),
            "comment": d["comment"],
            "redo": "、".join(forms.get(f, {}).get("title", f) for f in d["redo_forms"] or []),
        }
        for d in sorted(data["decisions"], key=lambda d: d["id"])
    ]


def _as_of(data: dict[str, Any]) -> datetime:
    """The moment the data describes: `exported_at` if given, else its last event."""
    moments = [data.get("exported_at")] + [e["at"] for e in data["events"]] + [data["project"]["created_at"]]
    return max(m for m in (_at(v) for v in moments) if m is not None)


def _timeline(data: dict[str, Any]) -> Any:
    decided: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for d in data["decisions"]:
        decided[d["stage_id"]].append((datetime.fromisoformat(d["decided_at"]), d["outcome"]))
    spans = [
        StageSpan(s["title"], opened, _at(s["due_at"]), _at(s["closed_at"]), s["round"], tuple(decided[s["id"]]))
        for s in sorted(data["stages"], key=lambda s: s["seq"])
        if (opened := _at(s["opened_at"])) is not None
    ]
    return timeline_svg(spans, _as_of(data))


def _indicators(data: dict[str, Any]) -> Any:
    return indicator_svg(
        [
            IndicatorBars(
                i["indicator"], i.get("unit") or "", i["baseline"], i["target"], i["post"], i.get("direction"), i["met"]
            )
            for i in data["indicators"]
        ]
    )


def _team(data: dict[str, Any], names: dict[str, str]) -> list[dict[str, str]]:
    order = ["manager", "supervisor", "worker", "director"]
    members = sorted(
        data["members"], key=lambda m: (order.index(m["role"]) if m["role"] in order else 9, m["position"])
    )
    roles: dict[str, list[str]] = defaultdict(list)
    for m in members:
        roles[m["role"]].append(_person(m["person_id"], names))
    return [{"role": ROLE_TITLES.get(role, role), "people": "、".join(people)} for role, people in roles.items()]


def _sensitivity(data: dict[str, Any], names: dict[str, str]) -> str:
    viewer = data.get("viewer")
    if not data["masked"]:
        return f"敏感字段完整显示：查看人 {_person(viewer, names)} 是本项目团队成员或机构负责人。请妥善保管本档案。"
    if viewer is None:
        return "敏感字段已隐去：导出时未指定查看人（--as）。"
    return f"敏感字段已隐去：查看人 {_person(viewer, names)} 不是本项目团队成员或机构负责人。"


def _context(data: dict[str, Any]) -> dict[str, Any]:
    names = {p["id"]: p["name"] for p in data["people"]}
    project = data["project"]
    return {
        "p": project,
        "template_title": project["template_snapshot"].get("title", project["template_id"]),
        "status": PROJECT_STATUS.get(project["status"], project["status"]),
        "created": local_time(project["created_at"]),
        "closed": local_time(project["closed_at"]),
        "as_of": local_time(_as_of(data).isoformat()),
        "team": _team(data, names),
        "sensitivity": _sensitivity(data, names),
        "masked": data["masked"],
        "events": data["events"],
        "head": data["head"],
        "checkpoint": data.get("checkpoint"),
        "signed_by": (data.get("signature") or {}).get("key_id"),
        "stages": [
            {
                **s,
                "status_text": STAGE_STATUS.get(s["status"], s["status"]),
                **{k: local_time(s[k]) for k in ("opened_at", "due_at", "closed_at")},
            }
            for s in sorted(data["stages"], key=lambda s: s["seq"])
        ],
        "timeline_svg": _timeline(data),
        "groups": _submission_groups(data, names),
        "decisions": _decisions(data, names),
        "indicators": data["indicators"],
        "indicator_svg": _indicators(data),
        "scorecard": data["scorecard"],
        "surveys": survey_views(data),
        "messages": [
            {
                "at": local_time(m["created_at"]),
                "to": _person(m["recipient_id"], names),
                "template": MESSAGE_TEMPLATES.get(m["template"], m["template"]),
                "status": MESSAGE_STATUS.get(m["status"], m["status"]),
                "attempts": m["attempts"],
                "urgent": m["urgent"],
            }
            for m in sorted(data["outbox"], key=lambda m: m["id"])
        ],
        "number": _number,
        "local_time": local_time,
    }


def render_dossier(data: dict[str, Any]) -> str:
    """The dossier's `index.html`: zh-CN, self-contained, no script."""
    return html_environment("swflow.archive").get_template("dossier.html.j2").render(**_context(data))


def _sheet_title(wanted: str, used: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique regardless of case."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in wanted).strip("'") or "表"
    title, n = clean[:31], 1
    while title.lower() in used:
        n += 1
        title = f"{clean[: 31 - len(str(n)) - 1]}~{n}"
    used.add(title.lower())
    return title


def _cell(spec: dict[str, Any], value: Any, names: dict[str, str]) -> Any:
    if spec["type"] in ("integer", "number", "scale") and isinstance(value, int | float):
        return value
    return ILLEGAL_CHARACTERS_RE.sub("", field_text(spec, value, names)) or None


def _append(sheet: Worksheet, values: list[Any]) -> None:
    """A row of values; text that starts with '=' stays text, never a formula."""
    sheet.append(values)
    row = sheet._current_row  # openpyxl's own counter: `max_row` would scan the sheet each time
    for column, value in enumerate(values, start=1):
        if isinstance(value, str) and value.startswith("="):
            sheet.cell(row=row, column=column).data_type = "s"


def _form_sheets(book: Workbook, form: dict[str, Any], subs: list[dict[str, Any]], ctx: dict[str, Any]) -> None:
    names, items, used = ctx["names"], ctx["items"], ctx["used"]
    flat = [f for f in form["fields"] if f["type"] != "table"]
    sheet = book.create_sheet(_sheet_title(form["title"], used))
    _append(sheet, SUBMISSION_COLUMNS + [f["label"] for f in flat])
    for sub in subs:
        activity = items.get(sub["work_item_id"], {}).get("activity") or None
        meta = [sub["id"], sub["round"], activity, _person(sub["submitted_by"], names), local_time(sub["submitted_at"])]
        _append(sheet, meta + [_cell(f, sub["data"].get(f["name"]), names) for f in flat])
    for table in (f for f in form["fields"] if f["type"] == "table"):
        rows_sheet = book.create_sheet(_sheet_title(f"{form['title']}·{table['label']}", used))
        _append(rows_sheet, ["提交编号"] + [c["label"] for c in table["columns"]])
        for sub in subs:
            value = sub["data"].get(table["name"])
            if isinstance(value, list):
                for row in value:
                    _append(rows_sheet, [sub["id"]] + [_cell(c, row.get(c["name"]), names) for c in table["columns"]])
            elif value is not None:
                _append(rows_sheet, [sub["id"], _cell(table, value, names)])


def write_tables_xlsx(data: dict[str, Any], path: Path) -> None:
    """One sheet per submitted form (a row per submission), one per table field (a row per table row)
    and one per survey (a row per respondent: its form's fields, as masked as the submissions are)."""
    book = Workbook()
    book.remove(book.active)
    by_form: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for sub in sorted(data["submissions"], key=lambda s: s["id"]):
        if not is_survey_form(sub["form_id"]):  # a survey's responses: its own sheet below
            by_form[sub["form_id"]].append(sub)
    names, used = {p["id"]: p["name"] for p in data["people"]}, set[str]()
    ctx = {"names": names, "items": {w["id"]: w for w in data["work_items"]}, "used": used}
    for form_id, subs in by_form.items():
        _form_sheets(book, data["project"]["forms_snapshot"][form_id], subs, ctx)
    for title, fields, responses in survey_tables(data):  # a row per respondent, after the forms' own sheets
        sheet = book.create_sheet(_sheet_title(title, used))
        _append(sheet, [f["label"] for f in fields])
        for sub in responses:
            _append(sheet, [_cell(f, sub["data"].get(f["name"]), names) for f in fields])
    if not book.sheetnames:
        book.create_sheet("无提交").append(["本项目还没有表单提交"])
    book.save(path)
