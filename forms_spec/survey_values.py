"""Indicators computed from a survey's responses (issue 16, part 3): the mean of a score (with its sd
and n), the share of those scored at or above (or at most) a cut-off, the share in some bands (满意 and
非常满意), or the number of responses; and the scorecard score a value earns by the template's levels.

A value is rounded to 2 decimals, the same rounding a worker's typed value is compared at; shares are
per cent of those scored."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from swflow.forms_spec.instrument import Instrument
from swflow.forms_spec.responses import Response

__all__ = ["indicator_value", "scorecard_score", "statistic_words", "UNITS"]

UNITS = {"mean": "分", "responses": "份", "share_at_least": "%", "share_at_most": "%", "share_in_bands": "%"}


def statistic_words(indicator: Mapping[str, Any], instrument: Instrument) -> str:
    """「孤独感总分的平均分」「满意度 满意、非常满意 的比例（%）」: how the value is computed, in words."""
    score = next((s.title for s in instrument.scores if s.key == indicator.get("score")), "")
    kind = indicator["statistic"]
    if kind == "responses":
        return "回答份数"
    if kind == "mean":
        return f"{score}的平均分"
    if kind == "share_in_bands":
        return f"{score}为{'、'.join(indicator['bands'])}的比例（%）"
    sign = "≥" if kind == "share_at_least" else "≤"
    return f"{score} {sign} {indicator['cutoff']:g} 分的比例（%）"


def indicator_value(
    indicator: Mapping[str, Any], responses: Sequence[Response]
) -> tuple[float | None, int, float | None]:
    """(value, n, sd): n is the responses scored on the indicator's score (all responses for
    `responses`); value None when n is 0; sd only for a mean of two or more."""
    kind = indicator["statistic"]
    if kind == "responses":
        return float(len(responses)), len(responses), None
    key = indicator["score"]
    scored = [r.scores[key] for r in responses if r.scores[key]["value"] is not None]
    values = [float(s["value"]) for s in scored]
    if not values:
        return None, 0, None
    if kind == "mean":
        sd = round(statistics.stdev(values), 2) if len(values) > 1 else None
        return round(statistics.fmean(values), 2), len(values), sd
    if kind == "share_in_bands":
        hits = sum(1 for s in scored if s["band"] in indicator["bands"])
    elif kind == "share_at_least":
        hits = sum(1 for v in values if v >= indicator["cutoff"])
    else:
        hits = sum(1 for v in values if v <= indicator["cutoff"])
    return round(100 * hits / len(values), 2), len(values), None


def scorecard_score(indicator: Mapping[str, Any], value: float | None, lowest: int) -> int | None:
    """The score of the first level the value reaches (levels run from the highest); below all: `lowest`
    (the scorecard's minimum); None without a value."""
    if value is None or not indicator.get("levels"):
        return None
    return next((int(level["score"]) for level in indicator["levels"] if value >= level["at_least"]), lowest)
