"""Real delivery through AppriseSender, one message at a time: e-mail to aiosmtpd, webhooks to a local receiver,
and WeCom, DingTalk and Feishu/Lark robots to a local server answering as their APIs do (unreachable from here)."""

# ruff: noqa: F811 - the tests' parameters name the fixtures imported from test_channels
from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import parse_qs

import pytest

from swflow.app.receiver import Receiver
from swflow.notifications import AppriseSender
from swflow.notifications.robots import RobotSender, RobotTarget, parse_robot_url

from .test_channels import (  # noqa: F401  (fixtures)
    BODY,
    CHINESE_SERVICES,
    SENDER,
    TITLE,
    WANG,
    Mailbox,
    RobotService,
    _flat,
    _robot_service,
    _running_receiver,
    closed_port,
    mailbox,
    receiver,
    robots,
)

# --- e-mail -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url_form",
    [
        # the SMTP server as the host; the recipient in `to=` (or as the path: mailto://127.0.0.1:PORT/who@x)
        "mailto://127.0.0.1:{port}?mode=insecure&from={sender}&to={to}",
        # the mail domain as the host, the SMTP server in `smtp=`
        "mailto://example.org:{port}?smtp=127.0.0.1&mode=insecure&from={sender}&to={to}",
    ],
)
def test_email_arrives_with_chinese_subject_and_body(mailbox: Mailbox, url_form: str) -> None:
    url = url_form.format(port=mailbox.port, sender=SENDER, to=WANG)

    assert AppriseSender().send(url, TITLE, BODY) == (True, None)

    [envelope] = mailbox.envelopes
    assert envelope.mail_from == SENDER and envelope.rcpt_tos == [WANG]
    [message] = mailbox.messages()
    assert message["Subject"] == TITLE and message["To"] == WANG
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    assert _flat(text.get_content()) == _flat(BODY)


def test_email_keeps_the_lines_of_the_message(mailbox: Mailbox) -> None:
    AppriseSender().send(mailbox.url(WANG), TITLE, BODY)

    [message] = mailbox.messages()
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    assert text.get_content().strip().splitlines() == BODY.splitlines()


def test_smtp_server_that_is_down_gives_an_error_and_does_not_raise(closed_port: int) -> None:
    url = f"mailto://example.org:{closed_port}?smtp=127.0.0.1&mode=insecure&from={SENDER}&to={WANG}"

    ok, error = AppriseSender().send(url, TITLE, BODY)

    assert ok is False and error


# --- webhooks on 127.0.0.1 ----------------------------------------------------------------------------------------


def test_json_webhook_receives_title_and_body(receiver: Receiver) -> None:
    assert AppriseSender().send(f"{receiver.url}/wang.worker", TITLE, BODY) == (True, None)

    [payload] = receiver.for_path("/wang.worker")
    assert payload["title"] == TITLE and payload["message"] == BODY


def test_form_webhook_receives_title_and_body(receiver: Receiver) -> None:
    url = receiver.url.replace("json://", "form://", 1) + "/wang.worker"

    assert AppriseSender().send(url, TITLE, BODY) == (True, None)

    [payload] = receiver.for_path("/wang.worker")
    form = parse_qs(payload["raw"], strict_parsing=True)
    assert form["title"] == [TITLE] and form["message"] == [BODY]


@pytest.mark.parametrize("scheme", ["json", "form"])
def test_webhook_answering_503_gives_an_error(receiver: Receiver, scheme: str) -> None:
    receiver.fail_paths.add("/down")
    url = receiver.url.replace("json://", f"{scheme}://", 1) + "/down"

    ok, error = AppriseSender().send(url, TITLE, BODY)

    assert ok is False and error
    assert receiver.messages == []


def test_webhook_that_is_not_listening_gives_an_error(closed_port: int) -> None:
    ok, error = AppriseSender().send(f"json://127.0.0.1:{closed_port}/wang.worker", TITLE, BODY)

    assert ok is False and error


# --- WeCom, DingTalk, Feishu/Lark: swflow's own sender against the services' APIs on 127.0.0.1 ---------------------


