"""The demo's people in the web app, as a browser would be: each signs in with a password, reads the CSRF
token from the page it is on, and posts the form or the decision that page offers. The demo drives the
pages a person uses, not the domain behind them."""

from __future__ import annotations

import re
from typing import Any

import httpx

from swflow.config.errors import SwflowError

__all__ = ["WebVisitor", "DEMO_PASSWORD"]

DEMO_PASSWORD = "演示密码-swflow-2026"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_REFUSAL = re.compile(r'class="refusal"[^>]*>(.*?)</', re.S)


class WebVisitor:
    def __init__(self, base: str, person_id: str, password: str = DEMO_PASSWORD) -> None:
        self.person_id = person_id
        self.client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
        signed = self.client.post("/login", data={"person_id": person_id, "password": password, "next": "/"})
        if signed.status_code != 303:
            raise SwflowError(f"演示：{person_id} 登录失败（HTTP {signed.status_code}）")

    def _csrf(self, path: str) -> str:
        page = self.client.get(path)
        if page.status_code != 200 or not (found := _CSRF.search(page.text)):
            raise SwflowError(f"演示：{self.person_id} 打不开 {path}（HTTP {page.status_code}）")
        return found.group(1)

    def _post(self, path: str, page: str, data: dict[str, Any]) -> None:
        answer = self.client.post(path, data={**data, "csrf": self._csrf(page)})
        if answer.status_code != 303:
            said = _REFUSAL.search(answer.text)
            text = re.sub(r"<[^>]+>", "", said.group(1)).strip() if said else answer.text[:200]
            raise SwflowError(f"演示：{path} 被拒绝（HTTP {answer.status_code}）：{text}")

    def submit(self, item_id: int, inputs: dict[str, list[str]]) -> None:
        """Fill the work item's form page with these inputs and submit it."""
        self._post(f"/work/{item_id}", f"/work/{item_id}", inputs)

    def decide(self, project_id: str, stage_key: str, outcome: str, comment: str) -> None:
        """On the gate page: 通过 / 退回修改 with a comment."""
        page = f"/gates/{project_id}/{stage_key}"
        self._post(f"{page}/decide", page, {"outcome": outcome, "comment": comment})

    def close(self) -> None:
        self.client.close()
