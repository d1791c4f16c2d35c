"""The message id rides on the apprise URL: apprise itself must read it as a header or a field."""

from __future__ import annotations

from typing import Any

import apprise
import pytest

from swflow.domain.outbox.records import message_id
from swflow.notifications.message_ids import FIELD, HEADER, id_line, with_message_id

MID = "swflow-12-0a1b2c3d"


def _parsed(url: str) -> Any:
    plugin = apprise.Apprise.instantiate(url)
    assert plugin is not None, url
    return plugin


def test_a_message_keeps_its_id_on_every_attempt_and_two_rows_differ() -> None:
    assert message_id(12, "gate:li.supervisor:abc") == message_id(12, "gate:li.supervisor:abc")
    assert message_id(12, "gate:li.supervisor:abc").startswith("swflow-12-")
    assert message_id(12, "gate:li.supervisor:abc") != message_id(13, "gate:li.supervisor:abc")
    assert len(message_id(10**9, "k")) <= 64


@pytest.mark.parametrize(
    "url",
    [
        "mailto://example.org:2525?smtp=127.0.0.1&mode=insecure&from=swflow@example.org&to=wang@example.org",
        "mailto://127.0.0.1:2525?mode=insecure&from=swflow@example.org&to=wang@example.org",
    ],
)
def test_an_email_url_gets_the_id_as_a_header_and_keeps_its_options(url: str) -> None:
    plugin = _parsed(with_message_id(url, MID))

    assert plugin.headers == {HEADER: MID}
    assert plugin.port == 2525 and plugin.from_addr[1] == "swflow@example.org"
    assert [addr for _, addr in plugin.targets] == ["wang@example.org"]


@pytest.mark.parametrize("scheme", ["json", "form"])
def test_a_webhook_url_gets_the_id_as_a_header_and_a_field(scheme: str) -> None:
    plugin = _parsed(with_message_id(f"{scheme}://127.0.0.1:8080/wang.worker?method=POST", MID))

    assert plugin.headers == {HEADER: MID} and plugin.payload_extras == {FIELD: MID}
    assert plugin.fullpath == "/wang.worker"


@pytest.mark.parametrize("url", ["wecombot://KEY", "dingtalk://SEC@TOKEN/13800000000/", "feishu://HOOK", "tgram://1/2"])
def test_robot_and_other_urls_are_left_as_they_are(url: str) -> None:
    assert with_message_id(url, MID) == url


def test_the_id_line_is_chinese() -> None:
    assert id_line(MID) == "消息编号：swflow-12-0a1b2c3d"
