"""Group-robot webhooks of WeCom (企业微信), DingTalk (钉钉) and Feishu/Lark (飞书), sent by swflow itself.

The same apprise URLs as before (`wecombot://KEY`, `dingtalk://[SECRET@]TOKEN/[PHONE/…]`,
`feishu://[SECRET@]TOKEN`, `lark://[SECRET@]TOKEN`), but two things apprise 1.x gets wrong are right:
- these services answer a refusal with HTTP 200 and an error code in the body (`errcode`, `code`);
  apprise reported it as sent and the outbox lost the message. Here a non-zero code is a failure,
  retried by the outbox and listed by `swflow notifications list --failed`;
- apprise URL-quoted the DingTalk signature and then let `requests` quote it again, so DingTalk
  refused every signed message. Here it is encoded once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

__all__ = ["RobotSender", "RobotTarget", "parse_robot_url", "ROBOT_SCHEMES", "PUBLIC_BASES"]

PUBLIC_BASES = {
    "wecombot": "https://qyapi.weixin.qq.com",
    "dingtalk": "https://oapi.dingtalk.com",
    "feishu": "https://open.feishu.cn",
    "lark": "https://open.larksuite.com",
}
ROBOT_SCHEMES = frozenset(PUBLIC_BASES)
SERVICE_TITLES = {"wecombot": "企业微信", "dingtalk": "钉钉", "feishu": "飞书", "lark": "Lark"}


@dataclass(frozen=True)
class RobotTarget:
    scheme: str
    token: str  # WeCom's key, DingTalk's access token, Feishu's hook id
    secret: str | None = None  # DingTalk / Feishu signature secret
    mobiles: tuple[str, ...] = field(default=())  # DingTalk: people to @mention


def parse_robot_url(url: str) -> RobotTarget | None:
    """The robot a URL names, or None when it is not a robot URL (apprise handles those)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ROBOT_SCHEMES:
        return None
    query = dict(q.split("=", 1) for q in parts.query.split("&") if "=" in q)
    userinfo, _, host = parts.netloc.rpartition("@")  # not .hostname: it lower-cases, tokens are not
    token = unquote(query.get("key") or query.get("token") or host)
    secret = unquote(query.get("secret") or userinfo) or None
    mobiles = tuple(p for p in parts.path.split("/") if p) + tuple(m for m in query.get("to", "").split(",") if m)
    if not token:
        raise ValueError(f"{SERVICE_TITLES[scheme]}地址缺少令牌：{scheme}://令牌")
    return RobotTarget(scheme, token, secret, mobiles if scheme == "dingtalk" else ())


def _sign(secret: str, timestamp: str) -> str:
    """DingTalk: base64(HMAC-SHA256 keyed with the secret over "timestamp\\nsecret")."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _feishu_sign(secret: str, timestamp: str) -> str:
    """Feishu/Lark: base64(HMAC-SHA256 keyed with "timestamp\\nsecret" over nothing)."""
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class RobotSender:
    """Posts one text message to one robot; returns (ok, error). `bases` replaces the public
    endpoints (tests point them at 127.0.0.1; a private deployment at its own host)."""

    def __init__(self, bases: Mapping[str, str] | None = None, timeout: float = 10.0) -> None:
        self.bases = {**PUBLIC_BASES, **(bases or {})}
        self.timeout = timeout

    def request(self, target: RobotTarget, text: str, now: float | None = None) -> tuple[str, dict[str, str], Any]:
        """The endpoint, its query parameters and the JSON body for `text`."""
        base, moment = self.bases[target.scheme].rstrip("/"), time.time() if now is None else now
        if target.scheme == "wecombot":
            return f"{base}/cgi-bin/webhook/send", {"key": target.token}, {"msgtype": "text", "text": {"content": text}}
        if target.scheme == "dingtalk":
            params = {"access_token": target.token}
            if target.secret:
                stamp = str(int(moment * 1000))
                params |= {"timestamp": stamp, "sign": _sign(target.secret, stamp)}  # httpx encodes once
            body: dict[str, Any] = {"msgtype": "text", "text": {"content": text}}
            if target.mobiles:
                body["at"] = {"atMobiles": list(target.mobiles), "isAtAll": False}
            return f"{base}/robot/send", params, body
        body = {"msg_type": "text", "content": {"text": text}}
        if target.secret:
            stamp = str(int(moment))
            body |= {"timestamp": stamp, "sign": _feishu_sign(target.secret, stamp)}
        return f"{base}/open-apis/bot/v2/hook/{target.token}", {}, body

    def send(self, target: RobotTarget, title: str, body: str) -> tuple[bool, str | None]:
        service = SERVICE_TITLES[target.scheme]
        endpoint, params, payload = self.request(target, f"{title}\n{body}" if title else body)
        try:
            response = httpx.post(endpoint, params=params, json=payload, timeout=self.timeout)
        except httpx.HTTPError as exc:
            return False, f"{service}发送出错：{type(exc).__name__} {exc}"
        if response.status_code != 200:
            return False, f"{service}答复 HTTP {response.status_code}：{response.text[:200]}"
        try:
            answer = response.json()
        except ValueError:
            return False, f"{service}的答复无法识别：{response.text[:200]}"
        code = answer.get("errcode", answer.get("code", answer.get("StatusCode"))) if isinstance(answer, dict) else None
        if code != 0:
            message = answer.get("errmsg") or answer.get("msg") or answer.get("StatusMessage") or answer
            return False, f"{service}拒绝了消息：错误码 {code}，{message}"
        return True, None
