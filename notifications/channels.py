"""The apprise adapter: the only place swflow talks to a notification service."""

from __future__ import annotations

from typing import Protocol

__all__ = ["Sender", "AppriseSender"]


class Sender(Protocol):
    def send(self, url: str, title: str, body: str) -> tuple[bool, str | None]: ...


class AppriseSender:
    """Sends one message to one apprise URL; returns (ok, error)."""

    def send(self, url: str, title: str, body: str) -> tuple[bool, str | None]:
        import apprise

        client = apprise.Apprise()
        if not client.add(url):
            return False, "通知地址无效（apprise 无法识别）"
        try:
            ok = client.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT)
        except OSError as exc:
            return False, f"发送出错：{exc}"
        return (True, None) if ok else (False, "通道未接受消息（可能暂时不可用）")
