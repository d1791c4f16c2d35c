"""A survey's responses as records of the project: each response is a form submission of a form made
from the instrument at launch (`survey-<key>`), pinned with the project's forms. Its fields are the
respondent, the day answered, every answer (a grid row `content.fit` as `content__fit`) and every
computed score with its band, so the dossier, the XLSX export and `archive verify` treat a response as
any other record. The answers are checked and scored by `scoring`, not by this form."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from swflow.config.templates import SurveyAttribute
from swflow.forms_spec.instrument import Instrument
from swflow.forms_spec.spec import SURVEY_PREFIX, FieldSpec, FormSpec

__all__ = ["survey_form", "survey_form_id", "response_data", "field_name"]

WAVE_TITLES = {"needs": "需求调查", "baseline": "基线（前测）", "post": "后测"}
WAVE_CLAUSES = {"needs": "6.1.1", "baseline": "6.2.1.2", "post": "6.1.4"}


def survey_form_id(key: str) -> str:
    return f"{SURVEY_PREFIX}{key}"


def field_name(answer_key: str) -> str:
    return answer_key.replace(".", "__")


def _answer_field(instrument: Instrument, key: str, sensitive: bool) -> FieldSpec:
    item, row = instrument.answer_items[key]
    label = f"{item.key} {item.text}" + (f" › {row.text}" if row else "")
    kind: str = {"yes_no": "boolean", "choice": "choice", "multichoice": "multichoice", "number": "number"}.get(
        item.kind, "text" if item.kind == "text" else "integer"
    )
    extra: dict[str, Any] = {"choices": dict(item.options or {})} if kind in ("choice", "multichoice") else {}
    if item.scale:
        scale = instrument.scales[item.scale]
        extra["help"] = "；".join(f"{p}={text}" for p, text in scale.points.items())
    return FieldSpec.model_validate(
        {"name": field_name(key), "label": label[:200], "type": kind, "sensitive": sensitive, **extra}
    )


def survey_form(
    instrument: Instrument,
    key: str,
    title: str,
    wave: str,
    sensitive: bool,
    groups: Sequence[str] = (),
    attributes: Sequence[SurveyAttribute] = (),
) -> FormSpec:
    """The form a survey's responses are recorded as (its version is the instrument's); a survey with
    groups has the respondent's group, one with attributes a field per attribute (`attr__<key>`)."""
    fields = [  # a registry number names a person served; in a sensitive survey scores and bands are too
        FieldSpec(name="respondent", label="受访者", type="text", required=True, sensitive=sensitive),
        FieldSpec(name="answered_on", label="填写日期", type="date", required=True),
    ]
    if groups:
        fields.append(
            FieldSpec(name="group", label="组别", type="choice", required=True, choices={g: g for g in groups})
        )
    fields += [FieldSpec(name=f"attr__{a.key}", label=a.title, type="text", sensitive=sensitive) for a in attributes]
    fields += [_answer_field(instrument, k, sensitive) for k in instrument.answer_items]
    fields += [
        FieldSpec(name=f"{field_name(i.key)}__other", label=f"{i.key} 其他（内容）", type="text", sensitive=sensitive)
        for i in instrument.items
        if i.other
    ]
    for score in instrument.scores:
        fields.append(
            FieldSpec(name=f"score__{score.key}", label=f"得分：{score.title}", type="number", sensitive=sensitive)
        )
        if score.bands:
            fields.append(
                FieldSpec(name=f"band__{score.key}", label=f"分档：{score.title}", type="text", sensitive=sensitive)
            )
    return FormSpec(
        id=survey_form_id(key),
        version=instrument.version,
        title=f"问卷：{title}（{WAVE_TITLES[wave]}，{instrument.title}）"[:200],
        clause=WAVE_CLAUSES[wave],
        category="service_object",
        fields=tuple(fields),
    )


def response_data(
    respondent: str,
    answered_on: str,
    answers: dict[str, Any],
    scores: dict[str, dict[str, Any]],
    group: str | None = None,
    attributes: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One response as its record: the fields of `survey_form`."""
    data: dict[str, Any] = {"respondent": respondent, "answered_on": answered_on}
    if group is not None:
        data["group"] = group
    data |= {f"attr__{k}": v for k, v in (attributes or {}).items()}
    data |= {field_name(k): v for k, v in answers.items()}
    for key, result in scores.items():
        if result["value"] is not None:
            data[f"score__{key}"] = result["value"]
        if result["band"] is not None:
            data[f"band__{key}"] = result["band"]
    return data
