"""Pre-test against post-test for the same respondents (§6.1.4, §6.2.1.2): one score of an instrument,
two waves of responses (`responses.read_responses`) joined by respondent.

Reported: how many answered each wave, how many are paired and how many were lost to follow-up; the
means and the mean change with its sd; a paired t-test and a Wilcoxon signed-rank test (both stated,
from scipy, two-sided); Cohen's d_z (mean change / sd of the changes); and the share of the post wave
in each band. Fewer than two pairs: no test."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from swflow.forms_spec.instrument import Instrument
from swflow.forms_spec.responses import Response

__all__ = ["group_difference", "paired_change", "STATISTICS_VERSION"]

STATISTICS_VERSION = 1  # kept beside a computed change: the methods below, as they are in this version


def _values(responses: Sequence[Response], key: str) -> dict[str, float]:
    return {r.respondent: float(r.scores[key]["value"]) for r in responses if r.scores[key]["value"] is not None}


def _round(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(value, 6)


def _significant(value: float) -> float | None:
    """A p-value to 6 significant digits (a tiny p stays tiny, not 0)."""
    return None if math.isnan(value) else float(f"{value:.6g}")


def _tests(base: list[float], post: list[float], diffs: list[float]) -> dict[str, Any]:
    from scipy import stats

    if len(diffs) < 2:
        return {"t_test": None, "wilcoxon": None, "cohens_dz": None}
    sd = statistics.stdev(diffs)
    if sd == 0:  # every change the same: no spread to test against
        return {"t_test": None, "wilcoxon": None, "cohens_dz": None, "note": "各人的变化完全相同，无法检验"}
    t = stats.ttest_rel(post, base)
    nonzero = [d for d in diffs if d != 0]
    w = stats.wilcoxon(nonzero) if len(nonzero) >= 2 else None
    return {
        "t_test": {"method": "配对样本 t 检验（双侧）", "t": _round(float(t.statistic)), "df": len(diffs) - 1,
                   "p": _significant(float(t.pvalue))},
        "wilcoxon": None if w is None else {"method": "Wilcoxon 符号秩检验（双侧，剔除零差值）",
                                            "statistic": _round(float(w.statistic)), "n": len(nonzero),
                                            "p": _significant(float(w.pvalue))},
        "cohens_dz": _round(statistics.fmean(diffs) / sd),
    }  # fmt: skip


def paired_change(
    instrument: Instrument, score_key: str, baseline: Sequence[Response], post: Sequence[Response]
) -> dict[str, Any]:
    """The change of one score from baseline to post for the respondents who answered both."""
    score = next(s for s in instrument.scores if s.key == score_key)
    before, after = _values(baseline, score_key), _values(post, score_key)
    paired = sorted(set(before) & set(after))
    base, later = [before[r] for r in paired], [after[r] for r in paired]
    diffs = [b - a for a, b in zip(base, later, strict=True)]
    bands = {band.label: 0 for band in score.bands}
    for r in post:
        if (label := r.scores[score_key]["band"]) is not None:
            bands[label] = bands.get(label, 0) + 1
    return {
        "instrument": instrument.id,
        "version": instrument.version,
        "score": score_key,
        "title": score.title,
        "statistics_version": STATISTICS_VERSION,
        "n_baseline": len(before),
        "n_post": len(after),
        "n_paired": len(paired),
        "lost_to_follow_up": len(set(before) - set(after)),
        "new_at_post": len(set(after) - set(before)),
        "mean_baseline": _round(statistics.fmean(base)) if base else None,
        "mean_post": _round(statistics.fmean(later)) if later else None,
        "mean_change": _round(statistics.fmean(diffs)) if diffs else None,
        "sd_change": _round(statistics.stdev(diffs)) if len(diffs) > 1 else None,
        **_tests(base, later, diffs),
        "post_bands": bands,
    }


def group_difference(
    instrument: Instrument,
    score_key: str,
    baseline: Sequence[Response],
    post: Sequence[Response],
    groups: Sequence[str],
) -> dict[str, Any]:
    """The change of one score per group (each `paired_change` of that group's respondents, grouped as at
    post and at baseline), and the intervention group's (the first) mean change against the comparison group's (the
    second): the difference in change, Welch's t-test of the two groups' changes (two-sided, scipy) and
    Cohen's d with the pooled sd of the changes."""
    per_group = {
        group: paired_change(
            instrument, score_key, [r for r in baseline if r.group == group], [r for r in post if r.group == group]
        )
        for group in groups
    }
    before = _values(baseline, score_key)
    changes = {
        group: [v - before[r.respondent] for r in post if r.group == group and r.respondent in before
                if (v := r.scores[score_key]["value"]) is not None]
        for group in groups[:2]
    }  # fmt: skip
    first, second = changes[groups[0]], changes[groups[1]]
    result: dict[str, Any] = {
        "score": score_key, "groups": per_group, "intervention": groups[0], "comparison": groups[1],
        "difference_in_change": None, "welch": None, "cohens_d": None, "statistics_version": STATISTICS_VERSION,
    }  # fmt: skip
    if first and second:
        result["difference_in_change"] = _round(statistics.fmean(first) - statistics.fmean(second))
    if len(first) >= 2 and len(second) >= 2:
        from scipy import stats

        sd1, sd2 = statistics.stdev(first), statistics.stdev(second)
        pooled = math.sqrt(((len(first) - 1) * sd1**2 + (len(second) - 1) * sd2**2) / (len(first) + len(second) - 2))
        if sd1 > 0 or sd2 > 0:
            welch = stats.ttest_ind(first, second, equal_var=False)
            result["welch"] = {"method": "Welch t 检验（两组变化量，双侧）", "t": _round(float(welch.statistic)),
                               "df": _round(float(welch.df)), "p": _significant(float(welch.pvalue))}  # fmt: skip
            result["cohens_d"] = (
                _round((statistics.fmean(first) - statistics.fmean(second)) / pooled) if pooled else None
            )
    return result
