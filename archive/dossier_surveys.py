"""The project's surveys in its dossier (issue 16): per survey what the page shows — its responses of
those expected, each score's summary and bands, the indicators it computes, the change from its
baseline, a band chart per banded score — and the rows of its sheet in `tables.xlsx`, one per respondent.

Drawn from `data["surveys"]` (`survey_report`: aggregates, no answers, so never masked) and
`data["submissions"]` (masked as `project_data` masked them: taken as they are). An export made before
the surveys has no `surveys`: none are shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from swflow.archive.survey_svg import BandChart, WaveShares, band_svg
from swflow.forms_spec.survey_form import WAVE_TITLES, survey_form_id

__all__ = ["survey_views", "survey_tables"]

SHEET_PREFIX = "问卷-"


def _num(value: float | None, sign: str = "") -> str:
    """A statistic to at most 4 decimals (as the score summaries are kept), `—` when there is none."""
    if value is None:
        return "—"
    text = f"{value:{sign}.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "+0") else text


def _p(test: Mapping[str, Any] | None) -> str:
    return "—" if not test or test.get("p") is None else f"{test['p']:.4g}"


def _t(test: Mapping[str, Any] | None) -> str | None:
    return None if not test or test.get("t") is None else f"t({test['df']}) = {test['t']:.4g}"


def _wave(survey: Mapping[str, Any]) -> str:
    return WAVE_TITLES.get(survey["wave"], str(survey["wave"]))


def _scores(survey: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for result in survey["scores"].values():
        shares = result.get("shares") or {}
        bands = [
            f"{label} {count} 人" + (f"（{shares[label]:g}%）" if label in shares else "")
            for label, count in (result.get("bands") or {}).items()
        ]
        rows.append(
            {
                "title": result["title"],
                "n": result["n"],
                **{key: _num(result.get(key)) for key in ("mean", "sd", "min", "max")},
                "bands": bands,
            }
        )
    return rows


def _indicators(survey: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": c["name"],
            "value": "尚无回答" if c["value"] is None else f"{c['value']:g} {c['unit']}",
            "statistic": c["statistic"],
            "n": c["n"],
            "sd": None if c.get("sd") is None else f"{c['sd']:g}",
        }
        for c in survey.get("indicators", [])
    ]


def _change(survey: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "title": c["title"],
            "n_baseline": c["n_baseline"],
            "n_post": c["n_post"],
            "n_paired": c["n_paired"],
            "lost": c["lost_to_follow_up"],
            "mean_baseline": _num(c["mean_baseline"]),
            "mean_post": _num(c["mean_post"]),
            "mean_change": _num(c["mean_change"], "+"),
            "sd_change": _num(c.get("sd_change")),
            "t_p": _p(c.get("t_test")),
            "t": _t(c.get("t_test")),
            "wilcoxon_p": _p(c.get("wilcoxon")),
            "cohens_dz": _num(c.get("cohens_dz")),
            "note": c.get("note"),
        }
        for c in survey.get("change", [])
    ]


def _methods(survey: Mapping[str, Any]) -> list[str]:
    """The tests the change table reports, as the report states them."""
    found: dict[str, None] = {}
    for change in survey.get("change", []):
        for test in (change.get("t_test"), change.get("wilcoxon")):
            if test and test.get("method"):
                found[test["method"]] = None
    return list(found)


def _shares(survey: Mapping[str, Any], score_key: str) -> WaveShares:
    result = survey["scores"].get(score_key) or {}
    return WaveShares(
        wave=_wave(survey),
        survey=survey["title"],
        cls="bar-post" if survey["wave"] == "post" else "bar-baseline",
        n=int(result.get("n") or 0),
        counts=result.get("bands") or {},
        shares=result.get("shares") or {},
    )


def _charts(survey: Mapping[str, Any], waves: list[Mapping[str, Any]]) -> list[Markup]:
    """A chart per banded score of `survey`, its waves side by side (baseline first)."""
    charts = []
    for key, result in survey["scores"].items():
        bands = tuple(result.get("bands") or {})
        chart = band_svg(BandChart(result["title"], bands, tuple(_shares(w, key) for w in waves)))
        if chart:
            charts.append(chart)
    return charts


def _instrument(data: Mapping[str, Any], survey: Mapping[str, Any]) -> str:
    pinned = (data["project"].get("template_snapshot") or {}).get("instruments") or {}
    title = (pinned.get(survey["instrument"]) or {}).get("title")
    return f"{title}（{survey['instrument']}）" if title else str(survey["instrument"])


def _group_change(survey: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for compared in survey.get("group_change", []):
        first, second = compared["intervention"], compared["comparison"]
        groups = compared["groups"]
        rows.append({
            "title": groups[first]["title"], "first": first, "second": second,
            "first_change": _num(groups[first]["mean_change"], "+"), "first_n": groups[first]["n_paired"],
            "second_change": _num(groups[second]["mean_change"], "+"), "second_n": groups[second]["n_paired"],
            "difference": _num(compared["difference_in_change"], "+"), "welch_p": _p(compared["welch"]),
            "cohens_d": _num(compared["cohens_d"]),
        })  # fmt: skip
    return rows


def _crosstabs(survey: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {"title": f"{t['score_title']} × {t['attribute_title']}", "bands": t["bands"],
         "rows": [(value, [cells[b] for b in t["bands"]]) for value, cells in t["rows"].items()]}
        for t in survey.get("crosstabs", [])
    ]  # fmt: skip


def _cell(label: str, n: int, share: float | None) -> str:
    return f"{label} {n}" if share is None else f"{label} {n}（{share:g}%）"


def _distributions(survey: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {"text": d["text"], "answered": d["answered"],
         "cells": "；".join(_cell(label, n, d["shares"][label]) for label, n in d["counts"].items())}
        for d in survey.get("distributions", [])
    ]  # fmt: skip


def survey_views(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each survey as the page shows it. A post wave is drawn beside the baseline it is compared with
    (`compared_with`); a survey in no pair gets a chart of its own wave."""
    surveys: list[Mapping[str, Any]] = data.get("surveys") or []
    by_key = {s["key"]: s for s in surveys}
    compared = {s["compared_with"] for s in surveys if s.get("compared_with") in by_key}
    views = []
    for survey in surveys:
        base = by_key.get(survey.get("compared_with") or "")
        if base is not None:
            charts = _charts(survey, [base, survey])
        else:
            charts = [] if survey["key"] in compared else _charts(survey, [survey])
        period = survey.get("period")
        views.append(
            {
                "key": survey["key"],
                "title": survey["title"],
                "wave": _wave(survey),
                "instrument": _instrument(data, survey),
                "version": survey["instrument_version"],
                "responses": survey["responses"],
                "expected": survey["expected"],
                "period": f"{period['from']} 至 {period['to']}" if period else None,
                "scores": _scores(survey),
                "indicators": _indicators(survey),
                "compared_with": base["title"] if base is not None else None,
                "change": _change(survey) if base is not None else [],
                "methods": _methods(survey),
                "charts": charts,
                "charted_with": [s["title"] for s in surveys if by_key.get(s.get("compared_with") or "") is survey],
                "group_change": _group_change(survey),
                # small cells of a cross-tabulation can point at a person: only for those who see the answers
                "crosstabs": [] if data.get("masked") else _crosstabs(survey),
                "crosstabs_hidden": bool(data.get("masked") and survey.get("crosstabs")),
                "distributions": _distributions(survey),
            }
        )
    return views


def survey_tables(data: Mapping[str, Any]) -> list[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]]:
    """Per survey (sheet title wanted, the fields of its pinned form `survey-<key>`, its responses by
    submission id): a row per respondent, a column per field. The values are the submissions' own."""
    forms = data["project"].get("forms_snapshot") or {}
    tables = []
    for survey in data.get("surveys") or []:
        form_id = survey_form_id(survey["key"])
        form = forms.get(form_id)
        if form is None:  # not pinned in this export: nothing to lay out
            continue
        fields = [f for f in form["fields"] if f["type"] != "table"]
        subs = sorted((s for s in data["submissions"] if s["form_id"] == form_id), key=lambda s: s["id"])
        tables.append((f"{SHEET_PREFIX}{survey['key']}", fields, subs))
    return tables
