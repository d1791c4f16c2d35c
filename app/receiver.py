"""A tiny HTTP receiver on 127.0.0.1 that keeps what it is sent (demo and tests)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Receiver"]


class Receiver:
    """Accepts apprise `json://` posts; `messages` holds (path, parsed body) pairs."""

    def __init__(self, fail_paths: set[str] | None = None) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.fail_paths = fail_paths if fail_paths is not None else set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path in receiver.fail_paths:
                    self.send_response(503)
                    self.end_headers()
                    return
                try:
                    parsed = json.loads(body or b"{}")
                except ValueError:
                    parsed = {"raw": body.decode("utf-8", "replace")}
                receiver.messages.append((self.path, parsed))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def for_path(self, path: str) -> list[dict[str, Any]]:
        return [body for p, body in self.messages if p == path]
