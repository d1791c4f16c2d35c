"""Shared fixtures: a pre-migrated Prefect database, receivers, and served homes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from swflow.app.local import Home, form_data, people_file  # noqa: F401  (re-exported for the tests)
from swflow.app.local import new_home as _new_home
from swflow.app.receiver import Receiver

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "app" / "samples"


@pytest.fixture(scope="session")
def prefect_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Prefect's database migrated once per session; each served home starts from a copy."""
    home = tmp_path_factory.mktemp("prefect-template")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(home)
    subprocess.run(
        [sys.executable, "-m", "prefect", "server", "database", "upgrade", "-y"],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return home / "prefect.db"


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def new_home(path: Path, receiver: Receiver, prefect_db: Path) -> Home:
    return _new_home(path, receiver.url, prefect_db)


@pytest.fixture
def fresh_home(tmp_path: Path, receiver: Receiver, prefect_db: Path) -> Iterator[Home]:
    """A home of the test's own (initialised, people imported); its serve is stopped after."""
    home = new_home(tmp_path, receiver, prefect_db)
    yield home
    home.stop_serve()


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver, prefect_db: Path) -> Iterator[Home]:
    """One running `swflow serve` shared by the tests of a session."""
    home = new_home(tmp_path_factory.mktemp("served"), receiver, prefect_db)
    home.start_serve()
    yield home
    home.stop_serve()
