"""Issue 16, part 4: the surveys seen, not only read — the dossier's 问卷调查 section (each survey's
responses, scores, bands, computed indicators and pre/post change), a band chart per banded score with
the baseline beside the post wave, and a sheet per survey in tables.xlsx with a row per respondent,
masked as the submissions are. Checked against values computed here from the generated rows."""

from __future__ import annotations

import json
import re
import sqlite3
import statistics
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import load_workbook

from swflow import domain
from swflow.app.cli.main import main
from swflow.archive.dossier import render_dossier, write_tables_xlsx
from swflow.archive.survey_svg import BandChart, WaveShares, band_svg
from swflow.config.settings import get_settings
from swflow.domain.projects.surveys import survey_report
from swflow.forms_spec import MASK

from ._support import FLOW_RUN_ID, MANAGER, NOW, SECOND_WORKER, SUPERVISOR, WORKER
from .test_survey_indicators import (
    SAT_HEADER,
    _to_evaluation,
    lonely_waves,
    measured_template,
    satisfaction_rows,
    sheet,
)

OUTSIDER = "qian.worker"  # a worker of the agency, not of this project's team
HEADER = ["受访者编号", "填写日期", "q1", "q2", "q3"]
UCLA_HEADERS = [
    "受访者",
    "填写日期",
    "q1 您有多经常觉得自己缺少陪伴？",
    "q2 您有多经常觉得自己被冷落、被排除在外？",
    "q3 您有多经常觉得自己与他人隔绝？",
    "得分：孤独感总分",
    "分档：孤独感总分",
]


def _launch() -> str:
    request = domain.LaunchRequest(
        template_id="our-measured", name="孤独感干预", community="幸福社区", manager_id=MANAGER,
        supervisor_id=SUPERVISOR, worker_ids=[WORKER, SECOND_WORKER],
    )  # fmt: skip
    plan = domain.prepare_launch(request, NOW.date())
    domain.record_launch(plan, FLOW_RUN_ID, NOW)
    return plan.project_id


@pytest.fixture
def measured(archive_home: Path, people: Any) -> str:
    measured_template(archive_home)
    return _launch()


def _export(project: str, out: Path, viewer: str | None = MANAGER) -> tuple[str, dict[str, Any]]:
    assert main(["archive", "export", project, "--out", str(out), *(["--as", viewer] if viewer else [])]) == 0
    return (out / "index.html").read_text(encoding="utf-8"), json.loads((out / "data.json").read_text("utf-8"))


def _section(html: str) -> str:
    return html.split('<section id="surveys">', 1)[1].split("</section>", 1)[0]


