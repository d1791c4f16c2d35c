"""A SWFLOW_HOME driven from outside, as a user does: its own port, each `swflow` command a new
process, its own `swflow serve`. The test suite and the benchmarks both drive swflow through it."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

SAMPLES = Path(__file__).resolve().parent / "samples"

__all__ = ["Home", "free_port", "wait_for", "people_file", "form_data", "new_home"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], timeout: float = 90, every: float = 0.25) -> Any:
    """Poll `check` until it returns something truthy (tests never sleep for time to pass)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


class Home:
    """One SWFLOW_HOME with its own port; `cli()` runs `swflow` in a new process."""

    def __init__(self, path: Path, prefect_db: Path | None = None) -> None:
        self.path = path
        self.port = free_port()
        self.web_port = free_port()
        self.prefect_db = prefect_db
        self.serve_proc: subprocess.Popen[bytes] | None = None
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SWFLOW_", "PREFECT_"))},
            "SWFLOW_HOME": str(path),
            "SWFLOW_PREFECT_PORT": str(self.port),
            "SWFLOW_WEB_PORT": str(self.web_port),
            "SWFLOW_RUNNER_POLL_SECONDS": "1",
            "SWFLOW_DISPATCH_INTERVAL_SECONDS": "0.5",
            # tests run at any hour: deliver at once (holding is tested in tests/unit/test_deadlines.py)
            "SWFLOW_HOLD_OUTSIDE_WORKING_HOURS": "false",
            # the reconciler checks every run each second; bounds stay well above a loaded machine's
            # process start, so a slow run is never taken for a dead one
            "SWFLOW_RECONCILE_INTERVAL_SECONDS": "1",
            "SWFLOW_HEARTBEAT_SECONDS": "2",
            "SWFLOW_DEAD_AFTER_SECONDS": "40",
            "SWFLOW_PENDING_BOUND_SECONDS": "60",
            "SWFLOW_STOP_GRACE_SECONDS": "20",
        }

    @property
    def web(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def headers(self) -> dict[str, str]:
        """swflow's own credentials for the embedded API (from swflow.env, as its processes read them)."""
        env = self.path / "swflow.env"
        for line in env.read_text(encoding="utf-8").splitlines() if env.exists() else []:
            if line.startswith("SWFLOW_PREFECT_AUTH="):
                token = base64.b64encode(line.split("=", 1)[1].strip().encode()).decode()
                return {"Authorization": f"Basic {token}"}
        return {}

    def api_get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(f"{self.api}{path}", headers=self.headers, timeout=5, **kwargs)

    def api_post(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.post(f"{self.api}{path}", headers=self.headers, timeout=10, **kwargs)

    def cli(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "swflow.app.cli", *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"swflow {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
            )
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.cli(*args, "--json").stdout)

    def start_serve(self) -> None:
        target = self.path / "prefect" / "prefect.db"
        if self.prefect_db is not None and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(self.prefect_db, target)  # pre-migrated: the server starts faster
        log = open(self.path / "serve.out", "ab")  # noqa: SIM115 - closed with the process
        self.serve_proc = subprocess.Popen(
            [sys.executable, "-m", "swflow.app.cli", "serve"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for("the served deployment", self._deployment_ready, timeout=120)

    def _deployment_ready(self) -> bool:
        if self.serve_proc is not None and self.serve_proc.poll() is not None:
            out = (self.path / "serve.out").read_text(errors="replace")
            raise AssertionError(f"swflow serve exited early:\n{out}")
        try:
            r = httpx.get(f"{self.api}/deployments/name/service-project/swflow", timeout=1, headers=self.headers)
        except httpx.HTTPError:
            return False
        return r.status_code == 200

    def stop_serve(self, sig: int = signal.SIGTERM) -> None:
        if self.serve_proc is not None and self.serve_proc.poll() is None:
            self.serve_proc.send_signal(sig)
            self.serve_proc.wait(timeout=60)
        self.serve_proc = None

    def run_state(self, flow_run_id: str) -> str:
        r = self.api_get(f"/flow_runs/{flow_run_id}")
        r.raise_for_status()
        return str(r.json()["state"]["name"])

    def stage(self, project: str, key: str) -> dict[str, Any]:
        stages = self.json("status", project)["stages"]
        return next(s for s in stages if s["key"] == key)

    def events(self, project: str) -> list[dict[str, Any]]:
        return list(self.json("archive", "events", project))


def people_file(directory: Path, receiver_url: str) -> Path:
    """The sample people, their notification addresses pointed at a receiver of one's own."""
    text = (SAMPLES / "people.yaml").read_text(encoding="utf-8").replace("{receiver}", receiver_url)
    path = directory / "people.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def form_data(directory: Path, key: str) -> Path:
    """A sample submission from app/samples/forms/ written to a file of one's own."""
    from swflow.app.samples import form_samples

    data = form_samples()[key]
    path = directory / f"{key}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def new_home(path: Path, receiver_url: str, prefect_db: Path | None = None) -> Home:
    """An initialised home with the sample people (their messages go to `receiver_url`)."""
    home = Home(path, prefect_db)
    home.cli("init")
    home.cli("people", "import", str(people_file(path, receiver_url)))
    return home
