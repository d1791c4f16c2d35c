"""The web door under test: the app served by a real uvicorn on 127.0.0.1 in this process, against a
real SQLite archive, driven by real headless Chromium (Debian's, through Playwright). Without a
Chromium on the machine the browser tests skip and say why; `.ci/run` installs it."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit._support import NOW

# the archive and the sample project of the unit tier (same fixtures, same sample team)
from tests.unit.conftest import (  # noqa: F401
    _migrated_archive,
    _parsed_form_samples,
    archive_home,
    awaiting_assessment,
    launch,
    pass_stage,
    people,
    project_id,
    sample_forms,
)

CHROMIUM = os.environ.get("SWFLOW_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
PASSWORD = "幸福社区-2026-长密码"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def web_home(archive_home: Path, people: Any, monkeypatch: pytest.MonkeyPatch) -> Path:  # noqa: F811
    """The unit tier's archive with the sample people, a signing key and the clock at NOW."""
    from swflow.config.settings import get_settings

    monkeypatch.setenv("SWFLOW_WEB_SECRET", "test-web-secret-" + "x" * 24)
    monkeypatch.setenv("SWFLOW_NOW", NOW.isoformat())
    monkeypatch.setenv("SWFLOW_HOLD_OUTSIDE_WORKING_HOURS", "false")
    get_settings.cache_clear()
    return archive_home


@pytest.fixture
def web(web_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The web app on a free port of 127.0.0.1, served by uvicorn in a thread; yields its base URL."""
    import uvicorn

    from swflow.app.web import create_app
    from swflow.config.settings import get_settings

    port = _free_port()
    monkeypatch.setenv("SWFLOW_WEB_PORT", str(port))
    get_settings.cache_clear()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the web app did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def give_password() -> Callable[[str], str]:
    """Give a person on record a password the way a person does: the invitation link, then the form's act."""
    from swflow.config.clock import system_clock
    from swflow.domain.agency import invite_person
    from swflow.domain.people.accounts import set_password_by_link

    def _give(person_id: str, password: str = PASSWORD) -> str:
        url = invite_person(person_id, "invite", "test", system_clock())
        set_password_by_link(url.rsplit("/", 1)[1], password, system_clock())
        return password

    return _give


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    """pytest-playwright launches Debian's Chromium: Playwright cannot download browsers here."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"没有 Chromium（{CHROMIUM}）：浏览器测试跳过；.ci/run 会安装 Debian 的 chromium")
    return {"executable_path": CHROMIUM, "args": ["--no-sandbox", "--disable-gpu"]}


@pytest.fixture
def shots(tmp_path: Path) -> Callable[..., Path]:
    """Save a screenshot of the page (kept under the test's tmp dir) and check it is not blank and
    that Chinese text was rendered."""

    def _shot(page: Any, name: str) -> Path:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        text = page.inner_text("body")
        assert any("\u4e00" <= ch <= "\u9fff" for ch in text), f"{name}: no Chinese text on the page"
        colours = page.evaluate(
            """async (data) => {
                const img = new Image(); img.src = data; await img.decode();
                const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
                const g = c.getContext('2d'); g.drawImage(img, 0, 0);
                const px = g.getImageData(0, 0, c.width, c.height).data; const seen = new Set();
                for (let i = 0; i < px.length; i += 4 * 97) seen.add(px[i] << 16 | px[i+1] << 8 | px[i+2]);
                return seen.size; }""",
            "data:image/png;base64," + __import__("base64").b64encode(path.read_bytes()).decode(),
        )
        assert colours > 8, f"{name}: the screenshot looks blank ({colours} colours)"
        return path

    return _shot


def sign_in(page: Any, base: str, person_id: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.fill("#person_id", person_id)
    page.fill("#password", password)
    page.click("button[type=submit]")
