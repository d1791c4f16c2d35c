"""What `flows/control.py` does when the Prefect API answers late: a create carrying an idempotency
key is repeated (the server returns the run it made) instead of reporting a failure while a run
exists. A real Prefect server cannot be made to answer late on cue, so a local HTTP server plays the
two endpoints involved; everything else about launching is tested against Prefect in tests/e2e."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from swflow.config.errors import ServerNotRunningError
from swflow.config.settings import get_settings
from swflow.flows import control


class SlowPrefect:
    """Answers the deployment lookup at once; the first `slow` creates only after `delay` seconds,
    as a Prefect server busy writing its SQLite does. Runs are keyed by idempotency key."""

    def __init__(self, slow: int, delay: float) -> None:
        self.slow, self.delay = slow, delay
        self.creates: list[str] = []
        self.runs: dict[str, str] = {}
        service = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self._answer({"id": "dep-1"})

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                key = body["idempotency_key"]
                service.creates.append(key)
                run = service.runs.setdefault(key, f"run-{len(service.runs) + 1}")  # made, even if late
                if len(service.creates) <= service.slow:
                    time.sleep(service.delay)
                try:
                    self._answer({"id": run})
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api"


@pytest.fixture
def prefect(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[SlowPrefect]:
    slow = request.param
    server = SlowPrefect(slow=slow, delay=0.6)
    monkeypatch.setenv("SWFLOW_PREFECT_API_URL", server.api)
    monkeypatch.setattr(control, "REQUEST_TIMEOUT", 0.2)
    monkeypatch.setattr(control, "_back_off", lambda _: None)  # no back-off waits in a unit test
    get_settings.cache_clear()
    yield server
    server.server.shutdown()
    server.server.server_close()
    get_settings.cache_clear()


@pytest.mark.parametrize("prefect", [2], indirect=True)
def test_a_late_create_is_repeated_and_gives_the_run_it_made(prefect: SlowPrefect) -> None:
    assert control.start_project_run("P-0A1B2C") == "run-1"
    assert prefect.creates == ["swflow-project-P-0A1B2C"] * 3  # one run, asked for three times
    assert len(prefect.runs) == 1


@pytest.mark.parametrize("prefect", [5], indirect=True)
def test_a_server_late_every_time_is_reported_after_three_tries(prefect: SlowPrefect) -> None:
    with pytest.raises(ServerNotRunningError, match="没有及时响应"):
        control.start_project_run("P-0A1B2C")
    assert len(prefect.creates) == 1 + control.TIMEOUT_RETRIES
