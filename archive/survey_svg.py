"""Inline SVG charts of the dossier's surveys: the share of respondents in each band of a score, the
baseline and the post wave side by side (a survey without a pair: its own wave alone).

Pure functions of plain values, drawn as `dossier_svg` draws (its width, label column, classes and
helpers): every text is escaped; the result is Markup so the (autoescaping) template inserts it as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from markupsafe import Markup

from swflow.archive.dossier_svg import LABEL, WIDTH, _legend, _rect, _svg, _text

__all__ = ["WaveShares", "BandChart", "band_svg"]

BAR, STEP = 13, 18  # a bar's height, a wave's row
TICKS = (0, 25, 50, 75, 100)


@dataclass(frozen=True)
class WaveShares:
    """One wave of a score: how many were scored, and per band how many and their share (%)."""

    wave: str  # its words: 基线（前测）, 后测, 需求调查
    survey: str  # the survey's title
    cls: str  # bar-baseline | bar-post
    n: int
    counts: Mapping[str, int]
    shares: Mapping[str, float]  # empty: nobody scored yet


@dataclass(frozen=True)
class BandChart:
    title: str  # the score's title
    bands: tuple[str, ...]  # the instrument's order, highest first
    waves: tuple[WaveShares, ...]


def _percent(value: float) -> str:
    return f"{value:g}%"


def _band_block(chart: BandChart, band: str, y: float) -> list[str]:
    out = [_text(8, y + 14, band, "row-title")]
    width = WIDTH - LABEL - 110
    for index, wave in enumerate(chart.waves):
        row_y = y + 22 + STEP * index
        out.append(_text(LABEL - 10, row_y + 11, wave.wave, "bar-label", "end"))
        if not wave.shares:
            out.append(_text(LABEL, row_y + 11, "尚无回答", "row-note"))
            continue
        share, count = wave.shares.get(band, 0.0), wave.counts.get(band, 0)
        length = width * share / 100
        tip = f"{wave.survey}：{band} {count} 人，占 {_percent(share)}（n = {wave.n}）"
        out.append(_rect(LABEL, row_y, length, BAR, wave.cls, tip))
        out.append(_text(LABEL + max(length, 1.5) + 6, row_y + 11, f"{_percent(share)}（{count} 人）", "value"))
    return out


def _grid(top: float, bottom: float) -> list[str]:
    width = WIDTH - LABEL - 110
    out = []
    for tick in TICKS:
        x = LABEL + width * tick / 100
        out.append(f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" class="grid"/>')
        out.append(_text(x, bottom + 14, f"{tick}%", "tick", "middle"))
    return out


def band_svg(chart: BandChart) -> Markup:
    """Grouped horizontal bars: per band one bar per wave, all on one scale (0–100 % of those scored)."""
    if not chart.bands or not chart.waves or not any(w.shares for w in chart.waves):
        return Markup("")
    block = 22 + STEP * len(chart.waves) + 10
    top, bottom = 4.0, 6 + block * len(chart.bands)
    body = _grid(top, bottom)
    for index, band in enumerate(chart.bands):
        body += _band_block(chart, band, 6 + block * index)
    legend_y = bottom + 26
    body += _legend(legend_y, [(w.cls, f"{w.wave}（n = {w.n}）") for w in chart.waves])
    waves = "与".join(f"{w.survey}（{w.wave}）" for w in chart.waves)
    return _svg(legend_y + 22, body, f"{chart.title}各分档人数比例：{waves}")
