"""Scorecards for outcome evaluation (§6.1.4): dimensions, indicators and weights, as data.

The shipped `default` is a documented placeholder, not MZ/T 059-2014 (its text is not in the
repository); an agency replaces it with its own.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from swflow.config.errors import NotFoundError
from swflow.config.yaml_source import load_definition

__all__ = ["Scorecard", "ScoreDimension", "load_scorecard", "get_scorecard", "weighted_score"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScoreIndicator(_Frozen):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    weight: float = Field(gt=0, le=1)


class ScoreDimension(_Frozen):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    weight: float = Field(gt=0, le=1)
    indicators: tuple[ScoreIndicator, ...] = Field(min_length=1)


class Scale(_Frozen):
    min: int = 1
    max: int = 5


class Scorecard(_Frozen):
    id: str
    version: int = Field(ge=1)
    title: str
    note: str = ""
    scale: Scale = Scale()
    dimensions: tuple[ScoreDimension, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _weights_and_keys(self) -> Scorecard:
        if abs(sum(d.weight for d in self.dimensions) - 1) > 1e-6:
            raise ValueError("各维度的 weight 之和必须为 1")
        keys: list[str] = []
        for d in self.dimensions:
            if abs(sum(i.weight for i in d.indicators) - 1) > 1e-6:
                raise ValueError(f"维度 {d.key} 内各指标的 weight 之和必须为 1")
            keys += [i.key for i in d.indicators]
        if len(set(keys)) != len(keys):
            raise ValueError("指标 key 必须唯一")
        return self

    def indicator_keys(self) -> list[str]:
        return [i.key for d in self.dimensions for i in d.indicators]


def load_scorecard(path: Path) -> Scorecard:
    return load_definition(path, Scorecard)


def list_scorecards() -> tuple[Scorecard, ...]:
    """swflow's scorecards and the agency's own (`config.definitions`), one per id."""
    from swflow.config.definitions import catalogue

    return catalogue("scorecards", Path(__file__).parent / "scorecards", load_scorecard)


def get_scorecard(scorecard_id: str = "default") -> Scorecard:
    for card in list_scorecards():
        if card.id == scorecard_id:
            return card
    raise NotFoundError(f"没有记分卡 {scorecard_id}（可选：{', '.join(c.id for c in list_scorecards())}）")


def weighted_score(card: Scorecard, scores: dict[str, int]) -> tuple[float | None, dict[str, float | None]]:
    """The total and per-dimension weighted scores on the card's scale; None where nothing was scored.

    A dimension with unscored indicators is averaged over the scored ones (weights renormalised).
    """
    per_dimension: dict[str, float | None] = {}
    for d in card.dimensions:
        scored = [(i.weight, scores[i.key]) for i in d.indicators if i.key in scores]
        weight = sum(w for w, _ in scored)
        per_dimension[d.key] = sum(w * s for w, s in scored) / weight if scored else None
    present = [(d.weight, per_dimension[d.key]) for d in card.dimensions if per_dimension[d.key] is not None]
    total_weight = sum(w for w, _ in present)
    total = sum(w * (v or 0) for w, v in present) / total_weight if present else None
    return total, per_dimension
