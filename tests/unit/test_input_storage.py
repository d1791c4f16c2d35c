"""When the storage is the problem, the CLI says which: a read-only or unreadable SWFLOW_HOME, a
damaged archive, a full disk (nothing half-written), a reader that closed the pipe."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import event

from swflow import domain
from swflow.app.cli.main import main
from swflow.config.settings import get_settings
from swflow.db.engine import engine_for

ROOT = Path(__file__).resolve().parents[2]


def rows() -> int:
    """Every row of every table of the archive."""
    with closing(sqlite3.connect(get_settings().home / "archive.db")) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return sum(int(db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in tables)


@contextmanager
def _as_someone_else() -> Iterator[None]:
    """File permissions bind root only when it acts as another user (the suite may run as root)."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@pytest.fixture
def locked_home(archive_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the archive in a home nobody may write (mode 555, the archive 444)."""
    home = Path(tempfile.mkdtemp(prefix="swflow-ro-"))
    shutil.copy(archive_home / "archive.db", home / "archive.db")
    (home / "archive.db").chmod(0o444)
    home.chmod(0o555)
    monkeypatch.setenv("SWFLOW_HOME", str(home))
    get_settings.cache_clear()
    yield home
    home.chmod(0o755)
    shutil.rmtree(home)
    get_settings.cache_clear()


def test_a_read_only_home_is_named_not_sent_to_init(locked_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with _as_someone_else():
        code = main(["status"])
    err = capsys.readouterr().err
    assert code == 1
    assert f"SWFLOW_HOME {locked_home} 不可写" in err
    assert "swflow init`" not in err and "Traceback" not in err


def test_an_unreadable_archive_is_named(locked_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (locked_home / "archive.db").chmod(0o000)
    with _as_someone_else():
        code = main(["people", "list"])
    assert code == 1
    assert "不可读" in capsys.readouterr().err


def test_init_in_a_read_only_home_says_so(locked_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with _as_someone_else():
        code = main(["init"])
    err = capsys.readouterr().err
    assert code == 1
    assert "不可写" in err and "Traceback" not in err


@pytest.mark.tampers
def test_a_damaged_archive_is_named_as_damaged(archive_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (archive_home / "archive.db").write_bytes(b"this is not a database" * 100)
    assert main(["status"]) == 1
    err = capsys.readouterr().err
    assert "已损坏" in err and "Traceback" not in err


@pytest.fixture
def full_disk(people: Any) -> Iterator[None]:
    """The archive may not grow by one page: what SQLite answers on a full disk ("database or disk is full")."""
    engine = engine_for(get_settings().archive_url)

    def _limit(connection: Any, _record: Any) -> None:
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(engine, "connect", _limit)
    engine.dispose()
    yield
    event.remove(engine, "connect", _limit)
    engine.dispose()


def _people_file(tmp_path: Path, count: int) -> Path:
    people = [
        {"id": f"w{i:04d}.worker", "name": "社工" * 20, "roles": ["worker"], "notify": [f"json://127.0.0.1:9/{i}"]}
        for i in range(count)
    ]
    path = tmp_path / "many.yaml"
    path.write_text(yaml.safe_dump({"people": people}, allow_unicode=True), encoding="utf-8")
    return path


def test_a_write_on_a_full_disk_is_a_sentence_and_keeps_nothing(
    full_disk: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from swflow.domain.people.records import list_people

    before = list_people()
    assert main(["people", "import", str(_people_file(tmp_path, 400))]) == 1

    err = capsys.readouterr().err
    assert "磁盘已满" in err and "没有保存" in err and "Traceback" not in err
    assert list_people() == before


@contextmanager
def _prefect_api_that_records(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A real HTTP server on 127.0.0.1 standing in for the Prefect API: it notes every request and
    answers 503, so a run could only be made if swflow asked for one."""
    import http.server
    import threading

    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            seen.append(f"{self.command} {self.path}")
            self.send_response(503)
            self.end_headers()

        do_GET = do_POST = do_PATCH = do_DELETE = _answer

        def log_message(self, *_: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("SWFLOW_PREFECT_PORT", str(server.server_address[1]))
    get_settings.cache_clear()
    try:
        yield seen
    finally:
        server.shutdown()
        server.server_close()


def test_a_launch_refused_on_a_full_disk_asks_the_server_for_no_run(
    full_disk: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The project is recorded before its run is created: when the archive cannot take it, no run
    is made that would have no project (issue 21)."""
    argv = ["launch", "elderly-care-brief", "--name", "满盘", "--community", "幸福社区", "--manager", "zhou.pm",
            "--supervisor", "li.supervisor", "--worker", "wang.worker"]  # fmt: skip
    before = rows()
    with _prefect_api_that_records(monkeypatch) as seen:
        assert main(argv) == 1
    err = capsys.readouterr().err
    assert "磁盘已满" in err and "Traceback" not in err
    assert [r for r in seen if r.startswith("POST")] == []  # no flow run asked for
    assert rows() == before and domain.list_projects() == []


def test_a_reader_that_closes_the_pipe_gets_no_traceback(project_id: str, archive_home: Path) -> None:
    """`swflow status | head`: the reader goes away before swflow writes a line."""
    env = {**os.environ, "SWFLOW_HOME": str(archive_home)}
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; from swflow.app.cli import main; sys.exit(main())", "status"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # swflow needs far longer than this to start, so its first write meets a closed pipe
    err = process.stderr.read().decode()
    assert process.wait(timeout=60) in (0, 141)
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err
    assert domain.project_status(project_id)  # nothing happened to the archive
