"""Instruments (questionnaires and scales) as data: `forms_spec/instruments/*.yaml`, and an agency's
own in `$SWFLOW_HOME/definitions/instruments/` (docs/instruments.md).

An instrument has response scales of any range, items (on a scale, yes/no, a choice with "其他：____",
a number, a text), grids (one scale, many rows), skip logic on any earlier answer, reverse-scored items,
and scores (subscales and totals: sum, mean or count of answers, a linear transform, bands by cut-off).
Its `source`, `licence` and `scoring_source` say where it and its scoring come from."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from swflow.config.definitions import catalogue
from swflow.config.errors import NotFoundError
from swflow.config.yaml_source import load_definition

__all__ = ["Band", "Instrument", "Item", "ResponseScale", "Score", "get_instrument", "list_instruments"]

Key = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ResponseScale(_Frozen):
    """Points with their labels, e.g. {0: 完全不会, 1: 好几天, 2: 一半以上的天数, 3: 几乎每天}."""

    points: dict[int, str] = Field(min_length=2)

    @model_validator(mode="after")
    def _consecutive(self) -> ResponseScale:
        values = sorted(self.points)
        if values != list(range(values[0], values[-1] + 1)):
            raise ValueError("points：量表的分值须是连续整数（如 0–3、1–7）")
        return self

    @cached_property
    def by_label(self) -> dict[str, int]:
        return {label: point for point, label in self.points.items()}

    @property
    def low(self) -> int:
        return min(self.points)

    @property
    def high(self) -> int:
        return max(self.points)


class ShowIf(_Frozen):
    item: str
    equals: tuple[str | int | bool, ...] = Field(min_length=1)


class GridRow(_Frozen):
    key: str = Key
    text: str = Field(min_length=1)
    reverse: bool = False


class Item(_Frozen):
    key: str = Key
    text: str = Field(min_length=1)
    kind: Literal["scale", "yes_no", "choice", "multichoice", "number", "text", "grid"] = "scale"
    scale: str | None = Field(default=None, description="scale and grid items: a key of `scales`")
    reverse: bool = Field(default=False, description="scored high−value+low")
    options: dict[str, str] | None = Field(default=None, description="choice and multichoice")
    other: str | None = Field(default=None, description="an option key whose answer asks for a text (其他：____)")
    min: float | None = None
    max: float | None = None
    rows: tuple[GridRow, ...] = Field(default=(), description="grid: one row per sub-item, answered on `scale`")
    required: bool = True
    show_if: ShowIf | None = None

    @model_validator(mode="after")
    def _kind(self) -> Item:
        if (self.kind in ("scale", "grid")) != (self.scale is not None):
            raise ValueError("scale 只用于、且必须用于 scale 和 grid 题")
        if (self.kind in ("choice", "multichoice")) != bool(self.options):
            raise ValueError("options 只用于、且必须用于 choice 和 multichoice 题")
        if self.other is not None and self.other not in (self.options or {}):
            raise ValueError(f"other：{self.other} 不是本题的选项")
        if (self.kind == "grid") != bool(self.rows):
            raise ValueError("rows 只用于、且必须用于 grid 题")
        if self.reverse and self.kind != "scale":
            raise ValueError("reverse 只用于 scale 题（grid 的行各自写 reverse）")
        return self

    def answer_keys(self) -> list[str]:
        """The answers this item gives: itself, or one per grid row (`item.row`)."""
        return [f"{self.key}.{row.key}" for row in self.rows] if self.kind == "grid" else [self.key]


class Band(_Frozen):
    label: str = Field(min_length=1, max_length=30)
    min: float = Field(description="the band starts at this score (inclusive)")


class Score(_Frozen):
    key: str = Key
    title: str = Field(min_length=1)
    method: Literal["sum", "mean", "count"] = "sum"
    items: tuple[str, ...] = Field(min_length=1, description="answer keys (a grid row is `item.row`)")
    counts: tuple[str | int | bool, ...] = Field(default=(), description="count: the answers that count")
    multiply: float = Field(default=1, description="the score is (sum|mean|count) × multiply")
    min_answered: int | None = Field(default=None, ge=1, description="fewer answers: no score (default: all)")
    bands: tuple[Band, ...] = Field(default=(), description="highest first; the last covers the lowest score")

    @model_validator(mode="after")
    def _consistent(self) -> Score:
        if (self.method == "count") != bool(self.counts):
            raise ValueError("counts 只用于、且必须用于 method: count")
        mins = [band.min for band in self.bands]
        if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
            raise ValueError("bands：须从高到低排列，起点（min）不能相同")
        return self

    def band(self, value: float) -> str | None:
        return next((b.label for b in self.bands if value >= b.min), self.bands[-1].label if self.bands else None)


class Instrument(_Frozen):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    version: int = Field(ge=1)
    title: str = Field(min_length=1)
    source: str = Field(min_length=1, description="who published it, where")
    licence: str = Field(min_length=1, description="the terms it may be used under")
    scoring_source: str = Field(min_length=1, description="where its scoring comes from")
    preamble: str = ""
    scales: dict[str, ResponseScale] = Field(default={})
    items: tuple[Item, ...] = Field(min_length=1)
    scores: tuple[Score, ...] = ()

    @model_validator(mode="after")
    def _references(self) -> Instrument:
        problems: list[str] = []
        seen: dict[str, Item] = {}
        answers: dict[str, Item] = {}
        for index, item in enumerate(self.items):
            where = f"items.{index}"
            if item.key in seen:
                problems.append(f"{where}.key：题号 {item.key} 重复")
            if item.scale is not None and item.scale not in self.scales:
                problems.append(
                    f"{where}.scale：没有量表 {item.scale}（scales 中有：{'、'.join(self.scales) or '无'}）"
                )
            if item.show_if is not None and item.show_if.item not in answers:
                problems.append(f"{where}.show_if.item：{item.show_if.item} 不是此前的题目（跳转只能依据前面的回答）")
            seen[item.key] = item
            answers.update({key: item for key in item.answer_keys()})
        problems += self._values_problems(answers)
        keys = [score.key for score in self.scores]
        if twice := sorted({k for k in keys if keys.count(k) > 1}):
            problems.append(f"scores：计分 key 重复：{'、'.join(twice)}")
        for index, score in enumerate(self.scores):
            if repeated := sorted({n for n in score.items if score.items.count(n) > 1}):
                problems.append(f"scores.{index}.items：{'、'.join(repeated)} 列了两次（会被计两次）")
            for name in score.items:
                scored = answers.get(name)
                if scored is None:
                    problems.append(f"scores.{index}.items：没有题目 {name}")
                elif score.method != "count" and scored.kind not in ("scale", "grid", "yes_no", "number"):
                    problems.append(f"scores.{index}.items：{name} 是 {scored.kind} 题，只能计数（method: count）")
        if problems:
            raise ValueError("；".join(problems))
        return self

    def answer_values(self, item: Item) -> set[Any] | None:
        """The answers an item can give (option keys, scale points, True/False), None for numbers and text."""
        if item.kind in ("scale", "grid"):
            return set(self.scales[item.scale or ""].points) if item.scale in self.scales else None
        if item.kind == "yes_no":
            return {True, False}
        return set(item.options or {}) if item.kind in ("choice", "multichoice") else None

    def _values_problems(self, answers: dict[str, Item]) -> list[str]:
        """A skip condition or a count names answers its item can give (a label would never match)."""
        problems: list[str] = []
        checks = [(f"items.{i}.show_if.equals", it.show_if.item, it.show_if.equals) for i, it in enumerate(self.items)
                  if it.show_if is not None]  # fmt: skip
        checks += [
            (f"scores.{i}.counts", name, s.counts) for i, s in enumerate(self.scores) for name in s.items if s.counts
        ]
        for where, name, values in checks:
            source = answers.get(name)
            allowed = self.answer_values(source) if source is not None else None
            if source is None or allowed is None:
                continue
            wrong = [v for v in values if v not in allowed or (isinstance(v, bool) != (source.kind == "yes_no"))]
            if wrong:
                listed = "、".join(map(str, sorted(allowed, key=str)))
                given = "、".join(map(str, wrong))
                problems.append(f"{where}：{given} 不是 {name} 的回答值（可选：{listed}；写键或分值，不写标签）")
        return problems

    @cached_property
    def answer_items(self) -> dict[str, tuple[Item, GridRow | None]]:
        """Every answer key with its item (and grid row); worked out once per instrument."""
        found: dict[str, tuple[Item, GridRow | None]] = {}
        for item in self.items:
            if item.kind == "grid":
                found.update({f"{item.key}.{row.key}": (item, row) for row in item.rows})
            else:
                found[item.key] = (item, None)
        return found


def load_instrument(path: Path) -> Instrument:
    return load_definition(path, Instrument)


def list_instruments() -> tuple[Instrument, ...]:
    """swflow's instruments and the agency's own (`config.definitions`), one per id."""
    return catalogue("instruments", Path(__file__).parent / "instruments", load_instrument)


def get_instrument(instrument_id: str) -> Instrument:
    for instrument in list_instruments():
        if instrument.id == instrument_id:
            return instrument
    known = "、".join(i.id for i in list_instruments())
    raise NotFoundError(f"没有量表/问卷 {instrument_id}（可选：{known}）")
