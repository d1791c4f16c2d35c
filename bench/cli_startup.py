"""CLI start-up: `swflow --help` and `swflow status` on an initialised home, median of 10.

Run by hand:  .venv/bin/python bench/cli_startup.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    env = {**os.environ, "SWFLOW_HOME": tempfile.mkdtemp(prefix="swflow-bench-cli-")}
    cli = [sys.executable, "-m", "swflow.app.cli"]
    subprocess.run([*cli, "init"], env=env, check=True, capture_output=True)
    for label, argv in (
        ("swflow --help", [*cli, "--help"]),
        ("swflow status", [*cli, "status"]),
        ("swflow templates list", [*cli, "templates", "list"]),
    ):
        runs = [timed(argv, env) for _ in range(10)]
        print(f"{label:<24} median {statistics.median(runs):.3f} s  (min {min(runs):.3f}, max {max(runs):.3f})")
    print("reproduce: .venv/bin/python bench/cli_startup.py")


if __name__ == "__main__":
    main()
