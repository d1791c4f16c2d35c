"""The outbox end to end over real channels (e-mail, webhooks, WeCom/DingTalk/Feishu robots), and the local
servers that stand in for them (aiosmtpd, a webhook receiver, the robots' APIs), also used by test_channel_senders."""

from __future__ import annotations

import email
import json
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from swflow import db, domain
from swflow.app.receiver import Receiver
from swflow.app.samples import people_yaml
from swflow.config.clock import SHANGHAI, fixed_clock
from swflow.config.settings import get_settings
from swflow.domain.outbox.records import retry_delay
from swflow.notifications import AppriseSender, DispatchReport, dispatch_once
from swflow.notifications.message_ids import FIELD, HEADER
from swflow.notifications.robots import ROBOT_SCHEMES, RobotSender

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)  # a Monday with no holiday near it
SENDER = "swflow@example.org"
WANG = "wang.worker@example.org"
TITLE = "【swflow】P-0A1B2C 需求评估：有待您填写的表单"
BODY = "您好，王社工：\n\n项目「幸福社区独居老人关爱」的阶段「需求评估」已开放。\n  - 需求评估表\n查看：http://127.0.0.1:4200"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _flat(text: str) -> str:
    return "".join(text.split())


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps every envelope it is given."""

    port: int = 0
    envelopes: list[Envelope] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def url(self, to: str) -> str:
        """`mailto://DOMAIN:PORT?smtp=HOST&mode=insecure&from=FROM&to=TO` speaks plain SMTP to HOST:PORT.

        `mailto://` (not `mailtos://`) defaults to mode=insecure (no STARTTLS; stated here anyway); with no
        user:password in the URL apprise does no AUTH. Without `smtp=` the host part is the SMTP server.
        """
        return f"mailto://example.org:{self.port}?smtp=127.0.0.1&mode=insecure&from={SENDER}&to={to}"

    def messages(self) -> list[EmailMessage]:
        """The envelopes' contents parsed with the modern policy (decoded headers, `get_body`)."""
        parsed = [
            email.message_from_bytes(bytes(e.original_content or b""), policy=policy.default) for e in self.envelopes
        ]
        return [m for m in parsed if isinstance(m, EmailMessage)]


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=_free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port bound but not listening: connecting is refused, and no one else can take it meanwhile."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


@pytest.fixture(scope="module")
def _running_receiver() -> Iterator[Receiver]:
    """One receiver per module: stopping one takes half a second (serve_forever polls for shutdown)."""
    with Receiver(fail_paths=set()) as r:
        yield r


@pytest.fixture
def receiver(_running_receiver: Receiver) -> Iterator[Receiver]:
    """The module's receiver, empty and with every path healthy."""
    _running_receiver.messages.clear()
    _running_receiver.fail_paths.clear()
    yield _running_receiver
    _running_receiver.fail_paths.clear()


# --- WeCom, DingTalk, Feishu/Lark: swflow's own sender against the services' APIs on 127.0.0.1 ---------------------


class RobotService:
    """Answers as the WeCom, DingTalk and Feishu robot APIs do (HTTP 200, a code in the body) and
    keeps every request as the service reads it: path, query (decoded once) and JSON body."""

    OK = {"/cgi-bin/webhook/send": {"errcode": 0, "errmsg": "ok"}, "/robot/send": {"errcode": 0, "errmsg": "ok"}}
    FEISHU_OK = {"code": 0, "msg": "success", "data": {}}

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, list[str]], dict[str, Any]]] = []
        self.answer: dict[str, Any] | None = None  # instead of success
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                parts = urlsplit(self.path)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                service.requests.append((parts.path, parse_qs(parts.query), body))
                answer = service.answer or service.OK.get(parts.path, service.FEISHU_OK)
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def sender(self) -> AppriseSender:
        return AppriseSender(RobotSender(bases=dict.fromkeys(ROBOT_SCHEMES, self.base)))


@pytest.fixture(scope="module")
def _robot_service() -> Iterator[RobotService]:
    service = RobotService()
    yield service
    service.server.shutdown()
    service.server.server_close()


@pytest.fixture
def robots(_robot_service: RobotService) -> RobotService:
    _robot_service.requests.clear()
    _robot_service.answer = None
    return _robot_service


