"""How a survey's answers are spread (issue 16, part 3): the distribution of each closed item's answers
(a scale, a choice, yes/no, a grid row), each banded score cross-tabulated by a respondent attribute
(性别, 年龄段, 社区), and the score summaries per group (干预组, 对照组)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from swflow.forms_spec.instrument import Instrument
from swflow.forms_spec.responses import Response, summarise

__all__ = ["crosstabs", "group_summaries", "item_distributions"]


def _labels(instrument: Instrument, key: str) -> dict[Any, str] | None:
    item, _ = instrument.answer_items[key]
    if item.kind in ("scale", "grid") and item.scale:
        return dict(instrument.scales[item.scale].points)
    if item.kind in ("choice", "multichoice"):
        return dict(item.options or {})
    if item.kind == "yes_no":
        return {True: "是", False: "否"}
    return None  # a number or a text: no categories


def item_distributions(instrument: Instrument, responses: Sequence[Response]) -> list[dict[str, Any]]:
    """Per closed item (or grid row): how many gave each answer, in the scale's or the options' order, and
    the share of those who answered (a multiple choice: of those who answered the item)."""
    found = []
    for key, (item, row) in instrument.answer_items.items():
        labels = _labels(instrument, key)
        if labels is None:
            continue
        counts: Counter[Any] = Counter()
        answered = 0
        for response in responses:
            value = response.answers.get(key)
            if value is None:
                continue
            answered += 1
            counts.update(value if isinstance(value, list) else [value])
        found.append(
            {
                "key": key,
                "text": f"{item.text} › {row.text}" if row else item.text,
                "answered": answered,
                "counts": {label: counts.get(value, 0) for value, label in labels.items()},
                "shares": {
                    label: round(100 * counts.get(value, 0) / answered, 1) if answered else None
                    for value, label in labels.items()
                },
            }
        )
    return found


def crosstabs(
    instrument: Instrument, responses: Sequence[Response], attributes: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each banded score by each attribute: rows the attribute's values (its options in order, then any
    other value given, then 未填), columns the bands, cells the respondents."""
    tables = []
    for score in (s for s in instrument.scores if s.bands):
        for attribute in attributes:
            values = list(attribute.get("options") or [])
            seen = [str(r.attributes.get(attribute["key"], "未填")) for r in responses]
            values += [v for v in dict.fromkeys(seen) if v not in values and v != "未填"]
            values += ["未填"] if "未填" in seen else []
            cells = {value: {band.label: 0 for band in score.bands} for value in values}
            for response, value in zip(responses, seen, strict=True):
                band = response.scores[score.key]["band"]
                if band is not None:
                    cells[value][band] += 1
            tables.append(
                {"score": score.key, "score_title": score.title, "attribute": attribute["key"],
                 "attribute_title": attribute["title"], "bands": [b.label for b in score.bands], "rows": cells}
            )  # fmt: skip
    return tables


def group_summaries(
    instrument: Instrument, responses: Sequence[Response], groups: Sequence[str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """`summarise` per group, in the survey's order of groups."""
    return {group: summarise(instrument, [r for r in responses if r.group == group]) for group in groups}
