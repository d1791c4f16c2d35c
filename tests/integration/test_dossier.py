"""The dossier of a finished sensitive project: index.html, data.json and tables.xlsx, read back as a
reader, a second archive and a browser would read them."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import zlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml

from swflow import db, domain
from swflow.app.samples import form_samples, people_yaml
from swflow.archive.dossier import render_dossier, write_tables_xlsx
from swflow.archive.dossier_trust import dossier_trust
from swflow.archive.export import export_project, import_project, project_data
from swflow.config.errors import RefusedError
from swflow.config.settings import get_settings
from swflow.db.tables import Event

MARKER = "演示敏感信息"  # every sensitive sample value carries it
FLOW_RUN = "00000000-0000-0000-0000-000000000009"
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Shanghai
OUTSIDER = domain.PersonRecord(id="zhao.outsider", name="赵社工", roles=["worker"])
DAYS = {"assessment": 9, "planning": 8, "execution": 40, "evaluation": 10}  # how long each stage takes here


@dataclass(frozen=True)
class Dossier:
    project_id: str
    dirs: dict[str, Path]  # viewer label → export directory
    comments: list[str]


def _env(mp: pytest.MonkeyPatch, home: Path) -> None:
    mp.setenv("SWFLOW_HOME", str(home))
    mp.setenv("SWFLOW_HOLD_OUTSIDE_WORKING_HOURS", "false")
    mp.delenv("SWFLOW_DATABASE_URL", raising=False)
    mp.delenv("SWFLOW_NOW", raising=False)
    get_settings.cache_clear()
    db.migrate()


def _stage(project_id: str, key: str) -> dict[str, Any]:
    return next(s for s in domain.project_status(project_id)["stages"] if s["key"] == key)


def _submit_open_items(project_id: str, key: str, at: datetime) -> None:
    samples, stage = form_samples(), _stage(project_id, key)
    for item in stage["work_items"]:
        if item["round"] == stage["round"] and item["status"] == "open":
            data = samples[item["form"]]
            domain.submit_form(project_id, item["form"], item["assignee"], data, at, item["activity"] or None)


def _decide_until_done(project_id: str, key: str, at: datetime, comments: list[str], give_back: bool) -> None:
    """Each decider the gate waits on decides in turn; the final decision is applied as the flow would."""
    while (stage := _stage(project_id, key))["status"] == "awaiting_decision":
        decider = stage["waiting_on"][0]
        outcome = "return" if give_back else "approve"
        comment = f"{stage['title']}第{stage['round']}轮：" + (
            "请补充社区资源和骨干的情况。" if give_back else f"{decider} 同意"
        )
        redo = ["community-profile"] if give_back else None
        decided = domain.record_decision(project_id, key, decider, outcome, comment, at, redo=redo)
        comments.append(comment)
        if decided.final:
            attempt = domain.read_gate(project_id, key).attempt
            domain.apply_gate_reply(project_id, key, attempt, decided.decision_id, at)
        at += timedelta(hours=3)


def _walk_sensitive_project(comments: list[str]) -> tuple[str, datetime]:
    people = domain.PeopleFile.model_validate(yaml.safe_load(people_yaml("json://127.0.0.1:9"))).people
    domain.import_people([*people, OUTSIDER], "test", START)
    request = domain.LaunchRequest(
        template_id="community-corrections",
        name="社区矫正对象社会适应",
        community="幸福社区",
        manager_id="zhou.pm",
        supervisor_id="li.supervisor",
        worker_ids=["wang.worker"],
    )
    plan = domain.prepare_launch(request, START.date())
    domain.record_launch(plan, FLOW_RUN, START)
    at = START
    for stage in domain.project_status(plan.project_id)["stages"]:
        key = stage["key"]
        domain.open_stage(plan.project_id, key, at)
        _submit_open_items(plan.project_id, key, at + timedelta(days=2))
        if key == "execution":
            incident = form_samples()["incident-report"]
            domain.submit_form(plan.project_id, "incident-report", "wang.worker", incident, at + timedelta(days=3))
        if key == "assessment":  # returned once: a second round of one form
            _decide_until_done(plan.project_id, key, at + timedelta(days=4), comments, give_back=True)
            _submit_open_items(plan.project_id, key, at + timedelta(days=6))
        _decide_until_done(plan.project_id, key, at + timedelta(days=DAYS[key] - 1), comments, give_back=False)
        at += timedelta(days=DAYS[key])
    assert domain.close_project(plan.project_id, at) == "completed"
    return plan.project_id, at


@pytest.fixture(scope="module")
def dossier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dossier]:
    """One finished project, exported for no one, for its supervisor and for an outsider."""
    with pytest.MonkeyPatch.context() as mp:
        _env(mp, tmp_path_factory.mktemp("archive"))
        comments: list[str] = []
        project_id, end = _walk_sensitive_project(comments)
        out = tmp_path_factory.mktemp("dossiers")
        viewers = {"masked": None, "supervisor": "li.supervisor", "outsider": OUTSIDER.id}
        dirs = {label: out / label for label in viewers}
        for label, viewer in viewers.items():
            export_project(project_id, dirs[label], viewer, end + timedelta(days=1))
        yield Dossier(project_id, dirs, comments)
    get_settings.cache_clear()


class Page(HTMLParser):
    """The page as text, its <svg> count, and the rows (cell texts) of every table that has an id."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: dict[str, int] = defaultdict(int)
        self.rows: dict[str, list[list[str]]] = defaultdict(list)
        self._tables: list[str | None] = []
        self._in_body = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        if tag == "table":
            self._tables.append(dict(attrs).get("id"))
        elif tag in ("tbody", "thead"):
            self._in_body = tag == "tbody"
        elif tag == "tr" and self._in_body and len(self._tables) == 1 and self._tables[0]:
            self.rows[self._tables[0]].append([])
        elif tag in ("td", "th") and len(self._tables) == 1 and self._tables[0] and self._in_body:
            self.rows[self._tables[0]][-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._tables.pop()
        elif tag == "tbody":
            self._in_body = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        table = self._tables[0] if len(self._tables) == 1 else None
        if table and self._in_body and self.rows[table] and self.rows[table][-1]:
            self.rows[table][-1][-1] += data.strip()

    @property
    def all_text(self) -> str:
        return "".join(self.text)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _files(d: Path) -> tuple[str, dict[str, Any], str]:
    """The page, the data and every cell of the workbook as one text."""
    html = (d / "index.html").read_text(encoding="utf-8")
    data = json.loads((d / "data.json").read_text(encoding="utf-8"))
    book = openpyxl.load_workbook(d / "tables.xlsx", read_only=True)
    cells = "\n".join(str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row if v)
    book.close()
    return html, data, cells


def test_the_page_tells_the_whole_project(dossier: Dossier) -> None:
    html, data, _ = _files(dossier.dirs["supervisor"])
    page = Page(html)
    text = page.all_text
    assert page.tags["svg"] >= 2
    assert page.tags["script"] == 0 and page.tags["link"] == 0 and page.tags["img"] == 0
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    for stage in data["stages"]:
        assert stage["title"] in text
    decisions = [row[-1] for row in page.rows["decision-log"]]
    assert len(decisions) == len(data["decisions"]) == len(dossier.comments)
    for comment in dossier.comments:
        assert any(cell.startswith(comment) for cell in decisions), comment
    assert {"通过", "退回修改"} <= {row[3] for row in page.rows["decision-log"]}
    indicators = {row[0]: row for row in page.rows["indicator-table"]}
    assert data["indicators"]
    for item in data["indicators"]:
        assert item["indicator"] in indicators
        assert indicators[item["indicator"]][2] == _number(item["baseline"])
        assert indicators[item["indicator"]][4] == _number(item["post"])
    assert len(page.rows["message-log"]) == len(data["outbox"]) > 0
    assert "json://" not in html  # channels never appear
    assert len(page.rows["event-log"]) == len(data["events"])
    assert data["head"]["hash"] in text
    assert "第 2 轮" in text and "共 2 轮" in text


def test_sensitive_values_reach_the_team_only(dossier: Dossier) -> None:
    for label in ("masked", "outsider"):
        html, data, cells = _files(dossier.dirs[label])
        assert data["masked"] is True
        assert MARKER not in html and MARKER not in json.dumps(data, ensure_ascii=False) and MARKER not in cells
        assert "敏感字段已隐去" in html and "敏感信息已隐藏" in html and "敏感信息已隐藏" in cells
    assert OUTSIDER.id in Page(_files(dossier.dirs["outsider"])[0]).all_text
    html, data, cells = _files(dossier.dirs["supervisor"])
    assert data["masked"] is False
    assert MARKER in html and MARKER in json.dumps(data, ensure_ascii=False) and MARKER in cells
    assert "敏感字段完整显示" in html


def test_workbook_has_a_sheet_per_form_and_per_table(dossier: Dossier) -> None:
    data = json.loads((dossier.dirs["supervisor"] / "data.json").read_text(encoding="utf-8"))
    book = openpyxl.load_workbook(dossier.dirs["supervisor"] / "tables.xlsx")
    forms = data["project"]["forms_snapshot"]
    counts: dict[str, int] = defaultdict(int)
    for sub in data["submissions"]:
        counts[sub["form_id"]] += 1
    for form_id, count in counts.items():
        sheet = book[forms[form_id]["title"][:31]]
        header = [c.value for c in sheet[1]]
        assert header[:5] == ["提交编号", "轮次", "活动", "提交人", "提交时间"]
        assert sheet.max_row == count + 1, form_id
    profile = next(s for s in data["submissions"] if s["form_id"] == "recipients-profile")
    cases = book["服务对象特点分析·" + _label(forms["recipients-profile"], "key_cases")]
    assert cases.max_row == len(profile["data"]["key_cases"]) + 1
    assert len(book.sheetnames) == len(set(n.lower() for n in book.sheetnames))


def _label(form: dict[str, Any], name: str) -> str:
    return str(next(f["label"] for f in form["fields"] if f["name"] == name))


def test_data_json_loads_into_a_fresh_archive(
    dossier: Dossier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exported = json.loads((dossier.dirs["supervisor"] / "data.json").read_text(encoding="utf-8"))
    _env(monkeypatch, tmp_path)
    try:
        project_id, trust = import_project(exported, "test", START)
        assert project_id == dossier.project_id
        assert not trust.trusted and "不是本机构" in trust.reason  # another home: another agency's key
        again = project_data(dossier.project_id, "li.supervisor")
        key = lambda e: (e["seq"], e["kind"], e["payload"], e["hash"])  # noqa: E731
        assert [key(e) for e in again["events"]][:-1] == [key(e) for e in exported["events"]]
        assert again["events"][-1]["kind"] == "archive.imported_read_only"  # this archive's own record of it
        assert again["head"]["seq"] == exported["head"]["seq"] + 1
        # The people an import brings are inactive placeholders with no role: they see nothing
        # sensitive until the reading agency registers them itself.
        assert again["submissions"] != exported["submissions"]
        assert all(p["roles"] == [] for p in again["people"])
        people = domain.PeopleFile.model_validate(yaml.safe_load(people_yaml("json://127.0.0.1:9"))).people
        domain.import_people(people, "test", START)
        again = project_data(dossier.project_id, "li.supervisor")
        assert again["submissions"] == exported["submissions"]
        with db.read_session() as session:
            assert db.verify_stream(session, db.project_stream(dossier.project_id)) is None
            assert (
                session.query(Event).where(Event.stream == db.project_stream(dossier.project_id)).count()
                == len(exported["events"]) + 1
            )
        with pytest.raises(RefusedError, match="只读"):  # a read-only record takes no act
            domain.record_decision(dossier.project_id, "evaluation", "li.supervisor", "approve", "", START)
        with pytest.raises(RefusedError):
            import_project(exported, "test", START)
    finally:
        get_settings.cache_clear()


def test_a_dossier_signed_by_a_trusted_key_imports_as_a_record(
    dossier: Dossier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exported = json.loads((dossier.dirs["supervisor"] / "data.json").read_text(encoding="utf-8"))
    _env(monkeypatch, tmp_path)
    try:
        assert exported["checkpoint"] is not None and len(exported["checkpoint"]["sha256"]) == 64
        page = (dossier.dirs["supervisor"] / "index.html").read_text(encoding="utf-8")
        assert exported["checkpoint"]["sha256"] in page and exported["signature"]["key_id"] in page
        forged = {**exported, "project": {**exported["project"], "name": "改过的名字"}}
        assert dossier_trust(forged).reason == "签名与档案内容不符（档案在导出后被改动）"
        unsigned = {k: v for k, v in exported.items() if k != "signature"}
        assert dossier_trust(unsigned).reason == "档案没有签名"
        trusted = get_settings().home / "keys" / "trusted"
        trusted.mkdir(parents=True)
        (trusted / "exporting-agency.pub").write_text(exported["signature"]["key"], encoding="utf-8")
        project_id, trust = import_project(exported, "test", START)
        assert trust.trusted, trust.reason
        again = project_data(project_id, None)
        assert again["events"][-1]["kind"] == "archive.imported"
        assert any(p["roles"] for p in again["people"])  # vouched for: the roles stay (the people stay inactive)
    finally:
        get_settings.cache_clear()


def test_formula_like_and_markup_like_text_stays_text(dossier: Dossier, tmp_path: Path) -> None:
    data = json.loads((dossier.dirs["masked"] / "data.json").read_text(encoding="utf-8"))
    profile = next(s for s in data["submissions"] if s["form_id"] == "community-profile")
    profile["data"]["culture"] = '=HYPERLINK("http://example.invalid","x")'
    profile["data"]["economy"] = "<script>alert(1)</script>"
    assert Page(render_dossier(data)).tags["script"] == 0
    write_tables_xlsx(data, tmp_path / "t.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx")["社区概况"]
    cells = [c for row in sheet.iter_rows() for c in row if c.value == profile["data"]["culture"]]
    assert cells and all(c.data_type == "s" for c in cells)


def _png_pixels(path: Path) -> tuple[int, int, bytes]:
    blob = path.read_bytes()
    assert blob[:8] == b"\x89PNG\r\n\x1a\n"
    offset, idat, size = 8, b"", (0, 0)
    while offset < len(blob):
        (length,), kind = struct.unpack(">I", blob[offset : offset + 4]), blob[offset + 4 : offset + 8]
        chunk = blob[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            size = struct.unpack(">II", chunk[:8])
        elif kind == b"IDAT":
            idat += chunk
        offset += 12 + length
    return size[0], size[1], zlib.decompress(idat)


def _chromium(*args: str, profile: Path) -> None:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.skip("chromium 未安装：.ci/run 会安装 Debian 的 chromium")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
    flags += ["--disable-background-networking", "--disable-component-update", "--disable-sync"]
    result = subprocess.run(
        [binary, *flags, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=90
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_page_renders_and_prints_in_chromium(dossier: Dossier, tmp_path: Path) -> None:
    page = (dossier.dirs["supervisor"] / "index.html").as_uri()
    png, pdf = tmp_path / "page.png", tmp_path / "page.pdf"
    _chromium("--window-size=1280,2000", f"--screenshot={png}", page, profile=tmp_path / "profile")
    width, height, pixels = _png_pixels(png)
    assert (width, height) == (1280, 2000)
    assert len(set(pixels)) > 50  # text, bars and rules, not a blank page
    _chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", page, profile=tmp_path / "profile")
    blob = pdf.read_bytes()
    assert blob.startswith(b"%PDF")
    assert blob.count(b"/Type /Page") - blob.count(b"/Type /Pages") > 1
