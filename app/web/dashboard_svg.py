"""Inline SVG charts of the agency's dashboard (机构看板): horizontal bars of counts (running projects by stage,
by service area; escalations by what was escalated), and stacked bars (overdue work items and gates per
community). Pure functions of plain values, drawn as the dossier's charts are (`archive.dossier_svg`: its
text, bar and legend helpers, its classes): every text is escaped, a label too long for its column is
shortened with its whole text kept in the row's tooltip, and each chart's accessible name says its
figures in words. The result is Markup, so the (autoescaping) template inserts it as is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from swflow.archive.dossier_svg import _legend, _rect, _text

__all__ = ["Part", "Row", "bars_svg", "stacked_svg", "fit"]

WIDTH = 400  # narrower than the dossier's 760: one chart is a phone's width, two sit side by side on a desktop
LABEL = 186  # the labels' column: 5.6 参与社区戒毒社区康复 fits; labels end at its right edge, next to their bar
ROW = 30
BAR = 16
VALUE_ROOM = 40  # right of the longest bar: its figure
FONT = 14  # px of a label (.bar-label): about 11 px on a 390 px phone


@dataclass(frozen=True)
class Part:
    """One kind of a stacked bar: its class (colour) and what it counts, as the legend says it."""

    cls: str
    title: str


@dataclass(frozen=True)
class Row:
    label: str
    values: tuple[int, ...]  # one per part, in the parts' order


def _width(text: str, font: float) -> float:
    """About how wide `text` is drawn: a Chinese character is one em, a Latin letter or digit about 0.6."""
    return sum(font if ord(ch) > 0x2E7F else font * 0.6 for ch in text)


def fit(text: str, room: float, font: float = FONT) -> str:
    """`text`, or as much of it as fits in `room` px followed by an ellipsis."""
    if _width(text, font) <= room:
        return text
    while text and _width(text + "…", font) > room:
        text = text[:-1]
    return text + "…"


def _svg(height: float, body: list[str], label: str) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" width="100%" '
        f'role="img" aria-label="{escape(label)}">'
    )
    return Markup(head + "".join(body) + "</svg>")


def _words(row: Row, parts: Sequence[Part], unit: str) -> str:
    if len(parts) == 1:
        return f"{row.label} {row.values[0]} {unit}"
    return f"{row.label}：" + "，".join(f"{p.title} {v} {unit}" for p, v in zip(parts, row.values, strict=True))


def stacked_svg(rows: Sequence[Row], parts: Sequence[Part], label: str, unit: str) -> Markup:
    """One horizontal bar per row, its parts stacked left to right on one scale (the largest total fills
    the width), the total written after it; a legend under the bars when there is more than one part."""
    if not rows:
        return Markup("")
    top = max([sum(r.values) for r in rows] + [1])
    room = WIDTH - LABEL - VALUE_ROOM
    body: list[str] = []
    for index, row in enumerate(rows):
        y, total = 4 + ROW * index, sum(row.values)
        tip = _words(row, parts, unit)
        body.append(f"<g><title>{escape(tip)}</title>")
        body.append(_text(LABEL - 8, y + BAR - 1, fit(row.label, LABEL - 12), "bar-label", "end"))
        x = float(LABEL)
        for part, value in zip(parts, row.values, strict=True):
            if value > 0:
                length = room * value / top
                body.append(_rect(x, y + 2, length, BAR, part.cls, f"{row.label}：{part.title} {value} {unit}"))
                x += length
        body.append(_text(x + 6, y + BAR - 1, str(total), "value" if total else "row-note"))
        body.append("</g>")
    height = 8 + ROW * len(rows)
    if len(parts) > 1:
        body += _legend(height, [(p.cls, p.title) for p in parts])
        height += 22
    words = "；".join(_words(r, parts, unit) for r in rows)
    return _svg(height, body, f"{label}：{words}")


def bars_svg(rows: Sequence[tuple[str, int]], label: str, unit: str, cls: str = "bar") -> Markup:
    """Plain horizontal bars: (label, count) rows on one scale, each count written after its bar."""
    return stacked_svg([Row(name, (count,)) for name, count in rows], [Part(cls, label)], label, unit)