CHINESE_SERVICES = [
    pytest.param(
        "wecombot://a1b2c3-KEY", "/cgi-bin/webhook/send", {"key": ["a1b2c3-KEY"]}, ("text", "content"), id="wecom"
    ),
    pytest.param(
        "dingtalk://0f1e2d3c4b5a/",
        "/robot/send",
        {"access_token": ["0f1e2d3c4b5a"]},
        ("text", "content"),
        id="dingtalk",
    ),
    pytest.param(
        "feishu://2d1f0e3a-7b6c-4d5e-9f8a-1b2c3d4e5f60",
        "/open-apis/bot/v2/hook/2d1f0e3a-7b6c-4d5e-9f8a-1b2c3d4e5f60",
        {},
        ("content", "text"),
        id="feishu",
    ),
    pytest.param(
        "lark://2d1f0e3a-7b6c-4d5e-9f8a-1b2c3d4e5f60",
        "/open-apis/bot/v2/hook/2d1f0e3a-7b6c-4d5e-9f8a-1b2c3d4e5f60",
        {},
        ("content", "text"),
        id="lark",
    ),
]


# --- end to end: outbox -> dispatcher -> both channels ---------------------------------------------------------------


@pytest.fixture
def archive_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh SWFLOW_HOME with a migrated SQLite archive; no other SWFLOW_* setting leaks in."""
    for name in [n for n in os.environ if n.startswith("SWFLOW_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SWFLOW_HOME", str(tmp_path))
    get_settings.cache_clear()
    db.migrate()
    yield tmp_path
    get_settings.cache_clear()


def _wang_told(receiver: Receiver, channels: list[str]) -> str:
    """The sample team with the lead worker on `channels`; assessment opened (one message per channel)."""
    people = domain.PeopleFile.model_validate(yaml.safe_load(people_yaml(receiver.url))).people
    wang = next(p for p in people if p.id == "wang.worker")
    wang.notify = channels
    domain.import_people(people, actor="test", now=NOW)
    request = domain.LaunchRequest(
        template_id="elderly-care-brief",
        name="幸福社区独居老人关爱",
        community="幸福社区",
        manager_id="zhou.pm",
        supervisor_id="li.supervisor",
        worker_ids=["wang.worker"],
    )
    plan = domain.prepare_launch(request, NOW.date())
    domain.record_launch(plan, "00000000-0000-0000-0000-000000000001", NOW)
    domain.open_stage(plan.project_id, "assessment", NOW)
    return plan.project_id


@pytest.fixture
def wang_told_twice(archive_home: Path, mailbox: Mailbox, receiver: Receiver) -> str:
    """Wang on e-mail and a JSON webhook."""
    return _wang_told(receiver, [mailbox.url(WANG), f"{receiver.url}/wang.worker"])


def test_each_channel_gets_the_message_once(wang_told_twice: str, mailbox: Mailbox, receiver: Receiver) -> None:
    assert dispatch_once(clock=fixed_clock(NOW)) == DispatchReport(sent=2)
    assert dispatch_once(clock=fixed_clock(NOW + timedelta(days=1))) == DispatchReport()

    [mail] = mailbox.messages()
    [posted] = receiver.for_path("/wang.worker")
    assert mailbox.envelopes[0].rcpt_tos == [WANG]
    assert mail["Subject"] == posted["title"] and wang_told_twice in posted["title"] and "需求评估" in posted["title"]
    assert "王社工" in posted["message"] and "需求评估" in posted["message"]
    plain = mail.get_body(preferencelist=("plain",))
    assert plain is not None
    mail_text, _, mail_id = plain.get_content().strip().rpartition("\n")
    posted_text, _, posted_id = posted["message"].rpartition("\n")
    assert _flat(mail_text) == _flat(posted_text)
    assert (
        mail_id.startswith("消息编号：swflow-") and posted_id.startswith("消息编号：swflow-") and mail_id != posted_id
    )
    assert receiver.messages == [("/wang.worker", posted)]
    assert [m["status"] for m in domain.list_messages()] == ["sent", "sent"]


def test_a_channel_that_is_down_delays_the_message_and_never_loses_it(
    wang_told_twice: str, mailbox: Mailbox, receiver: Receiver
) -> None:
    receiver.fail_paths.add("/wang.worker")

    assert dispatch_once(clock=fixed_clock(NOW)) == DispatchReport(sent=1, retrying=1)
    assert len(mailbox.envelopes) == 1 and receiver.messages == []
    [waiting] = [m for m in domain.list_messages() if m["status"] == "pending"]
    assert waiting["attempts"] == 1 and waiting["last_error"]
    assert domain.list_messages(failed_only=True) == [waiting]
    assert dispatch_once(clock=fixed_clock(NOW + timedelta(seconds=1))) == DispatchReport()  # still backing off

    receiver.fail_paths.discard("/wang.worker")
    later = NOW + retry_delay(1) + timedelta(seconds=1)
    assert dispatch_once(clock=lambda: later) == DispatchReport(sent=1)
    assert dispatch_once(clock=lambda: later + timedelta(hours=2)) == DispatchReport()

    assert len(receiver.for_path("/wang.worker")) == 1 and len(mailbox.envelopes) == 1
    assert [m["status"] for m in domain.list_messages()] == ["sent", "sent"]
    assert domain.list_messages(failed_only=True) == []


def test_a_message_still_refused_after_max_attempts_is_failed_and_listed(
    wang_told_twice: str, monkeypatch: pytest.MonkeyPatch, mailbox: Mailbox, receiver: Receiver
) -> None:
    monkeypatch.setenv("SWFLOW_MAX_SEND_ATTEMPTS", "3")
    get_settings.cache_clear()
    receiver.fail_paths.add("/wang.worker")

    moment, reports = NOW, []
    for attempt in (1, 2, 3):
        reports.append(dispatch_once(clock=fixed_clock(moment)))
        moment += retry_delay(attempt) + timedelta(seconds=1)

    assert reports == [DispatchReport(sent=1, retrying=1), DispatchReport(retrying=1), DispatchReport(failed=1)]
    [failed] = domain.list_messages(failed_only=True)
    assert failed["status"] == "failed" and failed["attempts"] == 3 and failed["last_error"]
    assert failed["project"] == wang_told_twice and failed["recipient"] == "wang.worker"

    receiver.fail_paths.discard("/wang.worker")
    assert dispatch_once(clock=fixed_clock(moment + timedelta(days=1))) == DispatchReport()  # failed is final
    assert receiver.messages == [] and len(mailbox.envelopes) == 1


def test_a_robot_refusing_in_a_200_answer_keeps_the_message_in_the_outbox(
    archive_home: Path, robots: RobotService, receiver: Receiver
) -> None:
    """What apprise lost (marked sent) is retried, then delivered when the robot accepts it."""
    _wang_told(receiver, ["dingtalk://0f1e2d3c4b5a/"])
    robots.answer = {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}

    assert dispatch_once(robots.sender(), clock=fixed_clock(NOW)) == DispatchReport(retrying=1)
    [waiting] = domain.list_messages(failed_only=True)
    assert waiting["status"] == "pending" and "130101" in waiting["last_error"]

    robots.answer = None
    later = NOW + retry_delay(1) + timedelta(seconds=1)
    assert dispatch_once(robots.sender(), clock=fixed_clock(later)) == DispatchReport(sent=1)
    assert len(robots.requests) == 2 and [m["status"] for m in domain.list_messages()] == ["sent"]


# --- the message id: a receiver can drop a repeat -------------------------------------------------------------------


def _expected_id() -> str:
    [row] = domain.list_messages()
    assert row["status"] == "sent"
    return f"swflow-{row['id']}-"


def test_email_carries_the_message_id_in_a_header(archive_home: Path, mailbox: Mailbox, receiver: Receiver) -> None:
    _wang_told(receiver, [mailbox.url(WANG)])

    assert dispatch_once(clock=fixed_clock(NOW)) == DispatchReport(sent=1)

    [mail] = mailbox.messages()
    header = mail[HEADER]
    assert header.startswith(_expected_id()) and mail.get_all(HEADER) == [header]
    assert len(mail.get_all("Message-ID") or []) == 1  # apprise's own stays single
    plain = mail.get_body(preferencelist=("plain",))
    assert plain is not None and plain.get_content().strip().endswith(f"消息编号：{header}")


@pytest.mark.parametrize("scheme", ["json", "form"])
def test_webhook_carries_the_message_id_as_a_field(archive_home: Path, receiver: Receiver, scheme: str) -> None:
    _wang_told(receiver, [receiver.url.replace("json://", f"{scheme}://", 1) + "/wang.worker"])

    assert dispatch_once(clock=fixed_clock(NOW)) == DispatchReport(sent=1)

    [payload] = receiver.for_path("/wang.worker")
    fields = payload if scheme == "json" else {k: v for k, [v] in parse_qs(payload["raw"]).items()}
    assert fields[FIELD].startswith(_expected_id())
    assert fields["message"].endswith(f"消息编号：{fields[FIELD]}")


@pytest.mark.parametrize(("url", "path", "query", "text_at"), CHINESE_SERVICES)
def test_robot_text_ends_with_the_message_id(
    archive_home: Path,
    robots: RobotService,
    receiver: Receiver,
    url: str,
    path: str,
    query: dict[str, list[str]],
    text_at: tuple[str, str],
) -> None:
    _wang_told(receiver, [url])

    assert dispatch_once(robots.sender(), clock=fixed_clock(NOW)) == DispatchReport(sent=1)

    [(got_path, got_query, payload)] = robots.requests
    outer, inner = text_at
    last_line = payload[outer][inner].rsplit("\n", 1)[-1]
    assert (got_path, got_query) == (path, query)
    assert last_line.startswith(f"消息编号：{_expected_id()}")
