"""A cluster on one machine, started with exactly the role commands of the README's "Past one machine":
a Prefect API on PostgreSQL with its services apart (events through Redis), workers in one work pool,
dispatchers, reconcilers and the web app, each role its own process group (a machine: `kill_machine`
is what a power cut does to it), the archive on PostgreSQL. The cluster tier and bench/cluster.py use it.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from swflow.app.local import free_port, people_file, wait_for

__all__ = ["ROLE_COMMANDS", "LocalCluster", "prefect_server_env", "swflow_machine_env", "backing_services_problem"]

POOL = "swflow"
# the commands of each role, as the README gives them (tests/cluster checks that it still does)
ROLE_COMMANDS = {
    "migrate": "prefect server database upgrade -y",
    "api": "prefect server start --no-services",
    "services": "prefect server services start",
    "init": "swflow init",
    "people": "swflow people import people.yaml",
    "deploy": f"swflow deploy --pool {POOL}",
    "worker": f"swflow worker --pool {POOL} --limit 4",
    "dispatcher": "swflow dispatch",
    "reconciler": "swflow reconcile --watch",
    "checkpointer": "swflow reconcile --watch --checkpoints",
    "web": "swflow web",
}

# the machine that keeps the checkpoint key and log (its reconciler signs them); the operator's terminal
OPERATOR = "reconciler-1"
PG_ADMIN_URL = os.environ.get("SWFLOW_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def backing_services_problem() -> str | None:
    """Why a cluster cannot start here (no PostgreSQL or no Redis), or None."""
    try:
        import psycopg

        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
    except Exception as exc:  # any failure to connect means: no PostgreSQL here
        return f"PostgreSQL 不可用（{PG_ADMIN_URL}）：{type(exc).__name__}"
    try:
        import redis

        redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=3).ping()
    except Exception as exc:  # the same for Redis (or prefect-redis's client missing)
        return f"Redis 不可用（{REDIS_HOST}:{REDIS_PORT}）：{type(exc).__name__}"
    return None


def prefect_server_env(database_url: str, port: int, auth: str, redis_db: int, home: Path) -> dict[str, str]:
    """The settings of the Prefect API and services machines (README, "Past one machine")."""
    return {
        "PREFECT_HOME": str(home),
        "PREFECT_API_DATABASE_CONNECTION_URL": database_url,
        "PREFECT_API_DATABASE_MIGRATE_ON_START": "false",
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_SERVER_API_AUTH_STRING": auth,
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_API_AUTH_STRING": auth,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_MESSAGING_BROKER": "prefect_redis.messaging",
        "PREFECT_MESSAGING_CACHE": "prefect_redis.messaging",
        "PREFECT_REDIS_MESSAGING_HOST": REDIS_HOST,
        "PREFECT_REDIS_MESSAGING_PORT": str(REDIS_PORT),
        "PREFECT_REDIS_MESSAGING_DB": str(redis_db),
        "PREFECT_SERVER_EVENTS_CAUSAL_ORDERING": "prefect_redis.ordering",
        "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect_redis.lease_storage",
        "PREFECT_SERVER_DOCKET_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db}",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }


def swflow_machine_env(
    home: Path, api_url: str, auth: str, archive_url: str, web_secret: str, results: Path, web_port: int
) -> dict[str, str]:
    """The settings every swflow machine shares (its home is its own)."""
    return {
        "SWFLOW_HOME": str(home),
        "SWFLOW_PREFECT_API_URL": api_url,
        "SWFLOW_PREFECT_AUTH": auth,
        "SWFLOW_DATABASE_URL": archive_url,
        "SWFLOW_WEB_SECRET": web_secret,
        "SWFLOW_RESULT_STORAGE": str(results),
        "SWFLOW_WEB_PORT": str(web_port),
        "SWFLOW_PUBLIC_URL": f"http://127.0.0.1:{web_port}",
    }


# a test's pace (settings, not commands): quick polls, a short lease, a dead run noticed in 20 s
TEST_PACE = {
    "SWFLOW_RUNNER_POLL_SECONDS": "1",
    "SWFLOW_DISPATCH_INTERVAL_SECONDS": "0.5",
    "SWFLOW_HOLD_OUTSIDE_WORKING_HOURS": "false",
    "SWFLOW_RECONCILE_INTERVAL_SECONDS": "2",
    "SWFLOW_HEARTBEAT_SECONDS": "2",
    "SWFLOW_DEAD_AFTER_SECONDS": "20",
    "SWFLOW_PENDING_BOUND_SECONDS": "90",
    "SWFLOW_OUTBOX_LEASE_SECONDS": "10",
    "SWFLOW_WEB_WORKERS": "1",
}


def _tree(pid: int) -> list[int]:
    """The process and every process under it (the children of each of its threads)."""
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return [pid] + [p for k in dict.fromkeys(kids) for p in _tree(k)]


class LocalCluster:
    """Every role on this machine; `machines` maps a name (worker-1, dispatcher-2…) to its process."""

    def __init__(
        self, root: Path, receiver_url: str, redis_db: int | None = None, pace: dict[str, str] | None = None
    ) -> None:
        self.root = root
        self.receiver_url = receiver_url
        self.redis_db = redis_db if redis_db is not None else 8 + secrets.randbelow(8)  # not another run's
        self.tag = f"swflow_cluster_{secrets.token_hex(4)}"
        self.prefect_port, self.web_port = free_port(), free_port()
        self.auth = f"swflow:{secrets.token_urlsafe(16)}"
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "")
        self.prefect_db_url = f"postgresql+asyncpg://{base}/{self.tag}_prefect"
        self.archive_url = f"postgresql+psycopg://{base}/{self.tag}_archive"
        self.web_secret = secrets.token_urlsafe(32)
        self.pace = TEST_PACE if pace is None else pace
        self.machines: dict[str, subprocess.Popen[bytes]] = {}
        self.history: dict[int, str] = {}  # every pid a role had → its machine (a restart is a new pid)
        self.logs = root / "logs"

    # --- what each role's machine is given ---------------------------------------------------------

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.prefect_port}/api"

    @property
    def web(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def _clean_env(self) -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if not k.startswith(("SWFLOW_", "PREFECT_"))}

    def server_env(self) -> dict[str, str]:
        home = self.root / "prefect-server"
        mine = prefect_server_env(self.prefect_db_url, self.prefect_port, self.auth, self.redis_db, home)
        return {**self._clean_env(), **mine}

    def machine_env(self, machine: str) -> dict[str, str]:
        home = self.root / machine
        mine = swflow_machine_env(
            home, self.api, self.auth, self.archive_url, self.web_secret, self.root / "results", self.web_port
        )
        return {**self._clean_env(), **mine, **self.pace}

    @property
    def headers(self) -> dict[str, str]:
        import base64

        return {"Authorization": f"Basic {base64.b64encode(self.auth.encode()).decode()}"}

    # --- starting and stopping roles ------------------------------------------------------------------

    @staticmethod
    def argv(role: str) -> list[str]:
        words = shlex.split(ROLE_COMMANDS[role])
        module = {"prefect": "prefect", "swflow": "swflow.app.cli"}[words[0]]
        return [sys.executable, "-m", module, *words[1:]]

    def run_once(self, role: str, machine: str = OPERATOR, cwd: Path | None = None) -> str:
        env = self.server_env() if role == "migrate" else self.machine_env(machine)
        done = subprocess.run(
            self.argv(role), env=env, cwd=cwd or self.root, capture_output=True, text=True, timeout=300
        )
        if done.returncode != 0:
            raise AssertionError(f"{ROLE_COMMANDS[role]} exited {done.returncode}\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def start(self, role: str, machine: str) -> subprocess.Popen[bytes]:
        """Start `role` as the machine `machine` (its own process group and log)."""
        self.logs.mkdir(parents=True, exist_ok=True)
        env = self.server_env() if role in ("api", "services") else self.machine_env(machine)
        log = open(self.logs / f"{machine}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            self.argv(role), env=env, cwd=self.root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.machines[machine], self.history[proc.pid] = proc, machine
        return proc

    def processes(self, machine: str) -> list[int]:
        """The machine's processes: its role and every process under it (Prefect starts each flow run
        in a process group of its own, so the group alone is not the machine)."""
        return _tree(self.machines[machine].pid)

    def freeze(self, machine: str) -> list[int]:
        """SIGSTOP every process of the machine, until no new one appears (a fork under way): what was
        running then is what a `kill_machine` after it kills."""
        stopped: set[int] = set()
        while new := [p for p in self.processes(machine) if p not in stopped]:
            for pid in new:
                try:
                    os.kill(pid, signal.SIGSTOP)
                except ProcessLookupError:
                    pass
                stopped.add(pid)
        return sorted(stopped)

    @staticmethod
    def thaw(pids: list[int]) -> None:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass

    def kill_machine(self, machine: str) -> None:
        """What a power cut does: kill -9 of the role and of every process under it, at once."""
        doomed = self.freeze(machine)
        proc = self.machines.pop(machine)
        for pid in doomed:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(timeout=30)

    def _api_up(self) -> bool:
        try:
            return httpx.get(f"{self.api}/health", headers=self.headers, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def _admin(self) -> Any:
        import psycopg

        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)

    def _flush_redis(self) -> None:
        import redis

        redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=self.redis_db).flushdb()

    def up(self, workers: int = 2, dispatchers: int = 2, reconcilers: int = 2, web: bool = True) -> None:
        """The whole cluster, role by role, in the README's order."""
        self.root.mkdir(parents=True, exist_ok=True)
        with self._admin() as admin:
            admin.execute(f'CREATE DATABASE "{self.tag}_prefect"')
            admin.execute(f'CREATE DATABASE "{self.tag}_archive"')
        self._flush_redis()
        self.run_once("migrate")  # once, before any API process starts
        self.start("api", "prefect-api")
        self.start("services", "prefect-services")
        wait_for("the Prefect API", self._api_up, timeout=120)
        self.run_once("init")
        people = people_file(self.root, self.receiver_url)
        # apprise's webhooks give up after 4 s without an answer; a held send must outlast the lease
        text = people.read_text(encoding="utf-8")
        people.write_text(re.sub(r'(json://[^"\s]+)"', r'\1?rto=60"', text), encoding="utf-8")
        self.run_once("people")
        self.run_once("deploy")
        for n in range(1, workers + 1):
            self.start("worker", f"worker-{n}")
        for n in range(1, dispatchers + 1):
            self.start("dispatcher", f"dispatcher-{n}")
        for n in range(1, reconcilers + 1):
            self.start("checkpointer" if n == 1 else "reconciler", f"reconciler-{n}")
        if web:
            self.start("web", "web-1")
            wait_for("the web app", self._web_up, timeout=60)

    def _web_up(self) -> bool:
        try:
            return httpx.get(f"{self.web}/login", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def down(self) -> None:
        for machine in list(self.machines):
            proc = self.machines[machine]
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for machine in list(self.machines):
            proc = self.machines.pop(machine)
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        with self._admin() as admin:
            for suffix in ("prefect", "archive"):
                admin.execute(f'DROP DATABASE IF EXISTS "{self.tag}_{suffix}" WITH (FORCE)')
        self._flush_redis()

    def cli(self, *args: str, machine: str = OPERATOR) -> subprocess.CompletedProcess[str]:
        """`swflow …` on one of the swflow machines (an operator's terminal there)."""
        done = subprocess.run(
            [sys.executable, "-m", "swflow.app.cli", *args],
            env=self.machine_env(machine),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise AssertionError(f"swflow {' '.join(args)} exited {done.returncode}\n{done.stdout}\n{done.stderr}")
        return done

    def log_tail(self, machine: str, lines: int = 30) -> str:
        path = self.logs / f"{machine}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""
