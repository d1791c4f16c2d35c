"""Inline SVG charts of the dossier: stages planned against actual, and indicators baseline → post.

Pure functions of plain values: no archive, no clock. Every text is escaped; the result is Markup
so the (autoescaping) template inserts it as is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from markupsafe import Markup, escape

from swflow.config.clock import SHANGHAI

__all__ = ["StageSpan", "IndicatorBars", "date_ticks", "timeline_svg", "indicator_svg"]

WIDTH = 760
LABEL = 170  # the stage titles' column
ROW = 46
AXIS = 34
OUTCOME_MARKS = {
    "approve": ("mark-approve", "通过"),
    "return": ("mark-return", "退回"),
    "reject": ("mark-reject", "否决"),
}


@dataclass(frozen=True)
class StageSpan:
    """One stage row: planned = opened → due, actual = opened → closed (or the dossier's own time)."""

    title: str
    opened: datetime
    due: datetime | None
    closed: datetime | None
    rounds: int
    decisions: tuple[tuple[datetime, str], ...] = field(default=())  # (decided at, outcome)


@dataclass(frozen=True)
class IndicatorBars:
    name: str
    unit: str
    baseline: float | None
    target: float | None
    post: float | None
    direction: str | None
    met: bool | None


def _text(x: float, y: float, content: str, cls: str = "", anchor: str = "start") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" class="{cls}" text-anchor="{anchor}">{escape(content)}</text>'


def _rect(x: float, y: float, w: float, h: float, cls: str, title: str = "") -> str:
    tip = f"<title>{escape(title)}</title>" if title else ""
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 1.5):.1f}" height="{h:.1f}" class="{cls}">{tip}</rect>'


def _svg(height: float, body: list[str], label: str) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" width="100%" '
        f'role="img" aria-label="{escape(label)}">'
    )
    return Markup(head + "".join(body) + "</svg>")


