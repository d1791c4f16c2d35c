"""`swflow serve`: the embedded default — a local Prefect server, the runner, the outbox
dispatcher and the gate reconciler, started together and stopped together."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import IO

from swflow.config.errors import ServerNotRunningError, SwflowError
from swflow.config.settings import Settings, ensure_api_secret, get_settings, prefect_env

__all__ = ["Supervisor", "serve_forever", "state_file", "loose_modes"]

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Children get SIGTERM if `swflow serve` dies, even by kill -9 (Linux)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def state_file(settings: Settings) -> Path:
    return settings.home / "serve.json"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def loose_modes(settings: Settings) -> list[str]:
    """What others on this machine could read: the home, logs and Prefect's folder should be 0700, the
    archive (with its WAL), the settings with their secrets 0600."""
    wanted = [(settings.home, 0o700), (settings.home / "logs", 0o700), (settings.prefect_home, 0o700)]
    wanted += [
        (settings.home / name, 0o600) for name in ("archive.db", "archive.db-wal", "archive.db-shm", "swflow.env")
    ]
    found = []
    for path, mode in wanted:
        try:
            actual = path.stat().st_mode & 0o777
        except OSError:
            continue
        if actual & ~mode:
            found.append(
                f"{path} 的权限是 {actual:04o}，本机其他用户可以读取；请改为 {mode:04o}（chmod {mode:o} {path}）"
            )
    return found


def _port_taken(host: str, port: int) -> bool:
    import socket

    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1" if host in ("0.0.0.0", "::") else host, port)) == 0


class Supervisor:
    def __init__(self, settings: Settings | None = None) -> None:
        # the embedded API takes only swflow's processes: they all read the secret from swflow.env
        self.settings = ensure_api_secret(settings or get_settings())
        self.env = {**os.environ, **prefect_env(self.settings)}
        self.next_reconcile = 0.0
        self.next_checkpoint = 0.0  # one at start, then every checkpoint_interval_minutes
        self.logs = self.settings.home / "logs"
        self.server: subprocess.Popen[bytes] | None = None
        self.runner: subprocess.Popen[bytes] | None = None
        self.web: subprocess.Popen[bytes] | None = None
        self.stopping = False

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        self.logs.mkdir(parents=True, exist_ok=True)
        log: IO[bytes] = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - owned by child
        return subprocess.Popen(
            argv,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )

    def _claim(self) -> None:
        path = state_file(self.settings)
        if path.exists():
            previous = json.loads(path.read_text())
            if _pid_alive(int(previous.get("pid", 0))):
                raise SwflowError(f"swflow serve 已在运行（进程 {previous['pid']}）")
        self.settings.home.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"pid": os.getpid(), "api_url": self.settings.api_url}))

    def start(self) -> None:
        self._claim()
        for warning in loose_modes(self.settings):
            print(f"警告：{warning}", file=sys.stderr, flush=True)
        from swflow.flows.control import api_is_up

        if self.settings.prefect_api_url is None:
            if api_is_up():
                raise SwflowError(f"端口 {self.settings.prefect_port} 上已有服务；请换 SWFLOW_PREFECT_PORT")
            self.server = self._start_server()
        elif not api_is_up(timeout=5):
            raise ServerNotRunningError(f"外部 Prefect API {self.settings.api_url} 无响应")
        if _port_taken(self.settings.web_host, self.settings.web_port):
            raise SwflowError(f"网页端口 {self.settings.web_port} 上已有服务；请换 SWFLOW_WEB_PORT")
        self._start_runner()
        self._start_web()

    @property
    def embedded(self) -> bool:
        return self.settings.prefect_api_url is None

    def _start_runner(self) -> None:
        """The embedded serve's runner is the only one: runs it left Pending or Running are dead."""
        if self.embedded:
            from swflow.flows.recovery import abandon_orphaned_runs

            try:
                if abandoned := abandon_orphaned_runs():
                    print(f"上次中断的 {abandoned} 个流程运行已标记为崩溃，将从档案接续", file=sys.stderr, flush=True)
            except SwflowError as exc:  # the reconciler's bounds find them later
                print(f"检查上次中断的流程运行时出错：{exc}", file=sys.stderr, flush=True)
        self.runner = self._spawn("runner", [sys.executable, "-m", "swflow.flows.runner"])

    def _start_web(self) -> None:
        self.web = self._spawn("web", [sys.executable, "-m", "swflow.app.web"])

    def _start_server(self) -> subprocess.Popen[bytes]:
        from swflow.flows.control import api_is_up

        argv = [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.settings.prefect_port),
        ]
        server = self._spawn("prefect-server", argv)
        deadline = time.monotonic() + 120
        while not api_is_up(timeout=1):
            if server.poll() is not None:
                raise SwflowError(f"Prefect 服务启动失败，见 {self.logs / 'prefect-server.log'}")
            if time.monotonic() > deadline:
                server.terminate()
                raise SwflowError("Prefect 服务 120 秒内未就绪")
            time.sleep(0.2)
        return server

    def tick(self) -> None:
        """One round of the background duties; a failing duty is reported, never fatal."""
        from swflow.app.serve.reconcile import archive_finished_runs, recover_stranded, resume_decided_gates
        from swflow.notifications import dispatch_once

        dispatch_once()
        resume_decided_gates()
        if time.monotonic() >= self.next_reconcile:
            self.next_reconcile = time.monotonic() + self.settings.reconcile_interval_seconds
            recover_stranded()
        archive_finished_runs()
        if time.monotonic() >= self.next_checkpoint:
            from swflow.archive.checkpoints import send_checkpoint_digest, write_checkpoint
            from swflow.config.clock import system_clock

            self.next_checkpoint = time.monotonic() + 60 * self.settings.checkpoint_interval_minutes
            try:
                write_checkpoint(system_clock(), "schedule")
                send_checkpoint_digest(system_clock())  # once a day: the directors keep a copy
            except SwflowError as exc:  # the next duties still run; the next tick tries again
                self.next_checkpoint = time.monotonic() + 60
                print(f"检查点没有写入：{exc}", file=sys.stderr, flush=True)
        if self.web is not None and self.web.poll() is not None and not self.stopping:
            print("网页服务退出，正在重启", file=sys.stderr)
            self._start_web()
        if self.runner is not None and self.runner.poll() is not None and not self.stopping:
            print("runner 退出，正在重启", file=sys.stderr)
            self._start_runner()
        if self.server is not None and self.server.poll() is not None and not self.stopping:
            print("Prefect 服务退出，正在重启", file=sys.stderr)
            self.server = self._start_server()

    def _wait_for_runs_in_flight(self) -> None:
        """A graceful stop lets runs that are executing reach their gate (seconds, usually); what
        is still executing after the grace is cancelled by the runner and recovered at the next start."""
        from swflow.flows.control import count_runs

        deadline = time.monotonic() + self.settings.stop_grace_seconds
        while time.monotonic() < deadline:
            try:
                if count_runs(["PENDING", "RUNNING"]) == 0:
                    return
            except SwflowError:
                return  # no server to ask: nothing can be executing
            time.sleep(0.5)

    def stop(self) -> None:
        self.stopping = True
        if self.runner is not None and self.runner.poll() is None:
            self._wait_for_runs_in_flight()
        for child in (self.web, self.runner, self.server):
            if child is not None and child.poll() is None:
                child.terminate()
        for child in (self.web, self.runner, self.server):
            if child is not None:
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
        state_file(self.settings).unlink(missing_ok=True)


def serve_forever(settings: Settings | None = None) -> None:
    supervisor = Supervisor(settings)

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        supervisor.stopping = True

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        supervisor.start()
        print(
            f"swflow serve 已启动：网页 {supervisor.settings.web_url}，编排服务 {supervisor.settings.api_url}"
            "（Ctrl-C 停止）",
            flush=True,
        )
        while not supervisor.stopping:
            try:
                supervisor.tick()
            except SwflowError as exc:
                print(f"后台任务出错：{exc}", file=sys.stderr, flush=True)
            deadline = time.monotonic() + supervisor.settings.dispatch_interval_seconds
            while not supervisor.stopping and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        supervisor.stop()
        print("swflow serve 已停止", flush=True)