def _rows(html: str, table_id: str) -> list[list[str]]:
    """Each body row of the table with that id: the first word of each cell (a number, before its note)."""
    found = re.search(rf'<table id="{table_id}">(.*?)</table>', html, re.S)
    assert found, table_id
    body = found.group(1).split("<tbody>", 1)[1]
    return [
        [(re.sub(r"<[^>]+>", " ", cell).split() or [""])[0] for cell in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def _svgs(html: str) -> dict[str, str]:
    """Each chart of the section by its accessible label."""
    return {m.group(1): m.group(0) for m in re.finditer(r'<svg [^>]*aria-label="([^"]*)".*?</svg>', html, re.S)}


def _totals(rows: list[list[Any]]) -> dict[str, int]:
    return {row[0]: sum(row[2:]) for row in rows}


def _lonely(totals: dict[str, int]) -> int:
    return sum(1 for t in totals.values() if t >= 6)  # ucla-3: 6 and above is 孤独


def test_the_dossier_shows_each_survey_its_change_and_its_bands(
    measured: str, sample_forms: dict[str, Any], tmp_path: Path
) -> None:
    pre = _to_evaluation(measured, tmp_path, sample_forms)
    _, post = lonely_waves()
    rows = satisfaction_rows(33, 36)
    path = sheet(tmp_path / "s.xlsx", SAT_HEADER, rows)
    assert (
        main(["survey", "import", measured, "satisfaction", path, "--by", WORKER, "--answered-on", "2026-03-02"]) == 0
    )
    html, data = _export(measured, tmp_path / "dossier")
    assert [s["key"] for s in data["surveys"]] == ["lonely-pre", "lonely-post", "satisfaction"]
    section = _section(html)
    assert "六、问卷调查" in html and "七、通知记录" in html and "八、档案事件" in html
    for title in ("孤独感前测（基线（前测））", "孤独感后测（后测）", "满意度调查（后测）"):
        assert title in section
    assert "回答 60 / 60 份" in section and "回答 50 / 50 份" in section and "回答 36 / 36 份" in section
    assert "调查期 2026-03-02 至 2026-03-09" in section and "孤独感量表（UCLA 三条目）（ucla-3） 第 1 版" in section

    before, after = _totals(pre), _totals(post)
    [score] = _rows(section, "survey-scores-lonely-pre")
    assert score[:2] == ["孤独感总分", "60"]
    assert float(score[2]) == pytest.approx(statistics.fmean(before.values()), abs=1e-4)
    assert float(score[3]) == pytest.approx(statistics.stdev(before.values()), abs=1e-4)
    assert (score[4], score[5]) == (str(min(before.values())), str(max(before.values())))
    lonely_pre, lonely_post = _lonely(before), _lonely(after)
    share_pre, share_post = round(100 * lonely_pre / 60, 1), round(100 * lonely_post / 50, 1)
    assert f"孤独 {lonely_pre} 人（{share_pre:g}%）；不孤独 {60 - lonely_pre} 人" in section
    mean_pre = round(statistics.fmean(before.values()), 2)
    assert f"孤独感平均分 = {mean_pre:g} 分（孤独感总分的平均分，n = 60" in section

    [change] = _rows(section, "survey-change-lonely-post")
    diffs = [after[r] - before[r] for r in after]
    assert change[:3] == ["孤独感总分", "50", "10"]  # paired, lost to follow-up
    assert float(change[3]) == pytest.approx(statistics.fmean(before[r] for r in after), abs=1e-4)
    assert float(change[4]) == pytest.approx(statistics.fmean(after.values()), abs=1e-4)
    assert float(change[5]) == pytest.approx(statistics.fmean(diffs), abs=1e-4) and float(change[5]) < 0
    assert float(change[6]) == pytest.approx(statistics.stdev(diffs), abs=1e-4)
    assert 0 < float(change[7]) < 0.05 and 0 < float(change[8]) < 0.05  # a little less lonely, for 50 people
    assert float(change[9]) == pytest.approx(statistics.fmean(diffs) / statistics.stdev(diffs), abs=1e-4)
    assert "配对样本 t 检验（双侧）" in section and "Wilcoxon 符号秩检验" in section

    charts = _svgs(section)
    pair = charts["孤独感总分各分档人数比例：孤独感前测（基线（前测））与孤独感后测（后测）"]
    assert 'class="bar-baseline"' in pair and 'class="bar-post"' in pair
    assert ">孤独</text>" in pair and ">不孤独</text>" in pair
    assert (
        f">{share_pre:g}%（{lonely_pre} 人）</text>" in pair and f">{share_post:g}%（{lonely_post} 人）</text>" in pair
    )
    assert not [label for label in charts if label.endswith("孤独感前测（基线（前测））")]  # drawn beside its post
    alone = charts["总体满意各分档人数比例：满意度调查（后测）"]  # no baseline: its own wave
    assert ">91.7%（33 人）</text>" in alone and 'class="bar-baseline"' not in alone
    assert "对比图见「孤独感后测」" in section

    book = load_workbook(tmp_path / "dossier" / "tables.xlsx", read_only=True)
    page = [list(r) for r in book["问卷-lonely-pre"].iter_rows(values_only=True)]
    assert len(page) == 61 and page[0] == UCLA_HEADERS
    first = next(r for r in page if r[0] == "L00")
    assert first[1:5] == [pre[0][1], *pre[0][2:]] and first[5] == sum(pre[0][2:])
    assert first[6] == ("孤独" if sum(pre[0][2:]) >= 6 else "不孤独")
    assert (
        len(list(book["问卷-lonely-post"].iter_rows())) == 51 and len(list(book["问卷-satisfaction"].iter_rows())) == 37
    )
    book.close()


def test_an_export_without_surveys_still_renders_and_imports(
    measured: str,
    sample_forms: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    _migrated_archive: Path,
) -> None:
    domain.open_stage(measured, "assessment", NOW)
    pre, _ = lonely_waves()
    assert (
        main(["survey", "import", measured, "lonely-pre", sheet(tmp_path / "pre.xlsx", HEADER, pre), "--by", WORKER])
        == 0
    )
    _, data = _export(measured, tmp_path / "dossier")
    older = {k: v for k, v in data.items() if k != "surveys"}  # an export made before the surveys
    page = render_dossier(older)
    assert 'id="surveys"' not in page and "六、通知记录" in page and "七、档案事件" in page
    write_tables_xlsx(older, tmp_path / "older.xlsx")
    assert not [n for n in load_workbook(tmp_path / "older.xlsx", read_only=True).sheetnames if n.startswith("问卷-")]

    second = tmp_path / "second"  # another agency's archive reads it back
    second.mkdir()
    with closing(sqlite3.connect(_migrated_archive)) as source, closing(sqlite3.connect(second / "archive.db")) as copy:
        source.backup(copy)
    monkeypatch.setenv("SWFLOW_HOME", str(second))
    get_settings.cache_clear()
    try:
        assert main(["archive", "import", str(tmp_path / "dossier" / "data.json")]) == 0
        [again] = [s for s in survey_report(measured) if s["key"] == "lonely-pre"]
        assert again["responses"] == 60 and again["scores"] == data["surveys"][0]["scores"]
    finally:
        monkeypatch.setenv("SWFLOW_HOME", str(tmp_path))
        get_settings.cache_clear()


def test_survey_answers_of_a_sensitive_project_are_masked_in_the_survey_sheet(
    archive_home: Path, people: Any, tmp_path: Path
) -> None:
    path = measured_template(archive_home)
    template = yaml.safe_load(path.read_text(encoding="utf-8"))
    template["sensitivity"] = "sensitive"  # its survey answers are sensitive (forms_spec.catalogue.template_forms)
    for stage in template["stages"]:
        if stage["key"] in ("planning", "evaluation"):
            stage["gate"] = {"steps": ["supervisor", "director"]}
    path.write_text(yaml.safe_dump(template, allow_unicode=True, sort_keys=False), encoding="utf-8")
    project = _launch()
    domain.open_stage(project, "assessment", NOW)
    pre, _ = lonely_waves()
    assert (
        main(["survey", "import", project, "lonely-pre", sheet(tmp_path / "pre.xlsx", HEADER, pre), "--by", WORKER])
        == 0
    )
    before = _totals(pre)

    for viewer, masked in ((OUTSIDER, True), (None, True), (SUPERVISOR, False)):
        out = tmp_path / f"dossier-{viewer}"
        html, data = _export(project, out, viewer)
        assert data["masked"] is masked
        book = load_workbook(out / "tables.xlsx", read_only=True)
        page = [list(r) for r in book["问卷-lonely-pre"].iter_rows(values_only=True)]
        book.close()
        assert len(page) == 61 and page[0] == UCLA_HEADERS
        for row in page[1:]:  # in a sensitive survey the respondent and the scores are masked with the answers
            if masked:
                assert row[0] == row[5] == MASK and list(row[2:5]) == [MASK] * 3, viewer
                continue
            assert list(row[2:5]) == next(p[2:] for p in pre if p[0] == row[0])
            assert row[5] == before[row[0]]
        answered = [s["data"]["q1"] for s in data["submissions"] if s["form_id"] == "survey-lonely-pre"]
        assert len(answered) == 60 and (set(answered) == {MASK}) is masked
        [score] = _rows(_section(html), "survey-scores-lonely-pre")  # the summary is the same for all
        assert score[1] == "60" and float(score[2]) == pytest.approx(statistics.fmean(before.values()), abs=1e-4)


def test_every_text_of_a_band_chart_is_escaped() -> None:
    wave = WaveShares("后测", "<b>调查</b>", "bar-post", 4, {"a&b": 3, "<c>": 1}, {"a&b": 75.0, "<c>": 25.0})
    svg = str(band_svg(BandChart('得分"<x>', ("a&b", "<c>"), (wave,))))
    assert "<b>" not in svg and "<c>" not in svg and "<x>" not in svg
    assert "&lt;b&gt;调查&lt;/b&gt;" in svg and ">a&amp;b</text>" in svg and "&lt;c&gt;" in svg
    assert 'aria-label="得分&#34;&lt;x&gt;各分档人数比例：&lt;b&gt;调查&lt;/b&gt;（后测）"' in svg
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 760 ') and 'role="img"' in svg
    empty = WaveShares("后测", "调查", "bar-post", 0, {"a&b": 0}, {})
    assert str(band_svg(BandChart("得分", ("a&b",), (empty,)))) == ""  # nobody scored yet: no chart
