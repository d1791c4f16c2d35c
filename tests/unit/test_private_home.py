"""Only the agency reads its archive: what swflow writes is its owner's alone, serve says when a mode is
looser, and a person who left sees nothing sensitive."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from swflow import domain
from swflow.app.serve.supervisor import loose_modes
from swflow.config.settings import get_settings
from swflow.db import read_session
from swflow.db.tables import Project
from swflow.domain.people.visibility import may_see_sensitive

from ._support import DIRECTOR, NOW


def _modes(home: Path) -> dict[str, str]:
    return {p.name: f"{p.stat().st_mode & 0o777:04o}" for p in [home, *home.iterdir()]}


def test_init_makes_a_home_only_its_owner_reads(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWFLOW_")} | {"SWFLOW_HOME": str(home)}
    subprocess.run([sys.executable, "-m", "swflow.app.cli", "init"], env=env, check=True, capture_output=True)
    modes = _modes(home)
    assert modes == {
        "home": "0700",
        "archive.db": "0600",
        "swflow.env": "0600",
        "keys": "0700",
        "checkpoints.jsonl": "0600",
    }
    key_mode = (home / "keys" / "checkpoint.pem").stat().st_mode & 0o777
    assert key_mode == 0o600  # the signing key
    text = (home / "swflow.env").read_text(encoding="utf-8")
    assert "SWFLOW_PREFECT_AUTH=swflow:" in text and "SWFLOW_WEB_SECRET=" in text  # made at init


def test_an_export_is_its_owners_only(project_id: str, tmp_path: Path) -> None:
    from swflow.app.cli.main import main

    out = tmp_path / "dossier"
    assert main(["archive", "export", project_id, "--out", str(out)]) == 0
    assert {p.name: f"{p.stat().st_mode & 0o777:04o}" for p in out.iterdir()} == {
        "index.html": "0600",
        "data.json": "0600",
        "tables.xlsx": "0600",
    }


def test_serve_names_every_mode_that_others_could_read(archive_home: Path) -> None:
    (archive_home / "swflow.env").write_text("# settings\n", encoding="utf-8")
    (archive_home / "swflow.env").chmod(0o644)
    archive_home.chmod(0o755)
    (archive_home / "archive.db").chmod(0o644)
    warnings = loose_modes(get_settings())
    assert len(warnings) == 3 and all("本机其他用户可以读取" in w for w in warnings)
    archive_home.chmod(0o700)
    for name in ("swflow.env", "archive.db"):
        (archive_home / name).chmod(0o600)
    assert loose_modes(get_settings()) == []


def test_a_director_who_left_sees_nothing_sensitive(project_id: str, people: Any) -> None:
    with read_session() as session:
        project = session.get_one(Project, project_id)
        assert may_see_sensitive(session, project, DIRECTOR)
    director = next(p for p in people if p.id == DIRECTOR)
    domain.import_people([director.model_copy(update={"active": False})], "test", NOW)
    with read_session() as session:
        assert not may_see_sensitive(session, session.get_one(Project, project_id), DIRECTOR)