@pytest.mark.parametrize(("url", "path", "query", "text_at"), CHINESE_SERVICES)
def test_chinese_service_gets_a_text_message_with_title_and_body(
    robots: RobotService, url: str, path: str, query: dict[str, list[str]], text_at: tuple[str, str]
) -> None:
    assert robots.sender().send(url, TITLE, BODY) == (True, None)

    [(got_path, got_query, payload)] = robots.requests
    assert (got_path, got_query) == (path, query)
    assert payload.get("msgtype", payload.get("msg_type")) == "text"
    outer, inner = text_at
    assert payload[outer][inner] == f"{TITLE}\n{BODY}"  # no title field in a text message: the first line


def test_the_public_endpoints_are_the_documented_ones() -> None:
    sender = RobotSender()
    for url, endpoint in [
        ("wecombot://KEY", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"),
        ("dingtalk://TOKEN/", "https://oapi.dingtalk.com/robot/send"),
        ("feishu://HOOK", "https://open.feishu.cn/open-apis/bot/v2/hook/HOOK"),
        ("lark://HOOK", "https://open.larksuite.com/open-apis/bot/v2/hook/HOOK"),
    ]:
        target = parse_robot_url(url)
        assert target is not None and sender.request(target, "x")[0] == endpoint


def test_tokens_keep_their_case_and_other_urls_are_left_to_apprise() -> None:
    assert parse_robot_url("wecombot://AbC-123") == RobotTarget("wecombot", "AbC-123")
    assert parse_robot_url("dingtalk://SECret@ToKen/13800000000/") == RobotTarget(
        "dingtalk", "ToKen", "SECret", ("13800000000",)
    )
    assert parse_robot_url("json://127.0.0.1:9/x") is None and parse_robot_url("mailto://a@b.c") is None


def test_dingtalk_signature_reaches_dingtalk_encoded_once(robots: RobotService) -> None:
    """DingTalk decodes the query once and checks base64(HMAC-SHA256(secret, "timestamp\\nsecret")).
    apprise 1.x quoted the signature twice, so every signed message was refused (errcode 310000)."""
    secret = "SEC0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c"

    assert robots.sender().send(f"dingtalk://{secret}@0f1e2d3c4b5a/13800000000/", TITLE, BODY) == (True, None)

    [(_, query, payload)] = robots.requests
    digest = hmac.new(secret.encode(), f"{query['timestamp'][0]}\n{secret}".encode(), hashlib.sha256).digest()
    assert query["sign"] == [base64.b64encode(digest).decode()]
    assert query["access_token"] == ["0f1e2d3c4b5a"]
    assert payload["at"] == {"atMobiles": ["13800000000"], "isAtAll": False}


def test_feishu_with_secret_signs_the_body(robots: RobotService) -> None:
    secret = "fs-secret"

    assert robots.sender().send(f"feishu://{secret}@2d1f0e3a", TITLE, BODY) == (True, None)

    [(_, _, payload)] = robots.requests
    digest = hmac.new(f"{payload['timestamp']}\n{secret}".encode(), b"", hashlib.sha256).digest()
    assert payload["sign"] == base64.b64encode(digest).decode()


@pytest.mark.parametrize(
    ("url", "refusal", "code"),
    [
        pytest.param("wecombot://a1b2c3-KEY", {"errcode": 93000, "errmsg": "invalid webhook url"}, "93000", id="wecom"),
        pytest.param("dingtalk://0f1e2d3c4b5a/", {"errcode": 310000, "errmsg": "sign not match"}, "310000", id="ding"),
        pytest.param("feishu://2d1f0e3a-7b6c", {"code": 19021, "msg": "sign match fail"}, "19021", id="feishu"),
    ],
)
def test_refusal_in_a_200_answer_is_not_reported_as_sent(
    robots: RobotService, url: str, refusal: dict[str, Any], code: str
) -> None:
    robots.answer = refusal

    ok, error = robots.sender().send(url, TITLE, BODY)

    assert ok is False and error is not None and code in error and "拒绝" in error


def test_a_robot_that_is_not_listening_gives_an_error(closed_port: int) -> None:
    sender = AppriseSender(RobotSender(bases={"wecombot": f"http://127.0.0.1:{closed_port}"}))

    ok, error = sender.send("wecombot://KEY", TITLE, BODY)

    assert ok is False and error and "企业微信" in error
