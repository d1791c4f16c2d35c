"""Peak memory of `swflow serve` (supervisor, Prefect server, runner, flow-run processes) with N
projects waiting at gates.

Run by hand:  .venv/bin/python bench/serve_memory.py [N]   (the issue asks for 1000; ≈40 min here)

Projects are launched as a busy office would, one after another, but never more than `--in-flight`
runs ahead of the runner (a burst of hundreds of launches in one second only measures how the
embedded SQLite server queues them). Two figures are read from /proc:
- each long-lived process's VmHWM (its own peak resident set), at the end;
- the whole serve tree's summed VmRSS, sampled every second, flow-run child processes included:
  the most memory the machine had to give swflow at any moment.
If serve dies on the way, the tails of its logs are printed (that is what the 2026-11 attempt lacked).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from _served import launch, served_home  # noqa: E402

from swflow.app.local import Home  # noqa: E402
from swflow.app.receiver import Receiver  # noqa: E402

ACTIVE = ["SCHEDULED", "PENDING", "RUNNING"]


def _tree(pid: int) -> list[int]:
    try:
        kids = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        kids = []
    return [pid] + [p for k in kids for p in _tree(k)]


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _name(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "?"
    if "swflow.flows.runner" in raw:
        return "runner"
    if "prefect server" in raw:
        return "prefect server"
    if "app.cli serve" in raw:
        return "swflow serve"
    return "flow run"


class TreeSampler(threading.Thread):
    """Largest summed VmRSS of the serve tree seen, and the most flow-run processes at once."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peak_kib = 0
        self.peak_flow_procs = 0
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.wait(1.0):
            pids = _tree(self.root)
            self.peak_kib = max(self.peak_kib, sum(_status_kib(p, "VmRSS") for p in pids))
            self.peak_flow_procs = max(self.peak_flow_procs, sum(_name(p) == "flow run" for p in pids))


def _count(api: str, types: list[str] | None = None, names: list[str] | None = None) -> int:
    state: dict[str, object] = {}
    if types:
        state["type"] = {"any_": types}
    if names:
        state["name"] = {"any_": names}
    response = httpx.post(f"{api}/flow_runs/count", json={"flow_runs": {"state": state}}, timeout=60)
    response.raise_for_status()
    return int(response.json())


def _alive(home: Home) -> None:
    if home.serve_proc is None or home.serve_proc.poll() is not None:
        for name in ("serve.out", "logs/runner.log", "logs/prefect-server.log"):
            path = home.path / name
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-40:]
                print(f"--- {path}\n" + "\n".join(tail), file=sys.stderr)
        raise SystemExit(f"swflow serve exited (code {home.serve_proc and home.serve_proc.returncode})")


def main(n: int, in_flight: int) -> None:
    from swflow.config.errors import SwflowError

    with Receiver() as receiver:
        home = served_home(receiver, "memory")
        assert home.serve_proc is not None
        sampler = TreeSampler(home.serve_proc.pid)
        sampler.start()
        refused = 0
        try:
            t0 = time.monotonic()
            launched = 0
            while launched < n:
                _alive(home)
                if _count(home.api, types=ACTIVE) >= in_flight:
                    time.sleep(0.5)
                    continue
                try:
                    launch(name=f"内存 {launched}")
                    launched += 1
                except SwflowError as exc:  # the server was too busy to answer: a user would retry
                    refused += 1
                    print(f"launch {launched} refused ({exc}); retrying", file=sys.stderr, flush=True)
                    time.sleep(5)
                if launched % 100 == 0:
                    print(f"  {launched} launched after {time.monotonic() - t0:.0f} s", flush=True)
            while _count(home.api, names=["Suspended"]) < n:
                _alive(home)
                if time.monotonic() - t0 > 3 * 3600:
                    raise SystemExit("not all projects reached their first gate in 3 h")
                time.sleep(2)
            waited = time.monotonic() - t0
            time.sleep(3)  # one more sample with everything suspended
            suspended = _count(home.api, names=["Suspended"])
            failed = _count(home.api, types=["FAILED", "CRASHED"])
            pids = [p for p in _tree(home.serve_proc.pid) if Path(f"/proc/{p}").exists()]
            rows = [(_name(p), _status_kib(p, "VmHWM"), _status_kib(p, "VmRSS")) for p in pids]
        finally:
            sampler.stop_event.set()
            home.stop_serve()
    print(
        f"{n} projects launched ({refused} launch attempts refused as busy), "
        f"{suspended} runs suspended at their first gate, {failed} failed/crashed, after {waited:.0f} s"
    )
    print(f"  {'process':<16} {'peak RSS':>10} {'RSS now':>10}")
    for name, hwm, rss in rows:
        print(f"  {name:<16} {hwm / 1024:6.1f} MiB {rss / 1024:6.1f} MiB")
    print(f"  {'sum':<16} {sum(r[1] for r in rows) / 1024:6.1f} MiB {sum(r[2] for r in rows) / 1024:6.1f} MiB")
    print(
        f"  whole tree incl. flow-run processes, sampled peak: {sampler.peak_kib / 1024:.1f} MiB "
        f"(at most {sampler.peak_flow_procs} flow-run processes at once)"
    )
    print(f"reproduce: .venv/bin/python bench/serve_memory.py {n} --in-flight {in_flight}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=1000)
    parser.add_argument("--in-flight", type=int, default=8, help="launch only while fewer runs are active")
    args = parser.parse_args()
    main(args.n, args.in_flight)
