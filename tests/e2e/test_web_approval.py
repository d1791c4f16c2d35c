"""A supervisor approves from the e-mail, as it happens at an agency: a real `swflow serve` (Prefect,
runner, dispatcher, web app), a real SMTP server, the signed link taken from the mail and opened in
Chromium; the run goes on and the next stage opens for the worker. The same link again is refused."""

from __future__ import annotations

import email
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from swflow.app.receiver import Receiver
from tests.conftest import form_data, people_file
from tests.support.swflow_proc import Home, wait_for
from tests.web.conftest import PHONE, browser_type_launch_args  # noqa: F401  (Debian's Chromium)

pytestmark = [pytest.mark.prefect, pytest.mark.browser]

WORKER, SUPERVISOR, MANAGER = "wang.worker", "li.supervisor", "zhou.pm"
LI = "li.supervisor@example.org"


@dataclass
class Mailbox:
    """An aiosmtpd handler keeping every message it is given."""

    port: int = 0
    envelopes: list[Envelope] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def url(self, to: str) -> str:
        return f"mailto://example.org:{self.port}?smtp=127.0.0.1&mode=insecure&from=swflow@example.org&to={to}"

    def bodies(self) -> list[str]:
        texts = []
        for envelope in list(self.envelopes):
            message = email.message_from_bytes(bytes(envelope.original_content or b""), policy=policy.default)
            assert isinstance(message, EmailMessage)
            part = message.get_body(preferencelist=("plain",))
            texts.append(part.get_content() if part is not None else "")
        return texts


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    box = Mailbox(port=port)
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box
    controller.stop()


def _supervisor_by_mail(home: Home, receiver: Receiver, mailbox: Mailbox, tmp_path: Path) -> None:
    path = people_file(tmp_path, receiver.url)
    people: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    for person in people["people"]:
        if person["id"] == SUPERVISOR:
            person["notify"] = [mailbox.url(LI)]
    path.write_text(yaml.safe_dump(people, allow_unicode=True), encoding="utf-8")
    home.cli("people", "import", str(path))


def _open_forms(home: Home, project: str, stage: str) -> list[str]:
    s = home.stage(project, stage)
    return [i["form"] for i in s["work_items"] if i["round"] == s["round"] and i["status"] == "open"]


def _web_up(home: Home) -> bool:
    try:
        return httpx.get(f"{home.web}/login", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_supervisor_approves_from_the_email_link_and_planning_opens_for_the_worker(
    fresh_home: Home, receiver: Receiver, mailbox: Mailbox, browser: Any, tmp_path: Path
) -> None:
    home = fresh_home
    _supervisor_by_mail(home, receiver, mailbox, tmp_path)
    home.start_serve()
    wait_for("the web app", lambda: _web_up(home))
    project = home.cli(
        "launch", "elderly-care-brief", "--name", "邮件审核", "--community", "幸福社区",
        "--manager", MANAGER, "--supervisor", SUPERVISOR, "--worker", WORKER,
    ).stdout.strip()  # fmt: skip
    wait_for("assessment open", lambda: _open_forms(home, project, "assessment"))
    home.cli(
        "submit", project, "needs-assessment", "--by", WORKER, "--data", str(form_data(tmp_path, "needs-assessment"))
    )

    mail = wait_for("the approval e-mail", lambda: [b for b in mailbox.bodies() if "一键审核：" in b])[0]
    assert "swflow approve" not in mail and "赵某某" not in mail  # no command to type, no case details
    link = re.search(r"一键审核：(\S+)", mail)
    assert link is not None and link.group(1).startswith(f"{home.web}/l/")
    assert f"查看：{home.web}/gates/{project}/assessment" in mail

    page = browser.new_page(viewport=PHONE)
    page.goto(link.group(1))
    assert page.locator("h1").inner_text() == "一键审核"
    assert home.stage(project, "assessment")["status"] == "awaiting_decision"  # opening decided nothing
    page.click("#approve")
    assert page.locator("h1").inner_text() == "已记录您的决定"

    planning = wait_for("planning to open for the worker", lambda: _open_forms(home, project, "planning"))
    assert "service-plan" in planning
    assert home.stage(project, "assessment")["status"] == "approved"
    decided = [e for e in home.events(project) if e["kind"] == "gate.decided"]
    assert [(e["actor"], e["payload"]["outcome"]) for e in decided] == [(SUPERVISOR, "approve")]

    page.goto(link.group(1))
    assert page.locator("h1").inner_text() == "链接不能使用"
    assert "已经用过" in page.inner_text("body")
