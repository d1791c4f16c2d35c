"""Issue 16, part 3 (its statistics): 200 respondents at baseline and 180 of them again at post give the
mean change, the paired t-test's and Wilcoxon's p-values and Cohen's d_z that an independent
computation here (plain arithmetic, a numerically integrated t density, a normal approximation with
the tie correction) gives; `swflow instruments compare` prints them in Chinese."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from swflow.app.cli.main import main
from swflow.forms_spec.change import paired_change
from swflow.forms_spec.instrument import get_instrument
from swflow.forms_spec.responses import read_responses

ITEMS = [f"q{n}" for n in range(1, 10)]


def _waves() -> tuple[list[list[Any]], list[list[Any]]]:
    rng = random.Random(2027)
    baseline = [[f"R{n:03d}", *(rng.choice((0, 1, 1, 2, 2, 3)) for _ in ITEMS)] for n in range(200)]
    post = [
        [row[0], *(min(3, max(0, a + rng.choice((-1, -1, 0, 0, 0, 1)))) for a in row[1:])] for row in baseline[:180]
    ]
    return baseline, post


def _t_p_value(t: float, df: int) -> float:
    """Two-sided p of Student's t, its density integrated by Simpson's rule (no statistics library)."""
    const = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)
    low, high, steps = abs(t), abs(t) + 60.0, 60_000
    h = (high - low) / steps
    total = sum((1 if i in (0, steps) else 4 if i % 2 else 2) * (1 + (low + i * h) ** 2 / df) ** (-(df + 1) / 2)
                for i in range(steps + 1))  # fmt: skip
    return 2 * const * total * h / 3


def _wilcoxon_p(diffs: list[float]) -> tuple[float, float]:
    """W = the smaller rank sum of the non-zero differences; p from the normal approximation with ties."""
    nonzero = [d for d in diffs if d != 0]
    ordered = sorted(range(len(nonzero)), key=lambda i: abs(nonzero[i]))
    ranks = [0.0] * len(nonzero)
    i = 0
    ties = 0.0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and abs(nonzero[ordered[j + 1]]) == abs(nonzero[ordered[i]]):
            j += 1
        for k in range(i, j + 1):
            ranks[ordered[k]] = (i + j + 2) / 2
        ties += (j - i + 1) ** 3 - (j - i + 1)
        i = j + 1
    plus = sum(r for r, d in zip(ranks, nonzero, strict=True) if d > 0)
    minus = sum(r for r, d in zip(ranks, nonzero, strict=True) if d < 0)
    n = len(nonzero)
    w = min(plus, minus)
    sd = math.sqrt(n * (n + 1) * (2 * n + 1) / 24 - ties / 48)
    z = (w - n * (n + 1) / 4) / sd
    return w, math.erfc(abs(z) / math.sqrt(2))


def _responses(rows: list[list[Any]]) -> list[Any]:
    responses, problems = read_responses(get_instrument("phq-9"), ["respondent", *ITEMS], rows)
    assert problems == []
    return responses


def test_a_paired_change_agrees_with_an_independent_computation() -> None:
    baseline, post = _waves()
    result = paired_change(get_instrument("phq-9"), "total", _responses(baseline), _responses(post))
    before = {row[0]: sum(row[1:]) for row in baseline}
    diffs = [sum(row[1:]) - before[row[0]] for row in post]
    n = len(diffs)
    mean = sum(diffs) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
    t = mean / (sd / math.sqrt(n))
    assert (result["n_baseline"], result["n_post"], result["n_paired"]) == (200, 180, 180)
    assert (result["lost_to_follow_up"], result["new_at_post"]) == (20, 0)
    assert result["mean_change"] == pytest.approx(mean, abs=1e-6) and mean < 0
    assert result["sd_change"] == pytest.approx(sd, abs=1e-6)
    assert result["t_test"]["t"] == pytest.approx(t, abs=1e-5) and result["t_test"]["df"] == 179
    assert 0 < result["t_test"]["p"] < 1e-6  # a real change, and its p is kept, not rounded to 0
    assert result["t_test"]["p"] == pytest.approx(_t_p_value(t, n - 1), rel=1e-3)
    w, p = _wilcoxon_p(diffs)
    assert result["wilcoxon"]["statistic"] == pytest.approx(w) and w > 0  # changes both ways
    assert result["wilcoxon"]["p"] == pytest.approx(p, rel=1e-3)
    assert result["cohens_dz"] == pytest.approx(mean / sd, abs=1e-6)
    assert sum(result["post_bands"].values()) == 180


def test_a_small_change_gets_a_large_p_and_too_few_pairs_get_no_test() -> None:
    baseline, _ = _waves()
    rng = random.Random(1)
    post = [[row[0], *(min(3, max(0, a + rng.choice((-1, 0, 0, 1)))) for a in row[1:])] for row in baseline[:60]]
    result = paired_change(get_instrument("phq-9"), "total", _responses(baseline), _responses(post))
    before = {row[0]: sum(row[1:]) for row in baseline}
    diffs = [sum(row[1:]) - before[row[0]] for row in post]
    mean, sd = sum(diffs) / 60, math.sqrt(sum((d - sum(diffs) / 60) ** 2 for d in diffs) / 59)
    assert result["t_test"]["p"] == pytest.approx(_t_p_value(mean / (sd / math.sqrt(60)), 59), rel=1e-3)
    one = paired_change(get_instrument("phq-9"), "total", _responses(baseline), _responses(post[:1]))
    assert one["n_paired"] == 1 and one["t_test"] is None and one["cohens_dz"] is None


def _xlsx(path: Path, rows: list[list[Any]]) -> str:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in [["受访者编号", *ITEMS], *rows]:
        sheet.append(row)
    book.save(path)
    return str(path)


def test_compare_prints_the_change_and_its_tests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    baseline, post = _waves()
    argv = [
        "instruments",
        "compare",
        "phq-9",
        _xlsx(tmp_path / "pre.xlsx", baseline),
        _xlsx(tmp_path / "post.xlsx", post),
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "前测 200 人，后测 180 人，配对 180 人（失访 20，后测新增 0）" in out
    assert "配对样本 t 检验（双侧）：t(179) = " in out and "Wilcoxon 符号秩检验" in out and "Cohen's d_z" in out
    assert main([*argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["statistics_version"] == 1
    assert main([*argv, "--score", "nope"]) == 2
    assert "--score：phq-9 没有计分 nope（可选：total、self_harm）" in capsys.readouterr().err
