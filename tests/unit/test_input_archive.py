"""`archive export` writes nothing it has not recorded and never through a link; `archive import`
of a file that is not a whole export, `--now` that is not a time and a launch name too long are
each a sentence (exit 2) with nothing written."""

from __future__ import annotations

import json
import resource
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from swflow import domain
from swflow.app.cli.main import main
from swflow.config.settings import get_settings
from swflow.db.engine import engine_for

from ._support import MANAGER, SUPERVISOR, WORKER
from .test_input_storage import rows


def _events(project_id: str) -> list[str]:
    return [e["kind"] for e in domain.project_events(project_id)]


def _export(project_id: str, out: Path) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    return main(["archive", "export", project_id, "--out", str(out)])


def test_export_records_then_writes_the_three_files(project_id: str, tmp_path: Path) -> None:
    assert _export(project_id, tmp_path / "out" / "dossier") == 0
    assert sorted(p.name for p in (tmp_path / "out" / "dossier").iterdir()) == [
        "data.json",
        "index.html",
        "tables.xlsx",
    ]
    assert _events(project_id)[-1] == "archive.exported"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["dossier"]  # no staging folder left beside it


@pytest.mark.parametrize("case", ["out-is-link", "out-is-file", "no-parent", "data-json-is-link", "html-is-dir"])
def test_export_refuses_an_out_that_would_write_elsewhere(
    project_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    secret = tmp_path / "elsewhere.txt"
    secret.write_text("untouched", encoding="utf-8")
    out = tmp_path / "dossier"
    if case == "out-is-link":
        (tmp_path / "real").mkdir()
        out.symlink_to(tmp_path / "real")
    elif case == "out-is-file":
        out.write_text("a file", encoding="utf-8")
    elif case == "no-parent":
        out = tmp_path / "no" / "such" / "dossier"
    else:
        out.mkdir()
        if case == "data-json-is-link":
            (out / "data.json").symlink_to(secret)
        else:
            (out / "index.html").mkdir()
    names = sorted(p.name for p in tmp_path.rglob("*"))
    before = _events(project_id)

    assert main(["archive", "export", project_id, "--out", str(out)]) == 2

    err = capsys.readouterr().err
    assert "--out" in err and "Traceback" not in err
    assert secret.read_text(encoding="utf-8") == "untouched"
    assert sorted(p.name for p in tmp_path.rglob("*")) == names
    assert _events(project_id) == before


@pytest.fixture
def archive_locked(project_id: str) -> Iterator[None]:
    """Another process holds the archive's write lock, and swflow waits for it only briefly."""
    engine = engine_for(get_settings().archive_url)

    def _impatient(connection: Any, _record: Any) -> None:
        connection.execute("PRAGMA busy_timeout = 200")

    event.listen(engine, "connect", _impatient)
    engine.dispose()
    with closing(sqlite3.connect(get_settings().home / "archive.db", isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        yield
        other.execute("ROLLBACK")
    event.remove(engine, "connect", _impatient)
    engine.dispose()


def test_an_export_that_cannot_be_recorded_leaves_no_files(
    project_id: str, archive_locked: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _export(project_id, tmp_path / "out" / "dossier") == 1
    err = capsys.readouterr().err
    assert "档案库正忙" in err and "Traceback" not in err
    assert list((tmp_path / "out").iterdir()) == []


def test_an_export_that_runs_out_of_space_leaves_nothing_and_records_nothing(
    project_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No file may grow past 4 KiB while it runs: writes fail as on a full disk (EFBIG, not ENOSPC)."""
    before = _events(project_id)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))
    try:
        code = _export(project_id, tmp_path / "out" / "dossier")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    err = capsys.readouterr().err
    assert code == 1
    assert "导出没有完成" in err and "Traceback" not in err
    assert list((tmp_path / "out").iterdir()) == []
    assert _events(project_id) == before


@pytest.fixture
def exported(project_id: str, tmp_path: Path) -> dict[str, Any]:
    assert _export(project_id, tmp_path / "dossier") == 0
    data: dict[str, Any] = json.loads((tmp_path / "dossier" / "data.json").read_text(encoding="utf-8"))
    return data


def _shapes(data: dict[str, Any]) -> dict[str, str]:
    return {
        "truncated": json.dumps(data)[:300],
        "a list": "[1, 2, 3]",
        "no format": json.dumps({**data, "format": "other"}),
        "events a mapping": json.dumps({**data, "events": {"a": 1}}),
        "people numbers": json.dumps({**data, "people": [1, 2]}),
        "project without id": json.dumps({**data, "project": {"name": "x"}}),
        "stage with bad time": json.dumps({**data, "stages": [{**data["stages"][0], "opened_at": "yesterday"}]}),
        "stage id a word": json.dumps({**data, "stages": [{**data["stages"][0], "id": "one"}]}),
        "another project's row": json.dumps({**data, "members": [{**data["members"][0], "project_id": "P-OTHER"}]}),
        "nan": json.dumps(data).replace('"masked": true', '"masked": NaN'),
    }


@pytest.mark.parametrize(
    "shape",
    [
        "truncated",
        "a list",
        "no format",
        "events a mapping",
        "people numbers",
        "project without id",
        "stage with bad time",
        "stage id a word",
        "another project's row",
        "nan",
    ],
)
def test_importing_a_file_that_is_not_a_whole_export_writes_nothing(
    exported: dict[str, Any], project_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], shape: str
) -> None:
    path = tmp_path / "data.json"
    path.write_text(_shapes({**exported, "project": {**exported["project"], "id": "P-NEW001"}})[shape], "utf-8")
    before = rows()

    assert main(["archive", "import", str(path)]) == 2

    err = capsys.readouterr().err
    assert err.startswith("错误：") and "Traceback" not in err
    assert rows() == before


def test_importing_a_huge_file_is_refused_before_it_is_read(
    archive_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SWFLOW_MAX_INPUT_BYTES", "100000")
    path = tmp_path / "data.json"
    path.write_text('{"format": "swflow-project-archive", "pad": "' + "x" * 200_000 + '"}', encoding="utf-8")
    assert main(["archive", "import", str(path)]) == 2
    assert "文件超过 100000 字节" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["archive", "due-for-review"], ["sweep"]])
def test_now_that_is_not_a_time_names_the_option_and_the_format(
    archive_home: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert main([*argv, "--now", "garbage"]) == 2
    err = capsys.readouterr().err
    assert "--now：garbage 不是 ISO 8601 时间（例如 2026-03-02T09:00:00" in err


def test_a_launch_name_over_200_characters_names_the_field_in_chinese(
    people: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["launch", "elderly-care-brief", "--name", "关" * 201, "--community", "幸福社区"]
    code = main([*argv, "--manager", MANAGER, "--supervisor", SUPERVISOR, "--worker", WORKER])
    err = capsys.readouterr().err
    assert code == 2
    assert "名称（--name）：最多 200 个字" in err
    assert "String should" not in err and "Traceback" not in err
