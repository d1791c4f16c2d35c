"""Points-based sheets (a funder's end-of-project evaluation): items with maximum points, evidence
per item where the sheet asks for it, a total and a grade band — as data on a table field.

A table field with `points:` is a sheet: one row per item (its `item` column names the item, its
`points` column the points given, an `evidence` attachment column where any item needs evidence).
A `number` field with `total_of: <table>` and a text field with `grade_of: <table>` are filled in by
swflow from the rows; a submitter may leave them empty (a value given must agree)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["GradeBand", "PointsItem", "PointsSheet", "SHEET_COLUMNS"]

SHEET_COLUMNS = {"item": "choice", "points": "number"}  # and `evidence` (attachment) when an item asks for it


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PointsItem(_Frozen):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)
    max: float = Field(gt=0, le=1000, description="the most points the item can get")
    evidence: bool = Field(default=False, description="the row must carry an evidence attachment")


class GradeBand(_Frozen):
    grade: str = Field(min_length=1, max_length=20)
    min: float = Field(ge=0, description="the band starts at this total (inclusive)")


class PointsSheet(_Frozen):
    items: tuple[PointsItem, ...] = Field(min_length=1)
    grades: tuple[GradeBand, ...] = Field(min_length=1, description="highest band first; the last starts at 0")

    @field_validator("items")
    @classmethod
    def _keys_unique(cls, items: tuple[PointsItem, ...]) -> tuple[PointsItem, ...]:
        keys = [i.key for i in items]
        if duplicates := sorted({k for k in keys if keys.count(k) > 1}):
            raise ValueError(f"评分项 key 重复：{', '.join(duplicates)}")
        return items

    @model_validator(mode="after")
    def _bands(self) -> PointsSheet:
        mins = [band.min for band in self.grades]
        if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
            raise ValueError("grades：等级须从高到低排列，各等级的起点分数（min）不能相同")
        if mins[-1] != 0:
            raise ValueError("grades：最低一档的 min 须为 0（每个总分都要落在某一档）")
        if mins[0] > self.full_marks():
            raise ValueError(f"grades：最高一档的 min（{mins[0]:g}）超过了满分 {self.full_marks():g}")
        return self

    def full_marks(self) -> float:
        return sum(item.max for item in self.items)

    def grade(self, total: float) -> str:
        return next(band.grade for band in self.grades if total >= band.min)