def date_ticks(start: date, end: date) -> list[date]:
    """Month starts for a long span, Mondays for a few weeks, days for a short one."""
    span = (end - start).days
    if span > 75:
        first = date(start.year + start.month // 12, start.month % 12 + 1, 1) if start.day > 1 else start
        ticks = [first]
        while (last := ticks[-1]) <= end:
            ticks.append(date(last.year + last.month // 12, last.month % 12 + 1, 1))
        return ticks[:-1]
    step = 7 if span > 14 else 1
    first = start + timedelta(days=(7 - start.weekday()) % 7) if step == 7 else start
    return [first + timedelta(days=i) for i in range(0, span + 1 - (first - start).days, step)]


def _axis_start(start: datetime, end: datetime) -> datetime:
    """The axis begins on a tick: the month's first day, the week's Monday, or the day itself."""
    day, span = start.astimezone(SHANGHAI).date(), (end - start).days
    day = day.replace(day=1) if span > 75 else day - timedelta(days=day.weekday()) if span > 14 else day
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)


def _tick_label(day: date, previous: date | None, monthly: bool) -> str:
    if monthly:
        return f"{day.year}年{day.month}月" if previous is None or previous.year != day.year else f"{day.month}月"
    return f"{day.month}/{day.day}"


def _axis(start: datetime, end: datetime, x_of: _Scale, top: float, bottom: float) -> list[str]:
    first, last = start.astimezone(SHANGHAI).date(), end.astimezone(SHANGHAI).date()
    ticks = date_ticks(first, last)
    monthly = (last - first).days > 75
    out: list[str] = []
    previous: date | None = None
    for day in ticks:
        x = x_of(datetime(day.year, day.month, day.day, tzinfo=SHANGHAI))
        out.append(f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" class="grid"/>')
        out.append(_text(x, bottom + 16, _tick_label(day, previous, monthly), "tick", "middle"))
        previous = day
    return out


class _Scale:
    """Time → x between the label column and the right edge."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start, self.seconds = start, max((end - start).total_seconds(), 3600.0)

    def __call__(self, moment: datetime) -> float:
        return LABEL + (WIDTH - LABEL - 20) * (moment - self.start).total_seconds() / self.seconds


def _stage_row(span: StageSpan, y: float, x_of: _Scale, until: datetime) -> list[str]:
    out = [_text(8, y + 19, span.title, "row-title")]
    if span.rounds > 1:
        out.append(_text(8, y + 35, f"共 {span.rounds} 轮", "row-note"))
    if span.due is not None:
        planned = x_of(span.due) - x_of(span.opened)
        out.append(_rect(x_of(span.opened), y + 8, planned, 12, "planned", f"计划：至 {_day(span.due)}"))
    end = span.closed or until
    late = span.due is not None and end > span.due
    cls = "actual" + (" late" if late else "") + ("" if span.closed else " ongoing")
    out.append(_rect(x_of(span.opened), y + 23, x_of(end) - x_of(span.opened), 12, cls, f"实际：至 {_day(end)}"))
    for at, outcome in span.decisions:
        mark, word = OUTCOME_MARKS.get(outcome, ("mark-approve", outcome))
        x = x_of(at)
        out.append(f'<path d="M{x:.1f},{y + 37:.1f} l-5,8 h10 z" class="{mark}"><title>{escape(word)}</title></path>')
    return out


def _day(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d")


def _legend(y: float, items: Sequence[tuple[str, str]]) -> list[str]:
    out, x = [], 8.0
    for cls, label in items:
        out.append(_rect(x, y, 18, 10, cls))
        out.append(_text(x + 24, y + 9.5, label, "legend"))
        x += 34 + 13 * len(label)
    return out


def timeline_svg(spans: Sequence[StageSpan], until: datetime) -> Markup:
    """Gantt-like rows, one per stage; `until` ends the actual bar of a stage still open."""
    if not spans:
        return Markup("")
    moments = [s.opened for s in spans] + [s.due for s in spans if s.due] + [s.closed or until for s in spans]
    start, end = _axis_start(min(moments), max(moments)), max(moments)
    x_of = _Scale(start, end)
    bottom = 10 + ROW * len(spans)
    body = _axis(start, end, x_of, 6, bottom)
    for index, span in enumerate(spans):
        body += _stage_row(span, 10 + ROW * index, x_of, until)
    legend = [("planned", "计划（开放→期限）"), ("actual", "实际（开放→关闭）"), ("actual late", "超出期限")]
    legend += [("actual ongoing", "尚未关闭"), ("mark-approve", "审核通过"), ("mark-return", "退回修改")]
    body += _legend(bottom + AXIS, legend)
    return _svg(bottom + AXIS + 20, body, "阶段计划与实际时间")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


def _indicator_block(item: IndicatorBars, y: float) -> list[str]:
    verdict = {True: ("met", "✓ 已达成"), False: ("not-met", "✗ 未达成"), None: ("unknown", "— 无法判定")}[item.met]
    unit = f"（{item.unit}）" if item.unit else ""
    out = [_text(8, y + 14, item.name + unit, "row-title"), _text(WIDTH - 10, y + 14, verdict[1], verdict[0], "end")]
    values = [v for v in (item.baseline, item.target, item.post) if v is not None]
    top = max([abs(v) for v in values] + [1e-9])
    width = WIDTH - LABEL - 90
    bars = [
        ("基线", item.baseline, "bar-baseline"),
        ("目标", item.target, "bar-target"),
        ("后测", item.post, "bar-post"),
    ]
    for index, (label, value, cls) in enumerate(bars):
        row_y = y + 22 + 18 * index
        out.append(_text(LABEL - 10, row_y + 11, label, "bar-label", "end"))
        if value is None:
            out.append(_text(LABEL, row_y + 11, "未填写", "row-note"))
            continue
        length = width * abs(value) / top
        out.append(_rect(LABEL, row_y, length, 13, cls, f"{label} {_number(value)}{item.unit}"))
        out.append(_text(LABEL + max(length, 1.5) + 6, row_y + 11, f"{_number(value)}{item.unit}", "value"))
    return out


def indicator_svg(items: Sequence[IndicatorBars]) -> Markup:
    """Grouped bars per indicator, each group on its own scale (units differ between indicators)."""
    if not items:
        return Markup("")
    block = 22 + 18 * 3 + 16
    body: list[str] = []
    for index, item in enumerate(items):
        body += _indicator_block(item, 6 + block * index)
    legend_y = 6 + block * len(items)
    body += _legend(legend_y, [("bar-baseline", "基线"), ("bar-target", "目标"), ("bar-post", "后测")])
    return _svg(legend_y + 22, body, "指标基线、目标与后测")
