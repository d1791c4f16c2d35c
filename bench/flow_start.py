"""Flow-run process start: a cold interpreter (Prefect's spawn, `python -m prefect.engine`) against a fork
of swflow's preloaded server (`swflow.flows.forked`), up to the flow's first line. CPU and wall time,
median of N; and, for the cold start, the import time per module group (`python -X importtime`).

Run by hand:  .venv/bin/python bench/flow_start.py [N]
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import time
from typing import Any

COLD = "import swflow.flows.service_project, swflow.tasks, swflow.archive.history, swflow.domain.projects.gates"


def _cold(n: int) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    for _ in range(n):
        before = os.times()
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", COLD], check=True)
        walls.append(time.perf_counter() - start)
        after = os.times()
        cpus.append(after.children_user + after.children_system - before.children_user - before.children_system)
    return walls, cpus


def _child(queue: Any, started: float) -> None:
    times = os.times()
    queue.put((time.perf_counter() - started, times.user + times.system))


def _forked(n: int) -> tuple[list[float], list[float]]:
    from swflow.flows.forked import PRELOAD

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    queue = context.Queue()
    warm = context.Process(target=_child, args=(queue, time.perf_counter()))  # starts the server once
    warm.start()
    queue.get()
    warm.join()
    walls, cpus = [], []
    for _ in range(n):
        child = context.Process(target=_child, args=(queue, time.perf_counter()))
        child.start()
        wall, cpu = queue.get()
        child.join()
        walls.append(wall)
        cpus.append(cpu)  # the child's own CPU up to its first line (a fork starts near zero)
    return walls, cpus


def _import_groups() -> list[tuple[str, float]]:
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", COLD], capture_output=True, text=True, check=True)
    groups: collections.Counter[str] = collections.Counter()
    for line in done.stderr.splitlines():
        found = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if found:
            parts = found[2].split(".")
            group = ".".join(parts[:2]) if parts[0] == "swflow" else parts[0]
            groups[group] += int(found[1]) / 1e6
    return groups.most_common(12)


def main(n: int) -> None:
    cold_wall, cold_cpu = _cold(n)
    fork_wall, fork_cpu = _forked(n)
    print(f"cold start (spawn, imports): wall median {statistics.median(cold_wall):.3f} s, "
          f"CPU median {statistics.median(cold_cpu):.3f} s")  # fmt: skip
    cpu = statistics.median(fork_cpu)
    cpu_words = f"{cpu * 1000:.0f} ms" if cpu else "under one clock tick (10 ms)"
    print(f"forked from the preloaded server: wall median {statistics.median(fork_wall) * 1000:.1f} ms, "
          f"CPU to first line median {cpu_words}")  # fmt: skip
    print("cold import time by group (self, s):", ", ".join(f"{g} {t:.3f}" for g, t in _import_groups()))
    print(f"reproduce: .venv/bin/python bench/flow_start.py {n}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
