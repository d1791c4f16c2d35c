"""The only place swflow talks to a notification service: apprise for e-mail, webhooks and the rest;
swflow's own sender for the WeCom, DingTalk and Feishu/Lark group robots (notifications/robots.py)."""

from __future__ import annotations

import os
import threading
from typing import Protocol

from swflow.notifications.robots import RobotSender, parse_robot_url

__all__ = ["Sender", "AppriseSender"]


def _forget_apprise_pools() -> None:
    """apprise 2.x sends through thread pools it makes once per process; a child forked after a send
    inherits the pool without its threads and would wait for ever. The child makes its own."""
    import sys

    module = sys.modules.get("apprise.apprise")
    for name in ("_shared_executor", "_coordinator_executor"):
        if module is not None and hasattr(module, name):
            setattr(module, name, None)
            setattr(module, f"{name}_lock", threading.Lock())


os.register_at_fork(after_in_child=_forget_apprise_pools)


class Sender(Protocol):
    def send(self, url: str, title: str, body: str) -> tuple[bool, str | None]: ...


class AppriseSender:
    """Sends one message to one apprise URL; returns (ok, error). `robots` is the sender for
    `wecombot://`, `dingtalk://`, `feishu://` and `lark://` URLs."""

    def __init__(self, robots: RobotSender | None = None) -> None:
        self.robots = robots or RobotSender()

    def send(self, url: str, title: str, body: str) -> tuple[bool, str | None]:
        try:
            robot = parse_robot_url(url)
        except ValueError as exc:
            return False, str(exc)
        if robot is not None:
            return self.robots.send(robot, title, body)
        import apprise

        client = apprise.Apprise()
        if not client.add(url):
            return False, "通知地址无效（apprise 无法识别）"
        try:
            ok = client.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT)
        except OSError as exc:
            return False, f"发送出错：{exc}"
        return (True, None) if ok else (False, "通道未接受消息（可能暂时不可用）")
