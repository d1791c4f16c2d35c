"""Flow runs start as forks of a warm server (issue 19): the runner's flow-run processes come from
a fork server that has Prefect's engine and swflow's flows imported, not from a cold interpreter —
and the setting that keeps Prefect's spawn is honoured."""

from __future__ import annotations

import multiprocessing
import os
import sys
from typing import Any

import pytest

from swflow.flows import forked


def _report(queue: Any) -> None:
    queue.put((os.getppid(), "prefect.flow_engine" in sys.modules, "swflow.flows.service_project" in sys.modules))


@pytest.fixture
def engine_multiprocessing(monkeypatch: pytest.MonkeyPatch) -> Any:
    import prefect.flow_engine as engine

    monkeypatch.setattr(engine, "multiprocessing", engine.multiprocessing)  # put back afterwards
    return engine


def test_prefects_engine_still_asks_multiprocessing_for_its_start_method() -> None:
    """The fork server reaches Prefect only through `prefect.flow_engine.multiprocessing.get_context`: an
    upgrade that starts flow runs another way would silently bring back the cold start."""
    import inspect

    import prefect.flow_engine as engine

    assert 'multiprocessing.get_context("spawn")' in inspect.getsource(engine.run_flow_in_subprocess)


def test_the_engine_asking_for_spawn_gets_a_fork_of_the_preloaded_server(engine_multiprocessing: Any) -> None:
    assert forked.fork_flow_runs()
    context = engine_multiprocessing.multiprocessing.get_context("spawn")  # what run_flow_in_subprocess asks
    assert context.get_start_method() == "forkserver"
    queue = context.Queue()
    child = context.Process(target=_report, args=(queue,))
    child.start()
    parent, engine_loaded, flow_loaded = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert parent != os.getpid()  # forked by the server, not by this process
    assert engine_loaded and flow_loaded  # imported before the run's own code began


def test_spawn_is_kept_when_the_setting_says_so(engine_multiprocessing: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from swflow.config.settings import Settings

    monkeypatch.setenv("SWFLOW_FLOW_START", "spawn")
    assert not forked.fork_flow_runs(Settings().flow_start)
    assert engine_multiprocessing.multiprocessing is multiprocessing
