"""The role commands of a cluster (issue 18) refuse bad input with a sentence, before anything starts;
a duty's loop survives a failing pass and stops on SIGTERM; the settings reach Prefect."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from swflow.app.cli.main import main
from swflow.app.serve.duties import run_duty
from swflow.config.errors import SwflowError
from swflow.config.settings import Settings, get_settings, prefect_env
from swflow.flows.pool import worker_argv, worker_env


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in [n for n in os.environ if n.startswith(("SWFLOW_", "PREFECT_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SWFLOW_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    yield tmp_path / "home"
    get_settings.cache_clear()


def _exit_code(argv: list[str]) -> int | str | None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    return caught.value.code


def test_checkpoints_without_watch_is_bad_input(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reconcile", "--checkpoints"]) == 2
    err = capsys.readouterr().err
    assert "--checkpoints" in err and "--watch" in err and "Traceback" not in err


@pytest.mark.parametrize("limit", ["0", "-3", "四"])
def test_a_worker_limit_must_be_a_positive_number(home: Path, limit: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_code(["worker", "--pool", "swflow", "--limit", limit]) == 2
    assert "--limit" in capsys.readouterr().err


def test_deploy_and_worker_need_a_pool(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_code(["deploy"]) == 2
    assert "--pool" in capsys.readouterr().err


def test_deploy_to_an_api_that_does_not_answer_says_which(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init"]) == 0
    monkeypatch.setenv("SWFLOW_PREFECT_API_URL", "http://127.0.0.1:9/api")  # nothing listens on port 9
    get_settings.cache_clear()
    code = main(["deploy", "--pool", "swflow"])
    err = capsys.readouterr().err
    assert code != 0 and "http://127.0.0.1:9/api" in err and "Traceback" not in err


def test_the_worker_runs_swflow_s_worker_with_the_settings_in_its_environment(home: Path) -> None:
    settings = Settings(prefect_api_url="http://prefect:4200/api", runner_poll_seconds=3)
    argv = worker_argv("swflow", 4, "w1")
    assert argv[1:] == ["-m", "swflow.flows.worker", "--pool", "swflow", "--name", "w1", "--limit", "4"]
    env = worker_env(settings)
    assert env["PREFECT_API_URL"] == "http://prefect:4200/api" and env["PREFECT_WORKER_QUERY_SECONDS"] == "3"


def test_result_storage_reaches_prefect_only_when_set(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    assert prefect_env(Settings(result_storage=shared))["PREFECT_RESULTS_LOCAL_STORAGE_PATH"] == str(shared)
    assert "PREFECT_RESULTS_LOCAL_STORAGE_PATH" not in prefect_env(Settings())


def test_a_duty_reports_a_failing_pass_goes_on_and_stops_on_sigterm(capsys: pytest.CaptureFixture[str]) -> None:
    passes: list[int] = []
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)

    def once() -> None:
        passes.append(len(passes))
        if len(passes) == 1:
            raise SwflowError("档案库暂时不可用")
        if len(passes) == 3:
            signal.raise_signal(signal.SIGTERM)

    try:
        assert run_duty("测试", once, every=0.01) == 0
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
    assert passes == [0, 1, 2]  # the failure did not end it; the signal did, after the pass under way
    out = capsys.readouterr()
    assert "档案库暂时不可用" in out.err and "测试 已停止" in out.out


def test_a_worker_without_the_web_secret_is_refused_before_it_starts(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init"]) == 0
    env_file = home / "swflow.env"
    if env_file.exists():
        env_file.write_text("", encoding="utf-8")  # no secret of any kind on this machine
    get_settings.cache_clear()
    assert main(["worker", "--pool", "swflow"]) == 3
    err = capsys.readouterr().err
    assert "SWFLOW_WEB_SECRET" in err and "Traceback" not in err


def test_an_api_that_refuses_the_secret_is_named_with_the_setting_to_fix(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real HTTP server on 127.0.0.1 answering as a Prefect API with another secret does (401);
    /health answers 200 there too, as Prefect's does without the secret."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Refusing(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self.send_response(200)
            self.end_headers()

        def do_POST(self) -> None:  # noqa: N802
            self.send_response(401)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert main(["init"]) == 0
        monkeypatch.setenv("SWFLOW_PREFECT_API_URL", f"http://127.0.0.1:{server.server_address[1]}/api")
        monkeypatch.setenv("SWFLOW_PREFECT_AUTH", "swflow:wrong")
        get_settings.cache_clear()
        for argv in (["deploy", "--pool", "swflow"], ["worker", "--pool", "swflow"]):
            assert main(argv) != 0
            err = capsys.readouterr().err
            assert "SWFLOW_PREFECT_AUTH" in err and "HTTP 401" in err and "Traceback" not in err, argv
    finally:
        server.shutdown()
        server.server_close()
